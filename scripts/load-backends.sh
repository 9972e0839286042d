#!/usr/bin/env bash
# Load figures of the two storage backends in one run (docs/performance.md,
# issue 15): the same server, the same load, once on a sled folder and once
# on PostgreSQL (a throwaway cluster, with fsync ON so commits are durable as
# in production). For each: capacity (closed loop, 64 connections) and p99 at
# half that capacity (open loop). Each load line is secobot-load's JSON.
set -euo pipefail
cd "$(dirname "$0")/.."
DUR=${DUR:-10}
cargo build --release --quiet --bins
T=target/release
WORK=$(mktemp -d)
chmod 755 "$WORK"
trap 'kill $(jobs -p) 2>/dev/null || true; bash scripts/postgres.sh stop "$WORK/pg" >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT

POSTGRES_FSYNC=on bash scripts/postgres.sh start "$WORK/pg" >/dev/null
DB=$(bash scripts/postgres.sh createdb "$WORK/pg" load)

# The per-address limits would cap a load generator on one address.
LIMITS=(--turns-per-second 1000000 --turns-burst 1000000
  --new-conversations-per-minute 1000000 --new-conversations-burst 1000000)

start() { # name, extra serve args...
  local name=$1; shift
  "$T/secobot" serve --addr 127.0.0.1:0 --data "$WORK/$name-data" "${LIMITS[@]}" "$@" \
    >"$WORK/$name.out" 2>"$WORK/$name.err" &
  echo $! >"$WORK/$name.pid"
  for _ in $(seq 300); do grep -q http:// "$WORK/$name.out" 2>/dev/null && break; sleep 0.1; done
  grep -o 'http://[^ ]*' "$WORK/$name.out"
}

for backend in sled postgresql; do
  if [ "$backend" = sled ]; then
    HTTP=$(start sled)
  else
    HTTP=$(start pg --database "$DB")
  fi
  WS="${HTTP/http/ws}/ws"
  echo "== $backend: capacity (closed loop, 64 connections, ${DUR}s)"
  "$T/secobot-load" --url "$WS" --connections 64 --duration "$DUR" 2>/dev/null | tee "$WORK/$backend-cap.json"
  HALF=$(python3 -c "import json;print(max(1,int(json.load(open('$WORK/$backend-cap.json'))['msgs_per_s']/2)))")
  echo "== $backend: open loop at half capacity ($HALF msgs/s)"
  "$T/secobot-load" --url "$WS" --connections 64 --duration "$DUR" --rate "$HALF" 2>/dev/null | tee "$WORK/$backend-half.json"
  kill "$(cat "$WORK/$( [ "$backend" = sled ] && echo sled || echo pg).pid")"
  sleep 1
done

python3 - "$WORK" <<'PY'
import json, sys, os
w = sys.argv[1]
rows = []
for b in ("sled", "postgresql"):
    cap = json.load(open(os.path.join(w, f"{b}-cap.json")))
    half = json.load(open(os.path.join(w, f"{b}-half.json")))
    rows.append((b, cap["msgs_per_s"], cap["p99_ms"], half["msgs_per_s"], half["p99_ms"], cap["errors"] + half["errors"]))
print("backend      capacity/s  p99@cap ms  half rate/s  p99@half ms  errors")
for r in rows:
    print(f"{r[0]:<12} {r[1]:>10.0f}  {r[2]:>10.2f}  {r[3]:>11.0f}  {r[4]:>11.2f}  {r[5]:>6}")
s, p = rows
print(f"postgresql/sled: capacity {p[1]/s[1]:.2f}x, p99 at half capacity {p[4]/s[4]:.2f}x")
PY
