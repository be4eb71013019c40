#!/usr/bin/env bash
# Before/after load benchmark, in one run, all on loopback:
#   examples/bench/compare.sh BEFORE_WEFT_BINARY [ROUNDS] [DURATION]
# (defaults: 3 rounds of 8s; needs wrk: apt-get install wrk).
# BEFORE is a `weft` binary built from the previous commit (e.g. a git
# worktree built into its own target dir); AFTER is this checkout's
# release build. Each round measures, alternating the two binaries so
# drift hits both alike: W1 and W2 answered synchronously (wrk, 16
# connections, req/s), then W1 by webhook (async, 16 connections for the
# duration: runs completed per second, first request to empty queue).
# Prints the median of each figure per binary and the ratio after/before,
# the W1 sync p99 latency, and the group-commit batch sizes the AFTER
# server reported.
#
# BEFORE_STORE / AFTER_STORE (sled, the default, or postgres) choose where
# each side keeps everything: postgres makes a fresh database per server
# start on the local PostgreSQL (PG_ADMIN_URL, default
# postgres://postgres@127.0.0.1:5432/postgres) and drops it after, and
# reports transactions and rows written per webhook run from
# pg_stat_database. To compare sled with PostgreSQL on one binary:
#   BEFORE_STORE=sled AFTER_STORE=postgres examples/bench/compare.sh \
#     $CARGO_TARGET_DIR/release/weft
set -euo pipefail
cd "$(dirname "$0")/../.."
BEFORE=${1:?usage: compare.sh BEFORE_WEFT_BINARY [ROUNDS] [DURATION]}
ROUNDS=${2:-3}
DURATION=${3:-8s}
PORT=18080
BEFORE_STORE=${BEFORE_STORE:-sled}
AFTER_STORE=${AFTER_STORE:-sled}
PG_ADMIN_URL=${PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/weft/target}
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 2; }
cargo build --release -q -p weft-cli -p weft-tests --example bench_upstream
AFTER=$CARGO_TARGET_DIR/release/weft
WORK=$(mktemp -d)
SERVER=
DB=
drop_db() { [ -n "$DB" ] && psql -q "$PG_ADMIN_URL" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null; DB=; }
cleanup() { kill $SERVER "${UPSTREAM:-}" 2>/dev/null || true; wait 2>/dev/null || true; drop_db || true; rm -rf "$WORK"; }
trap cleanup EXIT
URL=http://127.0.0.1:$PORT/api/v1/automations
"$CARGO_TARGET_DIR/release/examples/bench_upstream" 127.0.0.1:9797 2>/dev/null &
UPSTREAM=$!

