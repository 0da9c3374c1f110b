#!/usr/bin/env bash
# The test command: every test on SQLite and PostgreSQL, including the headless-browser test.
# Installs what the tests need when it is missing (PostgreSQL server, Chromium + chromedriver,
# Japanese fonts) through apt when run as root or with passwordless sudo. The test harness itself
# starts a throwaway PostgreSQL cluster and chromedriver and stops them afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
have_pg() { command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; }
have_pg || need+=(postgresql)
[ -x /usr/bin/chromium ] || need+=(chromium)
[ -x /usr/bin/chromedriver ] || need+=(chromium-driver)
[ -f /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc ] || need+=(fonts-noto-cjk)
if [ ${#need[@]} -gt 0 ] && [ -z "${MAMORI_TEST_DATABASE_URL:-}${MAMORI_SKIP_INSTALL:-}" ]; then
  echo "scripts/test.sh: installing ${need[*]}" >&2
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO="sudo -n"; fi
  export DEBIAN_FRONTEND=noninteractive
  if ! { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null; }; then
    echo "scripts/test.sh: could not install ${need[*]}; install them by hand" >&2
    if [ "${CI:-}" = "true" ]; then exit 1; fi
  fi
fi

# The Python tools the OpenAPI validation test uses (openapi-spec-validator, in a virtualenv
# under target/, shared with scripts/api-fuzz.sh); quick when they are there already.
if ! scripts/api-fuzz.sh setup; then
  echo "scripts/test.sh: could not install the Python test tools (see scripts/api-fuzz.sh)" >&2
  if [ "${CI:-}" = "true" ]; then exit 1; fi
fi

# The SMTP server the mail tests send to (Python's aiosmtpd, in a virtualenv under target/);
# tests/app/support/smtp.rs starts it on a free loopback port.
sink_venv=target/smtp-sink-venv
AIOSMTPD_VERSION=1.4.6
if ! "$sink_venv/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('aiosmtpd') != '$AIOSMTPD_VERSION')" 2>/dev/null; then
  echo "scripts/test.sh: installing aiosmtpd $AIOSMTPD_VERSION into $sink_venv" >&2
  if ! { rm -rf "$sink_venv" && python3 -m venv "$sink_venv" &&
    "$sink_venv/bin/pip" install --quiet --disable-pip-version-check "aiosmtpd==$AIOSMTPD_VERSION"; }; then
    echo "scripts/test.sh: could not install aiosmtpd (the SMTP sink of the mail tests)" >&2
    if [ "${CI:-}" = "true" ]; then exit 1; fi
  fi
fi

# Both backends, always, unless the caller narrows it on purpose outside CI.
export MAMORI_TEST_BACKENDS="${MAMORI_TEST_BACKENDS:-sqlite,postgres}"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
cargo test --locked "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
# One closing line over every test binary.
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($i ~ /^passed/) p += $(i-1); if ($i ~ /^failed/) f += $(i-1); if ($i ~ /^ignored/) s += $(i-1) } }
     END { printf "%d passed, %d failed, %d skipped\n", p, f, s }' "$log"
exit "$status"
