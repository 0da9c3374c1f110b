#!/usr/bin/env bash
# Fault measurements on loopback only (docs/RELIABILITY.md records the runs):
#  1. slow: slow clients: SLOW connections, 110 from each of several loopback addresses (10 past the
#     per-address cap), send a form post's headers and then nothing; how many the server holds, how many it refuses at once (429), how fast
#     /healthz and /readyz answer meanwhile, and when the held ones are closed (408).
#  2. pgdown: PostgreSQL down: a throwaway cluster is stopped for STOP_SECONDS; how long /readyz and a
#     signed-in API request take meanwhile, and how long after the restart requests succeed.
#  3. kill: on SQLite and on PostgreSQL, KILLS (20) `kill -9` of the server at random moments
#     while WORKERS (4) clients create incidents through the API (scripts/faults_load.py); the
#     server is restarted on the same data each time. Then every acknowledged (201) incident must
#     read back with its number and title, `mamori audit verify` must pass, and on SQLite
#     `PRAGMA integrity_check` must answer ok. Prints acknowledged, lost, failed requests, restart times.
#  4. pgrestart: `pg_ctl restart` (-m fast twice, then -m immediate) under the same write load,
#     Mamori left running: time from PostgreSQL logging "ready to accept connections" to the first 201
#     and to /readyz 200; no acknowledged write lost, audit verify passes.
# Everything is bounded (counts, curl timeouts) and the script stops by itself; its own app and
# its own cluster are removed at the end. The kill and pgrestart parts take about 3 minutes on a
# debug build; slow and pgdown about 1.
#
#   [FAULTS="slow pgdown kill pgrestart"] [FAULTS_BUILD=release|debug] [KILLS=20] [WORKERS=4] \
#   scripts/faults.sh [SLOW_CONNECTIONS] [STOP_SECONDS] [REQUEST_TIMEOUT_SECONDS]
# A missing tool (python3, curl, PostgreSQL's initdb/pg_ctl/createdb) skips the parts needing it,
# or fails the run with CI=true.
set -euo pipefail
cd "$(dirname "$0")/.."
SLOW="${1:-1100}"
STOP_SECONDS="${2:-30}"
TIMEOUT="${3:-10}"
FAULTS="${FAULTS:-slow pgdown kill pgrestart}"
KILLS="${KILLS:-20}"
WORKERS="${WORKERS:-4}"
if [ "${FAULTS_BUILD:-release}" = debug ]; then
  cargo build --bin mamori >&2
  BIN=target/debug/mamori
else
  cargo build --release --bin mamori >&2
  BIN=target/release/mamori