start_server() { # binary, store; a fresh data dir (and database) each time
  DATA=$(mktemp -d -p "$WORK")
  LOG=$DATA/serve.log
  local db_args=()
  if [ "$2" = postgres ]; then
    DB=weft_bench_$$_$RANDOM
    psql -q "$PG_ADMIN_URL" -c "CREATE DATABASE $DB" >/dev/null
    db_args=(--database-url "${PG_ADMIN_URL%/*}/$DB")
  fi
  RUST_LOG=warn "$1" --data-dir "$DATA" serve --listen 127.0.0.1:$PORT "${db_args[@]}" \
    --allow http://127.0.0.1:9797 --load examples/bench \
    --per-automation-concurrency 16 --global-concurrency 16 \
    --rate-limit-per-minute 100000000 >"$LOG" 2>&1 &
  SERVER=$!
  for _ in $(seq 300); do curl -sf http://127.0.0.1:$PORT/healthz >/dev/null && break; sleep 0.1; done
}
stop_server() { kill $SERVER; wait $SERVER 2>/dev/null || true; SERVER=; drop_db; }
pg_writes() { # commits and rows written so far in the bench database
  psql -Atq -F " " "${PG_ADMIN_URL%/*}/$DB" -c "SELECT xact_commit, tup_inserted + tup_updated + tup_deleted FROM pg_stat_database WHERE datname = current_database()"
}
token() { grep -A1 "^loaded $1 " "$LOG" | grep -o "X-Execution-Token: [^']*" | cut -d' ' -f2; }
hook() { grep -A2 "^loaded $1 " "$LOG" | grep -o "/hooks/[^ ]*"; }
sync_rps() { # automation id → "req/s p99_ms"
  EXEC_TOKEN=$(token "$1") wrk -t2 -c16 -d"$DURATION" --latency -s examples/bench/post.lua \
    "$URL/$1/actions/execute" | awk '
      /Requests\/sec/ {rps=$2}
      $1=="99%" {v=$2; if (v ~ /us$/) {sub(/us$/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms$/,"",v)} else if (v ~ /s$/) {sub(/s$/,"",v); v*=1000}; p99=v}
      END {print rps, p99}'
}
webhook_rps() { # completed runs per second
  local path before after n runs_before
  path=$(hook bench-w1)
  runs_before=$(curl -s http://127.0.0.1:$PORT/metrics | awk '/^weft_runs_total/{s+=$2} END{print s+0}')
  before=$(date +%s.%N)
  EXEC_TOKEN= wrk -t2 -c16 -d"$DURATION" -s examples/bench/post.lua "http://127.0.0.1:$PORT$path" >/dev/null
  while [ "$(curl -s http://127.0.0.1:$PORT/metrics | awk '/^weft_queue_depth /{print $2}')" != "0" ]; do sleep 0.1; done
  after=$(date +%s.%N)
  n=$(curl -s http://127.0.0.1:$PORT/metrics | awk '/^weft_runs_total/{s+=$2} END{print s+0}')
  echo "($n - $runs_before) / ($after - $before)" | bc -l
}
median() { sort -g | awk '{a[NR]=$1} END{print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

declare -A FIG PGFIG
for round in $(seq "$ROUNDS"); do
  for which in before after; do
    bin=$BEFORE; store=$BEFORE_STORE
    [ $which = after ] && bin=$AFTER && store=$AFTER_STORE
    start_server "$bin" "$store"
    read -r rps p99 <<<"$(sync_rps bench-w1)"
    FIG[$which.w1]+="$rps "
    FIG[$which.p99]+="$p99 "
    read -r rps _ <<<"$(sync_rps bench-w2)"
    FIG[$which.w2]+="$rps "
    [ "$store" = postgres ] && read -r tx0 rows0 <<<"$(pg_writes)"
    runs0=$(curl -s http://127.0.0.1:$PORT/metrics | awk '/^weft_runs_total/{s+=$2} END{print s+0}')
    FIG[$which.hook]+="$(webhook_rps) "
    if [ "$store" = postgres ]; then
      read -r tx1 rows1 <<<"$(pg_writes)"
      runs1=$(curl -s http://127.0.0.1:$PORT/metrics | awk '/^weft_runs_total/{s+=$2} END{print s+0}')
      PGFIG[$which]="webhook phase: $((runs1 - runs0)) runs, $(echo "($tx1 - $tx0) / ($runs1 - $runs0)" | bc -l | cut -c1-5) transactions and $(echo "($rows1 - $rows0) / ($runs1 - $runs0)" | bc -l | cut -c1-5) rows written per run"
    fi
    if [ $which = after ]; then
      COMMITS=$(curl -s http://127.0.0.1:$PORT/metrics | awk '/^weft_history_commit/{print $1"="$2}' | tr '\n' ' ')
    fi
    stop_server
    echo "round $round $which done" >&2
  done
done
printf '%-34s %12s %12s %8s\n' "median of $ROUNDS rounds" before after ratio
echo "stores: before $BEFORE_STORE, after $AFTER_STORE"
for key in w1:"W1 sync req/s" p99:"W1 sync p99 ms (c=16)" w2:"W2 sync req/s" hook:"W1 webhook runs completed/s"; do
  k=${key%%:*}; label=${key#*:}
  b=$(echo ${FIG[before.$k]} | tr ' ' '\n' | median)
  a=$(echo ${FIG[after.$k]} | tr ' ' '\n' | median)
  printf '%-34s %12.1f %12.1f %8.2f\n' "$label" "$b" "$a" "$(echo "$a / $b" | bc -l)"
done
echo "group commit (after, last round): $COMMITS"
for which in before after; do
  [ -n "${PGFIG[$which]:-}" ] && echo "postgres ($which, last round) ${PGFIG[$which]}"
done
