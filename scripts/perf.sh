#!/usr/bin/env bash
# Reproduces the figures of docs/performance.md in one run, on this machine:
#   1. echo anchor vs secobot, closed loop, 64 connections
#   2. secobot open loop at half the measured capacity (p99 target)
#   3. 10,000 idle sockets: server RSS per socket
#   4. a 10,000-entry knowledge folder reloaded three times under load
# Each load line is the JSON printed by secobot-load. Takes about two minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
DUR=${DUR:-10}
cargo build --release --quiet --bins --examples
T=target/release
WORK=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT

start() { # name, extra serve args...
  local name=$1; shift
  "$T/secobot" serve --addr 127.0.0.1:0 --data "$WORK/$name-data" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
  echo $! >"$WORK/$name.pid"
  for _ in $(seq 100); do grep -q http:// "$WORK/$name.out" 2>/dev/null && break; sleep 0.1; done
  grep -o 'http://[^ ]*' "$WORK/$name.out"
}
replies_total() { curl -s "$1/metrics" | awk '/^secobot_replies_total/ && !/kind="echo"/ {s+=$2} END {print s+0}'; }

echo "== 1. closed loop, 64 connections, ${DUR}s"
"$T/examples/echo_server" --addr 127.0.0.1:0 >"$WORK/echo.out" &
for _ in $(seq 50); do grep -q http:// "$WORK/echo.out" 2>/dev/null && break; sleep 0.1; done
ECHO=$(grep -o 'http://[^ ]*' "$WORK/echo.out" | sed 's/^http/ws/')/ws
echo -n "echo:    "; "$T/secobot-load" --url "$ECHO" --connections 64 --duration "$DUR" --mode echo 2>/dev/null | tee "$WORK/echo.json"
HTTP=$(start ask)
echo -n "secobot: "; "$T/secobot-load" --url "${HTTP/http/ws}/ws" --connections 64 --duration "$DUR" --mode ask 2>/dev/null | tee "$WORK/ask.json"
echo "server secobot_replies_total (bot replies, echoes excluded): $(replies_total "$HTTP")"
python3 - "$WORK/echo.json" "$WORK/ask.json" <<'EOF'
import json, sys
e, a = (json.load(open(p)) for p in sys.argv[1:3])
print(f"ratio answered/echo = {a['msgs_per_s'] / e['msgs_per_s']:.4f}")
EOF
HALF=$(python3 -c "import json;print(int(json.load(open('$WORK/ask.json'))['msgs_per_s']/2))")

echo "== 2. open loop at half capacity ($HALF msgs/s)"
"$T/secobot-load" --url "${HTTP/http/ws}/ws" --connections 64 --duration "$DUR" --mode ask --rate "$HALF" 2>/dev/null
kill "$(cat "$WORK/ask.pid")"

echo "== 3. 10,000 idle sockets"
HTTP=$(start idle)
PID=$(cat "$WORK/idle.pid")
R0=$(awk '/VmRSS/ {print $2}' "/proc/$PID/status")
"$T/secobot-load" --url "${HTTP/http/ws}/ws" --connections 10000 --duration 20 --mode idle 2>/dev/null >"$WORK/idle.json" &
LOAD=$!
sleep 15
R1=$(awk '/VmRSS/ {print $2}' "/proc/$PID/status")
OPEN=$(curl -s "$HTTP/metrics" | awk '/^secobot_connections / {print $2}')
wait $LOAD
cat "$WORK/idle.json"
echo "rss before ${R0} KiB, with ${OPEN} idle sockets ${R1} KiB: $(( (R1 - R0) / (OPEN > 0 ? OPEN : 1) )) KiB per socket"
kill "$PID"

echo "== 4. reload of a 10,000-entry folder under load (500 msgs/s)"
"$T/examples/gen_knowledge" "$WORK/k10k" 10000
HTTP=$(start reload --knowledge "$WORK/k10k")
"$T/secobot-load" --url "${HTTP/http/ws}/ws" --connections 64 --duration 16 --mode ask --rate 500 2>/dev/null >"$WORK/reload.json" &
LOAD=$!
sleep 4
for i in 1 2 3; do echo "cambio $i" >>"$WORK/k10k/faq/sintetica-00001.md"; sleep 4; done
wait $LOAD
cat "$WORK/reload.json"
sed 's/\x1b\[[0-9;]*m//g' "$WORK/reload.err" | grep -o 'knowledge reloaded.*' || echo "(no reload logged)"
kill "$(cat "$WORK/reload.pid")"