fi
LOAD_PY="$PWD/scripts/faults_load.py"
export MAMORI_LOG=warn MAMORI_SLA_JOB_SECONDS=0 MAMORI_REQUEST_TIMEOUT_SECONDS="$TIMEOUT"
WORK=$(mktemp -d /tmp/mamori-faults.XXXX)
chmod 755 "$WORK"
PIDS=()
cleanup() {
  touch "$WORK/stop" 2>/dev/null || true
  for pid in "${PIDS[@]:-}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ -d "$WORK/pg/data" ]; then
    runas "$(pgbin pg_ctl)" -D "$WORK/pg/data" stop -m immediate >/dev/null 2>&1 || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
runas() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
pgbin() { command -v "$1" 2>/dev/null || ls /usr/lib/postgresql/*/bin/"$1" | sort | tail -n1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now_ms() { date +%s%3N; }
# "STATUS SECONDS" of one GET, never longer than 15 s.
timed() { curl -s -o /dev/null -m 15 -w '%{http_code} %{time_total}' "$@" || true; }
start_app() {
  MAMORI_BIND="127.0.0.1:$PORT" $BIN serve 2>>"$WORK/app.log" &
  SERVER=$!; PIDS+=("$SERVER")
  for _ in $(seq 1000); do curl -sf -m 2 "http://127.0.0.1:$PORT/readyz" >/dev/null && return; sleep 0.01; done
  echo "the app did not start" >&2; tail -n 50 "$WORK/app.log" >&2; exit 1
}
want() { case " $FAULTS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
# needs TOOL... : true if every tool is there; otherwise says so and skips (fails with CI=true).
needs() {
  local tool
  for tool in "$@"; do
    if ! { command -v "$tool" || ls /usr/lib/postgresql/*/bin/"$tool"; } >/dev/null 2>&1; then
      if [ "${CI:-}" = true ]; then echo "missing dependency: $tool" >&2; exit 1; fi
      echo "(skipped: $tool is not installed)"; return 1
    fi
  done
}
needs python3 curl >/dev/null || { echo "python3 and curl are needed" >&2; exit 1; }
# A throwaway PostgreSQL cluster, created once, on $PGPORT.
pg_start() {
  runas "$(pgbin pg_ctl)" -D "$WORK/pg/data" -o "-p $PGPORT -k $WORK/pg -c listen_addresses=127.0.0.1 -c log_timezone=UTC" -l "$WORK/pg/log" -w start >/dev/null
}
# When the cluster last logged "ready to accept connections" (ms since the epoch).
pg_ready_ms() {
  python3 -c 'import datetime, sys
lines = [l for l in open(sys.argv[1], errors="replace") if "ready to accept connections" in l]
t = datetime.datetime.strptime(" ".join(lines[-1].split()[:2]), "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=datetime.timezone.utc)
print(int(t.timestamp() * 1000))' "$WORK/pg/log"
}
pg_init() {
  [ -d "$WORK/pg/data" ] && return
  mkdir -p "$WORK/pg"; [ "$(id -u)" = 0 ] && chown postgres "$WORK/pg"
  runas "$(pgbin initdb)" -D "$WORK/pg/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 --no-sync >/dev/null
  PGPORT=$(free_port)
  pg_start
}
# use_backend sqlite|postgres NAME: a fresh database and data folder for one part, with an
# engineer's API token in $TOKEN.
use_backend() {
  export MAMORI_DATA_DIR="$WORK/$2-data"
  if [ "$1" = sqlite ]; then
    export MAMORI_DATABASE_URL="sqlite://$WORK/$2-data/mamori.db"
  else
    pg_init
    runas "$(pgbin createdb)" -h 127.0.0.1 -p "$PGPORT" -U postgres "$2"
    export MAMORI_DATABASE_URL="postgres://postgres@127.0.0.1:$PGPORT/$2"
  fi
  echo "correct horse battery staple 9" | $BIN user create --email faults@example.jp --name Faults --role engineer --password-stdin >/dev/null
  TOKEN=$($BIN token create --user faults@example.jp --name faults 2>/dev/null | tail -n1)
}
start_load() {
  rm -f "$WORK/stop" "$WORK/acked" "$WORK/load.json"
  python3 "$LOAD_PY" run "http://127.0.0.1:$PORT" "$TOKEN" "$WORKERS" "$WORK/acked" "$WORK/stop" >"$WORK/load.json" &
  LOAD=$!; PIDS+=("$LOAD")
}
stop_load() { touch "$WORK/stop"; wait "$LOAD"; }
# After the load: every acknowledged incident read back, then the server stopped and the
# database checked. Fails the script if anything is lost or inconsistent.
check_writes() {
  local load check audit
  load=$(cat "$WORK/load.json")
  check=$(python3 "$LOAD_PY" check "http://127.0.0.1:$PORT" "$TOKEN" "$WORK/acked")
  kill "$SERVER"; wait "$SERVER" 2>/dev/null || true
  echo "- load (all workers): $load"
  echo "- read back: $check"
  if $BIN audit verify >"$WORK/audit.out" 2>&1; then audit="passes"; else audit="FAILS: $(tail -n3 "$WORK/audit.out")"; fi
  echo "- \`mamori audit verify\`: $audit"
  if [ "$1" = sqlite ]; then
    echo "- \`PRAGMA integrity_check\`: $(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("PRAGMA integrity_check").fetchone()[0])' "$WORK/$2-data/mamori.db")"
  fi
  case "$check" in *'"lost": 0,'*) ;; *) echo "ACKNOWLEDGED WRITES LOST" >&2; exit 1 ;; esac
  case "$audit" in passes) ;; *) echo "AUDIT CHAIN BROKEN" >&2; exit 1 ;; esac
}

