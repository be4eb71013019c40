#!/usr/bin/env bash
# Three hosts on one PostgreSQL database, all on this machine and loopback:
#   examples/bench/hosts.sh [DURATION]     (default 8s; needs wrk and psql)
# Starts hosts on 127.0.0.1:18081-18083 sharing a fresh database (dropped
# at the end) and one secret key, then drives each with its own wrk (6
# connections each, 18 in all): W1 answered synchronously (req/s summed
# over the hosts, worst p99), then W1 by webhook (runs completed per
# second over all hosts, first request to an empty queue-wide queue).
# The hosts share this machine's cores, so this shows what coordination
# costs, not how it scales.
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${1:-8s}
PG_ADMIN_URL=${PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/weft/target}
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 2; }
command -v psql >/dev/null || { echo "psql is missing: apt-get install postgresql-client" >&2; exit 2; }
cargo build --release -q -p weft-cli -p weft-tests --example bench_upstream
BIN=$CARGO_TARGET_DIR/release/weft
WORK=$(mktemp -d)
DB=weft_hosts_$$_$RANDOM
PIDS=()
cleanup() {
  kill "${PIDS[@]}" 2>/dev/null || true; wait 2>/dev/null || true
  psql -q "$PG_ADMIN_URL" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
psql -q "$PG_ADMIN_URL" -c "CREATE DATABASE $DB" >/dev/null
export WEFT_SECRET_KEY
WEFT_SECRET_KEY=$(head -c 32 /dev/urandom | base64)
"$CARGO_TARGET_DIR/release/examples/bench_upstream" 127.0.0.1:9797 2>/dev/null &
PIDS+=($!)

start_host() { # port
  mkdir -p "$WORK/$1"
  RUST_LOG=warn "$BIN" --data-dir "$WORK/$1" serve --listen 127.0.0.1:$1 \
    --database-url "${PG_ADMIN_URL%/*}/$DB" \
    --allow http://127.0.0.1:9797 --load examples/bench \
    --per-automation-concurrency 16 --global-concurrency 16 \
    --rate-limit-per-minute 100000000 >"$WORK/$1/serve.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 300); do curl -sf http://127.0.0.1:$1/healthz >/dev/null && return; sleep 0.1; done
  echo "host on $1 did not start:" >&2; cat "$WORK/$1/serve.log" >&2; exit 1
}
# One at a time: the first creates the automations, the others find them.
for port in 18081 18082 18083; do start_host $port; done
LOG=$WORK/18081/serve.log
TOKEN=$(grep -A1 "^loaded bench-w1 " "$LOG" | grep -o "X-Execution-Token: [^']*" | cut -d' ' -f2)
HOOK=$(grep -A2 "^loaded bench-w1 " "$LOG" | grep -o "/hooks/[^ ]*")
metric() { curl -s http://127.0.0.1:18081/metrics | awk -v m="$1" '$1==m{print $2}'; }
runs_total() {
  local n=0 p
  for p in 18081 18082 18083; do
    n=$((n + $(curl -s http://127.0.0.1:$p/metrics | awk '/^weft_runs_total/{s+=$2} END{print s+0}')))
  done
  echo $n
}

echo "W1 sync, 3 hosts x 6 connections, $DURATION:"
for p in 18081 18082 18083; do
  EXEC_TOKEN=$TOKEN wrk -t1 -c6 -d"$DURATION" --latency -s examples/bench/post.lua \
    "http://127.0.0.1:$p/api/v1/automations/bench-w1/actions/execute" >"$WORK/w1.$p" &
done
wait_wrk() { while pgrep -f "wrk -t1 -c6" >/dev/null; do sleep 0.2; done; }
wait_wrk
awk '/Requests\/sec/{s+=$2} END{printf "  %.1f req/s over all hosts\n", s}' "$WORK"/w1.*
grep -h "^p50" "$WORK"/w1.* | sed 's/^/  /'

echo "W1 webhook, 3 hosts x 6 connections, $DURATION:"
before_runs=$(runs_total)
before=$(date +%s.%N)
for p in 18081 18082 18083; do
  EXEC_TOKEN= wrk -t1 -c6 -d"$DURATION" -s examples/bench/post.lua "http://127.0.0.1:$p$HOOK" >"$WORK/hook.$p" &
done
wait_wrk
accepted=$(awk '/^ *[0-9]+ requests in/{s+=$1} END{print s}' "$WORK"/hook.*)
# Drained once no host holds a queued or running run (the figure comes
# from the last heartbeat: wait for two).
sleep 3
while [ "$(metric weft_cluster_runs_queued)" != "0" ] || [ "$(metric weft_cluster_runs_running)" != "0" ]; do sleep 0.2; done
after=$(date +%s.%N)
n=$(( $(runs_total) - before_runs ))
printf "  %s webhooks accepted; %s runs completed, %.1f runs/s (until the queue was empty, heartbeat lag included)\n" \
  "$accepted" "$n" "$(echo "$n / ($after - $before)" | bc -l)"
