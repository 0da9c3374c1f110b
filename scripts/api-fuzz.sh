#!/usr/bin/env bash
# Property-based testing of the JSON API: Schemathesis reads /api/v1/openapi.json and sends every
# operation generated requests (valid and invalid) with an admin's API token, against the debug
# binary on a fresh SQLite data folder and on a throwaway PostgreSQL cluster, each seeded with
# `mamori demo` so path ids exist. Checks: not_a_server_error, status_code_conformance,
# content_type_conformance, response_schema_conformance. A fixed seed and a per-operation budget
# keep a run to a few minutes; any finding fails, except those listed (with their reason) in
# scripts/api-fuzz-known.txt, which are excluded by operation and check only.
#
#   scripts/api-fuzz.sh          set up if needed, then fuzz both backends
#   scripts/api-fuzz.sh setup    only install Schemathesis and openapi-spec-validator into
#                                target/api-fuzz-venv (the OpenAPI validation test uses it too)
#
# MAMORI_FUZZ_BACKENDS (`sqlite,postgres`), MAMORI_FUZZ_SEED, MAMORI_FUZZ_MAX_EXAMPLES narrow or
# widen a local run. In CI (CI=true) a missing tool is a failure, never a skip.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

SCHEMATHESIS_VERSION=4.32.5
VALIDATOR_VERSION=0.7.2
seed="${MAMORI_FUZZ_SEED:-20261203}"
max_examples="${MAMORI_FUZZ_MAX_EXAMPLES:-10}"
backends="${MAMORI_FUZZ_BACKENDS:-sqlite,postgres}"
venv="$root/target/api-fuzz-venv"
known="$root/scripts/api-fuzz-known.txt"
checks=not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance

say() { echo "api-fuzz: $*" >&2; }
missing() {
  say "$*"
  if [ "${CI:-}" = "true" ]; then exit 1; fi
  say "skipped (outside CI)"
  exit 0
}

setup() {
  if [ -x "$venv/bin/schemathesis" ] &&
    "$venv/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('schemathesis') != '$SCHEMATHESIS_VERSION' or m.version('openapi-spec-validator') != '$VALIDATOR_VERSION')" 2>/dev/null; then
    return
  fi
  local python
  python=$(command -v python3.11 || command -v python3 || true)
  [ -n "$python" ] || missing "python3 (3.10 or later) is missing"
  say "installing schemathesis $SCHEMATHESIS_VERSION into $venv"
  rm -rf "$venv"
  "$python" -m venv "$venv" || missing "cannot create a virtualenv (Debian: apt-get install python3-venv)"
  "$venv/bin/pip" install --quiet --disable-pip-version-check \
    "schemathesis==$SCHEMATHESIS_VERSION" "openapi-spec-validator==$VALIDATOR_VERSION" ||
    missing "cannot install schemathesis from PyPI"
}

setup
if [ "${1:-}" = "setup" ]; then exit 0; fi

cargo build --locked --quiet --bin mamori
mamori="$root/target/debug/mamori"

work=$(mktemp -d /tmp/mamori-api-fuzz.XXXXXX)
server_pid=""
pg_stop=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  if [ -n "$pg_stop" ]; then eval "$pg_stop" >/dev/null 2>&1 || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { "$venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# The known findings as a Schemathesis config: one [[operations]] entry per line
# `METHOD PATH CHECK  # reason`, switching off that check for that operation only.
config="$work/schemathesis.toml"
: >"$config"
if [ -f "$known" ]; then
  { grep -v '^\s*\(#\|$\)' "$known" || true; } | while read -r method path check _; do
    case ",$checks," in *",$check,"*) ;; *) say "$known: unknown check '$check'"; exit 1 ;; esac
    printf '[[operations]]\ninclude-method = "%s"\ninclude-path = "%s"\nchecks.%s.enabled = false\n\n' \
      "$method" "$path" "$check" >>"$config"
  done
fi

# A throwaway PostgreSQL cluster, started as tests/app/support/postgres.rs does; sets pg_url.
start_postgres() {
  local bin initdb pg_ctl runas="" dir="$work/pg" port
  bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
  initdb=$(command -v initdb || echo "$bin/initdb")
  pg_ctl=$(command -v pg_ctl || echo "$bin/pg_ctl")
  [ -x "$initdb" ] && [ -x "$pg_ctl" ] || missing "PostgreSQL server binaries (initdb, pg_ctl) not found"
  mkdir -p "$dir"
  if [ "$(id -u)" = 0 ]; then
    chown -R postgres:postgres "$dir"
    chmod 755 "$work"
    runas="runuser -u postgres --"
  fi
  port=$(free_port)
  $runas "$initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 --no-sync >/dev/null
  $runas "$pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off" start >/dev/null
  pg_stop="$runas $pg_ctl -D $dir/data stop -m immediate"
  pg_url="postgres://postgres@127.0.0.1:$port/postgres"
}

fuzz() {
  local backend=$1 url=$2 data="$work/$1" port token status
  mkdir -p "$data"
  export MAMORI_DATA_DIR="$data" MAMORI_DATABASE_URL="$url" MAMORI_LOG=warn
  "$mamori" migrate >/dev/null
  # A passphrase the password policy accepts (not common, not the name or e-mail).
  printf 'hinoki-tsuru-kame-%s\n' "$seed" |
    "$mamori" user create --email api-fuzz@example.com --name "Schemathesis" --role admin --password-stdin >/dev/null ||
    { say "$backend: could not create the admin user"; return 1; }
  token=$("$mamori" token create --user api-fuzz@example.com --name api-fuzz | tail -1) ||
    { say "$backend: could not create the API token"; return 1; }
  "$mamori" demo >/dev/null
  port=$(free_port)
  MAMORI_BIND="127.0.0.1:$port" MAMORI_SLA_JOB_SECONDS=0 "$mamori" serve >"$data/server.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 100); do
    curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
    sleep 0.2
  done
  say "$backend: schemathesis, seed $seed, at most $max_examples examples per operation"
  set +e
  (cd "$work" && PYTHONPATH="$root/scripts" SCHEMATHESIS_HOOKS=api_fuzz_hooks \
    "$venv/bin/schemathesis" --config-file "$config" --no-color run \
    "http://127.0.0.1:$port/api/v1/openapi.json" \
    --header "Authorization: Bearer $token" \
    --checks "$checks" \
    --seed "$seed" --max-examples "$max_examples" --workers 2 \
    --suppress-health-check all)
  status=$?
  set -e
  kill "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
  if grep -q "panicked\|internal error" "$data/server.log"; then
    say "$backend: the server logged errors:"
    grep -m 20 "panicked\|internal error" "$data/server.log" >&2
    status=1
  fi
  unset MAMORI_DATA_DIR MAMORI_DATABASE_URL
  return "$status"
}

failed=()
case ",$backends," in *,sqlite,*)
  fuzz sqlite "sqlite://$work/sqlite/mamori.db" || failed+=(sqlite) ;;
esac
case ",$backends," in *,postgres,*)
  start_postgres
  fuzz postgres "$pg_url" || failed+=(postgres)
  eval "$pg_stop" >/dev/null 2>&1 || true
  pg_stop="" ;;
esac
if [ "${CI:-}" = "true" ] && [ "$backends" != "sqlite,postgres" ]; then
  say "CI fuzzes both backends; MAMORI_FUZZ_BACKENDS=$backends is not allowed"
  exit 1
fi
if [ ${#failed[@]} -gt 0 ]; then
  say "findings on: ${failed[*]}"
  exit 1
fi
say "no findings on $backends"
