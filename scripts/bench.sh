#!/usr/bin/env bash
# Benchmark on a release build with N incidents (default 1,000,000), on SQLite and PostgreSQL:
# create via API (8 clients), read one, filtered list, text search (newest first and best match
# first, two-character Japanese words included), one search over every kind, a year's SLA report, and the
# server's peak RSS (after each scenario, and its anonymous and file-backed parts at the end). The
# load average is printed before each backend's seed and after its scenarios: on a shared machine,
# compare a scenario with the same run's unchanged ones (read one, the SLA report).
# Everything runs on loopback; each scenario is bounded in time. Results go to stdout as
# Markdown lines; docs/PERFORMANCE.md records a run.
#
#   scripts/bench.sh [INCIDENTS] [SECONDS_PER_SCENARIO] [BACKENDS]
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-1000000}"
SECS="${2:-10}"
BACKENDS="${3:-sqlite postgres}"
cargo build --release --bin mamori --example loadgen >&2
BIN=target/release/mamori
LOADGEN=target/release/examples/loadgen
WORK=$(mktemp -d /tmp/mamori-bench.XXXX)
chmod 755 "$WORK"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]:-}"; do kill "$pid" 2>/dev/null || true; done
  if [ -d "$WORK/pg/data" ]; then
    runas pg_ctl -D "$WORK/pg/data" stop -m fast >/dev/null 2>&1 || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
runas() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
pgbin() { command -v "$1" 2>/dev/null || ls /usr/lib/postgresql/*/bin/"$1" | sort | tail -n1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

echo "| backend | scenario | result | peak RSS so far |"
echo "|---|---|---|---|"
for backend in $BACKENDS; do
  export MAMORI_DATA_DIR="$WORK/$backend-data" MAMORI_LOG=warn MAMORI_DB_POOL_SIZE=16
  if [ "$backend" = sqlite ]; then
    export MAMORI_DATABASE_URL="sqlite://$WORK/$backend-data/mamori.db"
  else
    mkdir -p "$WORK/pg"; [ "$(id -u)" = 0 ] && chown postgres "$WORK/pg"
    runas "$(pgbin initdb)" -D "$WORK/pg/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >/dev/null
    PGPORT=$(free_port)
    runas "$(pgbin pg_ctl)" -D "$WORK/pg/data" -o "-p $PGPORT -k $WORK/pg -c listen_addresses=127.0.0.1 -c shared_buffers=256MB -c max_connections=100" -l "$WORK/pg/log" -w start >/dev/null
    runas "$(pgbin createdb)" -h 127.0.0.1 -p "$PGPORT" -U postgres mamori
    export MAMORI_DATABASE_URL="postgres://postgres@127.0.0.1:$PGPORT/mamori"
  fi
  echo "| $backend | load before seed | $(cut -d' ' -f1-3 /proc/loadavg) | |"
  start=$(date +%s)
  $BIN seed --incidents "$N" >/dev/null
  echo "| $backend | seed $N incidents | $(( $(date +%s) - start )) s | |"
  echo "correct horse battery staple 9" | $BIN user create --email bench@example.jp --name Bench --role manager --password-stdin >/dev/null
  TOKEN=$($BIN token create --user bench@example.jp --name bench 2>/dev/null | tail -n1)
  PORT=$(free_port)
  MAMORI_BIND="127.0.0.1:$PORT" $BIN serve &
  SERVER=$!; PIDS+=("$SERVER")
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.1; done
  for scenario in read list search search-ranked unified-search report create; do
    result=$($LOADGEN "http://127.0.0.1:$PORT" "$TOKEN" "$scenario" 8 "$SECS" "$N")
    echo "| $backend | $scenario | ${result#*: } | $(awk '/VmHWM/ {printf "%.0f MB", $2/1024}' /proc/$SERVER/status) |"
  done
  echo "| $backend | peak RSS | $(awk '/VmHWM/ {printf "%.0f MB", $2/1024}' /proc/$SERVER/status) | |"
  echo "| $backend | memory at the end (anonymous, file-backed) | $(awk '/RssAnon|RssFile/ {printf "%s %.0f MB ", $1, $2/1024}' /proc/$SERVER/status) | |"
  echo "| $backend | load after scenarios | $(cut -d' ' -f1-3 /proc/loadavg) | |"
  kill "$SERVER"; wait "$SERVER" 2>/dev/null || true
  if [ "$backend" = postgres ]; then runas "$(pgbin pg_ctl)" -D "$WORK/pg/data" stop -m fast >/dev/null; rm -rf "$WORK/pg"; fi
done
