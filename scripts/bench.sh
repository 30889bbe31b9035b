#!/usr/bin/env bash
# Measures paylink with the shared load bench (../shared/bench beside the project root,
# or BENCH_DIR): builds paylink, starts it beside the fake Dojo, the load generator and
# the peers the bench compares against, and prints the tables. Results land in
# $BENCH_DIR/out/.
#
#   scripts/bench.sh                          # paylink, the bare-Go baseline and Bolt-JS, c=1,16,64
#   TARGETS=paylink WEBHOOKS=1 CONCURRENCIES=16 scripts/bench.sh   # webhooks, real Redis
#   DOJO_LATENCY=300ms CONCURRENCIES=64 TARGETS=paylink scripts/bench.sh
#
# Every knob of the bench's run.sh passes through (DURATION, CONCURRENCIES, TARGETS, ...).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bench=${BENCH_DIR:-$root/../shared/bench}
if [ ! -x "$bench/run.sh" ]; then
  echo "no bench at $bench (set BENCH_DIR)" >&2
  exit 1
fi
export PAYLINK_DIR=$root
# The bench's commands all come from one user: lift the per-user rate limit.
export PAYLINK_RATE_LIMIT=${PAYLINK_RATE_LIMIT:-off}
# A real Redis, as in production, unless REDIS_URL is set to empty (embedded Redis).
# The default is a scratch database, emptied first: every run leaves link records behind.
if [ -z "${REDIS_URL+set}" ]; then
  export REDIS_URL=redis://127.0.0.1:6379/15
  redis-cli -u "$REDIS_URL" flushdb >/dev/null 2>&1 || true
fi
export TARGETS=${TARGETS-"baseline boltjs-respond boltjs-sync paylink"}
cd "$bench"
exec ./run.sh "$@"
