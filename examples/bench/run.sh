#!/usr/bin/env bash
# Load benchmark for `weft serve`, all on loopback:
#   examples/bench/run.sh [DURATION]     (default 20s; needs wrk: apt-get install wrk)
# Starts the upstream for W2 on 127.0.0.1:9797, then for each workload a
# fresh server on 127.0.0.1:18080 (history on, the default) with the bench
# automations loaded, runs wrk at concurrency 16 and 64, and reports
# req/s, p50, p99, errors and that server's peak RSS; last, webhook (async)
# runs accepted and completed per second. Everything it starts stops when
# it ends.
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${1:-20s}
PORT=18080
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/weft/target}
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 2; }
cargo build --release -q -p weft-cli -p weft-tests --example bench_upstream
BIN=$CARGO_TARGET_DIR/release
WORK=$(mktemp -d)
SERVER=
cleanup() { kill $SERVER "${UPSTREAM:-}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
BODY='{"n":7,"items":[{"id":1,"value":3},{"id":2,"value":8},{"id":3,"value":0},{"id":4,"value":6},{"id":5,"value":1},{"id":6,"value":9},{"id":7,"value":4},{"id":8,"value":7},{"id":9,"value":2},{"id":10,"value":5}]}'
URL=http://127.0.0.1:$PORT/api/v1/automations

"$BIN/examples/bench_upstream" 127.0.0.1:9797 2>/dev/null &
UPSTREAM=$!

start_server() { # a fresh data dir each time
  DATA=$(mktemp -d -p "$WORK")
  LOG=$DATA/serve.log
  RUST_LOG=warn "$BIN/weft" --data-dir "$DATA" serve --listen 127.0.0.1:$PORT \
    --allow http://127.0.0.1:9797 --load examples/bench \
    --per-automation-concurrency 16 --global-concurrency 16 \
    --rate-limit-per-minute 100000000 >"$LOG" 2>&1 &
  SERVER=$!
  for _ in $(seq 100); do curl -sf http://127.0.0.1:$PORT/healthz >/dev/null && break; sleep 0.1; done
}
stop_server() {
  echo "   server peak RSS: $(awk '/VmHWM/{printf "%.1f MiB", $2/1024}' /proc/$SERVER/status)"
  kill $SERVER; wait $SERVER 2>/dev/null || true; SERVER=
}
token() { grep -A1 "^loaded $1 " "$LOG" | grep -o "X-Execution-Token: [^']*" | cut -d' ' -f2; }
hook() { grep -A2 "^loaded $1 " "$LOG" | grep -o "/hooks/[^ ]*"; }
load() { # name token automation connections
  echo "== $1, concurrency $4, $DURATION"
  EXEC_TOKEN=$2 wrk -t2 -c"$4" -d"$DURATION" --latency -s examples/bench/post.lua "$URL/$3/actions/execute" \
    | grep -E "Requests/sec|p50"
}

for workload in W1:bench-w1 W2:bench-w2; do
  name=${workload%%:*}; id=${workload#*:}
  start_server
  tok=$(token "$id")
  echo "$name answer: $(curl -s -X POST -H "X-Execution-Token: $tok" -H 'Content-Type: application/json' -d "$BODY" "$URL/$id/actions/execute")"
  load "$name" "$tok" "$id" 16
  load "$name" "$tok" "$id" 64
  stop_server
done

echo "== webhook (async), concurrency 16, 10s"
start_server
HOOK=$(hook bench-w1)
finished() { curl -s http://127.0.0.1:$PORT/metrics | awk '/^weft_runs_total/{s+=$2} END{print s+0}'; }
before=$(date +%s.%N)
EXEC_TOKEN= wrk -t2 -c16 -d10s -s examples/bench/post.lua "http://127.0.0.1:$PORT$HOOK" | grep -E "Requests/sec|p50"
# Completed runs per second: wait for the queue to drain.
while [ "$(curl -s http://127.0.0.1:$PORT/metrics | awk '/^weft_queue_depth /{print $2}')" != "0" ]; do sleep 0.2; done
after=$(date +%s.%N)
echo "   webhook runs completed: $(finished) in $(echo "$after - $before" | bc) s (first request to empty queue)"
stop_server
