#!/usr/bin/env python3
"""Write load for scripts/faults.sh (Python stdlib only, loopback only).

  faults_load.py run    BASE_URL TOKEN WORKERS ACKED_FILE STOP_FILE
      Creates incidents through POST /api/v1/incidents with WORKERS threads until STOP_FILE
      exists. Every 201 is appended to ACKED_FILE as one JSON line (id, number, title, the
      wall-clock time in ms) before the next request; every failed request (no answer, or a
      non-2xx status) is counted. Prints a JSON summary at the end.
  faults_load.py check  BASE_URL TOKEN ACKED_FILE
      Reads every acknowledged incident back (GET /api/v1/incidents/{id}) and prints a JSON
      summary: how many were acknowledged, how many are missing or differ (lost).
  faults_load.py first-after ACKED_FILE MS
      The time in ms from MS to the first acknowledged write that completed after it (or -1).
"""
import http.client, json, os, sys, threading, time, urllib.parse


def connection(base):
    url = urllib.parse.urlsplit(base)
    assert url.hostname in ("127.0.0.1", "localhost"), "loopback only"
    return http.client.HTTPConnection(url.hostname, url.port, timeout=15)


def now_ms():
    return int(time.time() * 1000)


def run(base, token, workers, acked_path, stop_path):
    lock = threading.Lock()
    out = open(acked_path, "a", buffering=1)
    stats = {"acknowledged": 0, "failed": 0, "statuses": {}}
    headers = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}

    def worker(w):
        conn, n = None, 0
        while not os.path.exists(stop_path):
            n += 1
            title = f"障害試験 {w}-{n}"
            body = json.dumps({"title": title, "description": "faults.sh", "impact": "low",
                               "urgency": "medium", "category": "faults"})
            try:
                if conn is None:
                    conn = connection(base)
                conn.request("POST", "/api/v1/incidents", body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                status = str(resp.status)
            except (OSError, http.client.HTTPException):
                status, data = "no answer", b""
                if conn is not None:
                    conn.close()
                conn = None
            if status.startswith("2"):
                view = json.loads(data)
                with lock:
                    out.write(json.dumps({"id": view["id"], "number": view["number"],
                                          "title": title, "at": now_ms()}, ensure_ascii=False) + "\n")
                    stats["acknowledged"] += 1
            else:
                with lock:
                    stats["failed"] += 1
                    stats["statuses"][status] = stats["statuses"].get(status, 0) + 1
                time.sleep(0.02)

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out.close()
    print(json.dumps(stats))


def acked(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def check(base, token, acked_path):
    rows = acked(acked_path)
    conn, lost, examples = connection(base), 0, []
    for row in rows:
        for attempt in range(3):
            try:
                conn.request("GET", f"/api/v1/incidents/{row['id']}",
                             headers={"Authorization": "Bearer " + token})
                resp = conn.getresponse()
                data = resp.read()
                break
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = connection(base)
                time.sleep(0.2)
        ok = resp.status == 200
        if ok:
            view = json.loads(data)
            ok = view["title"] == row["title"] and view["number"] == row["number"]
        if not ok:
            lost += 1
            if len(examples) < 5:
                examples.append({"id": row["id"], "status": resp.status})
    ids = [r["id"] for r in rows]
    print(json.dumps({"acknowledged": len(rows), "distinct_ids": len(set(ids)), "lost": lost,
                      "examples": examples}))


def first_after(acked_path, since):
    later = [r["at"] for r in acked(acked_path) if r["at"] >= since]
    print(min(later) - since if later else -1)


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "run":
        run(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5], sys.argv[6])
    elif mode == "check":
        check(sys.argv[2], sys.argv[3], sys.argv[4])
    elif mode == "first-after":
        first_after(sys.argv[2], int(sys.argv[3]))
    else:
        sys.exit("usage: see the module docstring")
