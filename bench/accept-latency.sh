#!/usr/bin/env bash
# Accept latency, outpost beside Postfix in the same run: build/bench/accept-latency.js
# keeps SESSIONS concurrent sessions sending MESSAGES messages of SIZE bytes to
# each relay and measures each message from the write that ends its DATA to the
# 250 (both relays fsync before 250). Both relay to Postfix's smtp-sink while they
# accept. RUNS rounds, the relays taking turns, each waiting for its queue to be
# empty before the next turn; prints each run with `uptime`'s load, then medians.
#
#   bench/accept-latency.sh [MESSAGES] [SESSIONS] [SIZE_BYTES] [RUNS]   (default 5000 100 2048 3)
#
# Build first: `npm run build && npx tsc -p tsconfig.json`. BENCH_OUTPOST_DIR: a built
# checkout to measure instead (the client always comes from this one).
# Needs root and Debian's postfix; loopback only; torn down at the end.
set -euo pipefail
messages="${1:-5000}"
sessions="${2:-100}"
size="${3:-2048}"
runs="${4:-3}"
here="$(cd "$(dirname "$0")/.." && pwd)"
outpost_dir="${BENCH_OUTPOST_DIR:-$here}"
client="$here/build/bench/accept-latency.js"
[ -f "$client" ] && [ -f "$outpost_dir/dist/cli.js" ] || { echo "build first: npm run build && npx tsc -p tsconfig.json" >&2; exit 1; }
work=$(mktemp -d /var/tmp/outpost-bench.XXXXXX)
chmod 0755 "$work"
. "$here/bench/lib/peers.sh"
trap peers_cleanup EXIT

sink_start
outpost_start "limits: { maxConnections: 2000, maxConnectionsPerClient: 2000 }"
postfix_start "default_process_limit = $((sessions + 100))"

latency() { node "$client" --json --target "$1" --sessions "$sessions" --messages "$2" --size "$size"; }
field() { node -e 'const o = JSON.parse(process.argv[1]); process.stdout.write(String(Math.round(o[process.argv[2]] * 10) / 10))' "$1" "$2"; }

latency "$outpost_ip:$outpost_port" 500 >/dev/null; latency "127.0.0.1:$postfix_port" 500 >/dev/null
wait_until outpost_queue_empty; wait_until postfix_queue_empty
echo "messages=$messages sessions=$sessions size=${size}B runs=$runs"
declare -A all
for run in $(seq 1 "$runs"); do
  for relay in outpost postfix; do
    if [ "$relay" = outpost ]; then target="$outpost_ip:$outpost_port"; empty=outpost_queue_empty; else target="127.0.0.1:$postfix_port"; empty=postfix_queue_empty; fi
    load=$(load_average)
    json=$(latency "$target" "$messages")
    wait_until "$empty"
    for f in p50Ms p90Ms p99Ms maxMs messagesPerSecond clientCpuPercent refused; do all[$relay.$f]+=" $(field "$json" "$f")"; done
    printf 'run %s %-8s p50 %6s p90 %6s p99 %6s max %7s ms  %5s msg/s  refused %s  client CPU %s%%  (load %s)\n' "$run" "$relay" \
      "$(field "$json" p50Ms)" "$(field "$json" p90Ms)" "$(field "$json" p99Ms)" "$(field "$json" maxMs)" \
      "$(field "$json" messagesPerSecond)" "$(field "$json" refused)" "$(field "$json" clientCpuPercent)" "$load"
  done
done
for relay in outpost postfix; do
  # shellcheck disable=SC2086
  printf 'median %-8s p50 %6s p90 %6s p99 %6s max %7s ms  %5s msg/s\n' "$relay" \
    "$(median ${all[$relay.p50Ms]})" "$(median ${all[$relay.p90Ms]})" "$(median ${all[$relay.p99Ms]})" \
    "$(median ${all[$relay.maxMs]})" "$(median ${all[$relay.messagesPerSecond]})"
done