echo "machine: $(nproc) cores, $(uname -sr); open-file limit of this shell $(ulimit -n); load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
if want slow; then
echo "## Slow clients ($SLOW connections, MAMORI_REQUEST_TIMEOUT_SECONDS=$TIMEOUT, MAMORI_MAX_CONNECTIONS_PER_IP=100)"
export MAMORI_DATA_DIR="$WORK/sqlite-data"
export MAMORI_DATABASE_URL="sqlite://$WORK/sqlite-data/mamori.db"
PORT=$(free_port)
start_app
echo "- open-file limit of the server: $(awk '/Max open files/ {print $4 " (soft), " $5 " (hard)"}' /proc/$SERVER/limits)"
python3 - "$PORT" "$SLOW" "$TIMEOUT" <<'EOF'
import socket, sys, time, subprocess, selectors
port, count, timeout = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
head = b"POST /login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\n"
socks, refused_connect = [], 0
start = time.monotonic()
for i in range(count):
    s = socket.socket()
    s.bind(("127.0.0.%d" % (2 + i // 110), 0))  # 110 per source address: 10 past the cap
    try:
        s.settimeout(2); s.connect(("127.0.0.1", port)); s.sendall(head); s.setblocking(False)
        socks.append(s)
    except OSError:
        refused_connect += 1; s.close()
opened = time.monotonic() - start
time.sleep(0.5)
def answer(s):
    try:
        data = s.recv(64)
        return data[:12].decode(errors="replace") if data else "closed"
    except BlockingIOError:
        return None
    except OSError:
        return "reset"
first = [answer(s) for s in socks]
held = sum(1 for a in first if a is None)
r429 = sum(1 for a in first if a and a.startswith("HTTP/1.1 429"))
print(f"- opened {len(socks)} connections in {opened:.2f} s ({refused_connect} refused at connect)")
print(f"- held by the server, waiting for a body: {held}; answered 429 at once: {r429}; other: {len(socks) - held - r429}")
for path in ["/healthz", "/readyz"]:
    out = subprocess.run(["curl", "-s", "-o", "/dev/null", "-m", "10", "-w", "%{http_code} %{time_total}",
                          f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True).stdout
    code, secs = out.split()
    print(f"- meanwhile GET {path} from another address: {code} in {float(secs) * 1000:.1f} ms")
pending = {s for s, a in zip(socks, first) if a is None}
sel = selectors.DefaultSelector()
for s in pending:
    sel.register(s, selectors.EVENT_READ)
got408, closed_at = 0, []
deadline = time.monotonic() + timeout + 10
while pending and time.monotonic() < deadline:
    for key, _ in sel.select(0.5):
        s = key.fileobj
        a = answer(s)
        if a is None:
            continue
        if a.startswith("HTTP/1.1 408"):
            got408 += 1
        closed_at.append(time.monotonic() - start)
        pending.discard(s)
        sel.unregister(s)
if closed_at:
    print(f"- held connections answered 408: {got408} of {held}, between {min(closed_at):.1f} s and {max(closed_at):.1f} s after the first was opened; still open after {timeout + 10} s: {len(pending)}")
for s in socks:
    s.close()
EOF
kill "$SERVER"; wait "$SERVER" 2>/dev/null || true

fi

if want pgdown && needs initdb pg_ctl createdb; then
echo
echo "## PostgreSQL stopped for $STOP_SECONDS s (MAMORI_DB_CHECKOUT_TIMEOUT_MS=2000, pool of 8)"
use_backend postgres pgdown
PORT=$(free_port)
start_app
API=(-H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/api/v1/me")
echo "- up: /readyz $(timed "http://127.0.0.1:$PORT/readyz"), /api/v1/me $(timed "${API[@]}") (status, seconds)"
runas "$(pgbin pg_ctl)" -D "$WORK/pg/data" stop -m fast >/dev/null
STOPPED=$(now_ms)
sleep 1
for i in 1 2 3; do
  echo "- down, try $i: /readyz $(timed "http://127.0.0.1:$PORT/readyz"), /api/v1/me $(timed "${API[@]}"), /healthz $(timed "http://127.0.0.1:$PORT/healthz")"
done
sleep $(( STOP_SECONDS > 10 ? STOP_SECONDS - 10 : 0 ))
echo "- down after $(( ($(now_ms) - STOPPED) / 1000 )) s: /readyz $(timed "http://127.0.0.1:$PORT/readyz"), /api/v1/me $(timed "${API[@]}")"
RESTART=$(now_ms)
pg_start
STARTED=$(now_ms)
for _ in $(seq 300); do
  [ "$(timed "${API[@]}" | cut -d' ' -f1)" = 200 ] && break
  sleep 0.05
done
OK=$(now_ms)
echo "- restart: pg_ctl start took $(( STARTED - RESTART )) ms; first 200 on /api/v1/me $(( OK - STARTED )) ms after it returned; /readyz then $(timed "http://127.0.0.1:$PORT/readyz")"
kill "$SERVER"; wait "$SERVER" 2>/dev/null || true
fi

if want kill; then
  for backend in sqlite postgres; do
    [ "$backend" = postgres ] && ! needs initdb pg_ctl createdb && continue
    echo
    echo "## $KILLS kill -9 of the server under write load, $backend ($WORKERS workers creating incidents)"
    use_backend "$backend" "kill-$backend"
    PORT=$(free_port)
    start_app
    start_load
    RESTARTS=()
    for _ in $(seq "$KILLS"); do
      sleep "$(awk -v r="$RANDOM" 'BEGIN { printf "%.3f", 0.3 + (r % 1500) / 1000 }')"
      kill -9 "$SERVER"; wait "$SERVER" 2>/dev/null || true
      KILLED=$(now_ms)
      start_app
      RESTARTS+=($(( $(now_ms) - KILLED )))
    done
    sleep 2
    stop_load
    echo "- restart, from kill -9 to /readyz 200 (ms, sorted): $(printf '%s\n' "${RESTARTS[@]}" | sort -n | tr '\n' ' ')"
    check_writes "$backend" "kill-$backend"
  done
fi

if want pgrestart && needs initdb pg_ctl createdb; then
  echo
  echo "## PostgreSQL restarted under write load, Mamori left running ($WORKERS workers)"
  use_backend postgres pgrestart
  PORT=$(free_port)
  start_app
  start_load
  for mode in fast fast immediate; do
    sleep 3
    ISSUED=$(now_ms)
    runas "$(pgbin pg_ctl)" -D "$WORK/pg/data" -l "$WORK/pg/log" -m "$mode" -w restart >/dev/null
    RETURNED=$(now_ms)
    BACK=$(pg_ready_ms)
    READY=-1
    for _ in $(seq 1000); do
      if [ "$(timed "http://127.0.0.1:$PORT/readyz" | cut -d' ' -f1)" = 200 ]; then READY=$(( $(now_ms) - BACK )); break; fi
      sleep 0.01
    done
    sleep 5
    echo "- pg_ctl restart -m $mode: took $(( RETURNED - ISSUED )) ms, returned $(( RETURNED - BACK )) ms after the cluster logged \"ready to accept connections\"; from that log line: first 201 in $(python3 "$LOAD_PY" first-after "$WORK/acked" "$BACK") ms, /readyz 200 in $READY ms"
  done
  stop_load
  check_writes postgres pgrestart
fi
echo
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
