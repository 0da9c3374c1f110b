#!/usr/bin/env bash
# Fault measurements on a release build, on loopback only (docs/RELIABILITY.md records a run):
#  1. slow clients: SLOW connections, 110 from each of several loopback addresses (10 past the
#     per-address cap), send a form post's headers and then nothing; how many the server holds, how many it refuses at once (429), how fast
#     /healthz and /readyz answer meanwhile, and when the held ones are closed (408).
#  2. PostgreSQL down: a throwaway cluster is stopped for STOP_SECONDS; how long /readyz and a
#     signed-in API request take meanwhile, and how long after the restart requests succeed.
# Everything is bounded (counts, curl timeouts) and the script stops by itself; its own app and
# its own cluster are removed at the end.
#
#   scripts/faults.sh [SLOW_CONNECTIONS] [STOP_SECONDS] [REQUEST_TIMEOUT_SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
SLOW="${1:-1100}"
STOP_SECONDS="${2:-30}"
TIMEOUT="${3:-10}"
cargo build --release --bin mamori >&2
BIN=target/release/mamori
WORK=$(mktemp -d /tmp/mamori-faults.XXXX)
chmod 755 "$WORK"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]:-}"; do kill "$pid" 2>/dev/null || true; done
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
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && return; sleep 0.1; done
  echo "the app did not start" >&2; cat "$WORK/app.log" >&2; exit 1
}

echo "machine: $(nproc) cores, $(uname -sr); open-file limit of this shell $(ulimit -n)"
echo
echo "## Slow clients ($SLOW connections, MAMORI_REQUEST_TIMEOUT_SECONDS=$TIMEOUT, MAMORI_MAX_CONNECTIONS_PER_IP=100)"
export MAMORI_DATA_DIR="$WORK/sqlite-data" MAMORI_LOG=warn MAMORI_SLA_JOB_SECONDS=0
export MAMORI_DATABASE_URL="sqlite://$WORK/sqlite-data/mamori.db"
export MAMORI_REQUEST_TIMEOUT_SECONDS="$TIMEOUT"
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

echo
echo "## PostgreSQL stopped for $STOP_SECONDS s (MAMORI_DB_CHECKOUT_TIMEOUT_MS=2000, pool of 8)"
mkdir -p "$WORK/pg"; [ "$(id -u)" = 0 ] && chown postgres "$WORK/pg"
runas "$(pgbin initdb)" -D "$WORK/pg/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 --no-sync >/dev/null
PGPORT=$(free_port)
pg_start() {
  runas "$(pgbin pg_ctl)" -D "$WORK/pg/data" -o "-p $PGPORT -k $WORK/pg -c listen_addresses=127.0.0.1" -l "$WORK/pg/log" -w start >/dev/null
}
pg_start
runas "$(pgbin createdb)" -h 127.0.0.1 -p "$PGPORT" -U postgres mamori
export MAMORI_DATA_DIR="$WORK/pg-data" MAMORI_DATABASE_URL="postgres://postgres@127.0.0.1:$PGPORT/mamori"
echo "correct horse battery staple 9" | $BIN user create --email faults@example.jp --name Faults --role engineer --password-stdin >/dev/null
TOKEN=$($BIN token create --user faults@example.jp --name faults 2>/dev/null | tail -n1)
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
