#!/usr/bin/env bash
# Memory during one large message, outpost beside Postfix in the same run:
# build/bench/large-message.js sends one SIZE-byte message (default 25 MiB) to each
# relay and samples its resident memory every 50 ms: outpost's one process, and
# Postfix's master with everything below it (smtpd, cleanup, qmgr, smtp...: summed
# RSS). Baseline before the session (after 20 small warm-up messages), peak during
# receipt (to the 250), peak in the 3 s after (delivery to smtp-sink); for outpost also
# the peaks of its V8 heap and external (Buffer) memory, read from /metrics with each sample. outpost is
# started afresh for each run; each run is printed with `uptime`'s load, then medians.
#
#   bench/memory-large.sh [SIZE_BYTES] [RUNS] [SESSIONS]   (default 26214400 3 1)
#
# SESSIONS > 1: that many such messages at once, one per session.
# Build first: `npm run build && npx tsc -p tsconfig.json`. BENCH_OUTPOST_DIR: a built
# checkout to measure instead. Needs root and Debian's postfix; loopback only; torn down at the end.
set -euo pipefail
size="${1:-26214400}"
runs="${2:-3}"
sessions="${3:-1}"
here="$(cd "$(dirname "$0")/.." && pwd)"
outpost_dir="${BENCH_OUTPOST_DIR:-$here}"
client="$here/build/bench/large-message.js"
[ -f "$client" ] && [ -f "$outpost_dir/dist/cli.js" ] || { echo "build first: npm run build && npx tsc -p tsconfig.json" >&2; exit 1; }
work=$(mktemp -d /var/tmp/outpost-bench.XXXXXX)
chmod 0755 "$work"
. "$here/bench/lib/peers.sh"
trap peers_cleanup EXIT

limit=$((size * 2))
sink_start
postfix_start "message_size_limit = $limit" "mailbox_size_limit = 0"
large() { node "$client" --json --target "$1" --measure "$2" --size "$size" --sessions "$sessions" ${3:+--metrics "$3"}; }
warm() { node "$here/build/bench/accept-latency.js" --target "$1" --sessions 2 --messages 20 --size 2048 >/dev/null; }
field() { node -e 'const o = JSON.parse(process.argv[1]); const v = process.argv[2].split(".").reduce((a, k) => a?.[k], o); process.stdout.write(typeof v === "number" ? String(Math.round(v * 10) / 10) : String(v))' "$1" "$2"; }
mb() { awk -v kb="$1" 'BEGIN { printf "%.1f", kb / 1024 }'; }

echo "size=${size}B runs=$runs sessions=$sessions"
declare -A all
show() { # relay, json, load
  local base peak after rise
  base=$(mb "$(field "$2" baselineKb)"); peak=$(mb "$(field "$2" receiptPeakKb)"); after=$(mb "$(field "$2" afterPeakKb)")
  rise=$(mb "$(field "$2" receiptRiseKb)")
  all[$1.base]+=" $base"; all[$1.peak]+=" $peak"; all[$1.rise]+=" $rise"; all[$1.after]+=" $after"
  printf 'run %s %-8s RSS baseline %7s MB, receipt peak %7s MB (+%s MB, %s s, %s samples), peak after 250 %7s MB; "%s"  (load %s)\n' "$run" "$1" \
    "$base" "$peak" "$rise" "$(awk -v ms="$(field "$2" receiptMs)" 'BEGIN { printf "%.2f", ms / 1000 }')" "$(field "$2" samples)" "$after" "$(field "$2" reply)" "$3"
  [ "$(field "$2" externalKb.baseline)" = undefined ] && return 0
  printf '      %-8s V8 heap used %s MB -> peak %s MB in receipt, %s MB after; external (Buffers) %s MB -> peak %s MB in receipt, %s MB after\n' "$1" \
    "$(mb "$(field "$2" heapUsedKb.baseline)")" "$(mb "$(field "$2" heapUsedKb.receipt)")" "$(mb "$(field "$2" heapUsedKb.after)")" \
    "$(mb "$(field "$2" externalKb.baseline)")" "$(mb "$(field "$2" externalKb.receipt)")" "$(mb "$(field "$2" externalKb.after)")"
}
for run in $(seq 1 "$runs"); do
  outpost_start "limits: { maxMessageSize: $limit, maxConnections: $((sessions + 100)), maxConnectionsPerClient: $((sessions + 100)) }"
  warm "$outpost_ip:$outpost_port"; wait_until outpost_queue_empty
  load=$(load_average)
  show outpost "$(large "$outpost_ip:$outpost_port" "pid:$outpost_pid" "http://127.0.0.1:$http_port/metrics")" "$load"
  wait_until outpost_queue_empty
  outpost_stop
  warm "127.0.0.1:$postfix_port"; wait_until postfix_queue_empty
  load=$(load_average)
  show postfix "$(large "127.0.0.1:$postfix_port" "tree:$(postfix_master_pid)")" "$load"
  wait_until postfix_queue_empty
done
for relay in outpost postfix; do
  # shellcheck disable=SC2086
  printf 'median %-8s RSS baseline %s MB, receipt peak %s MB (+%s MB), peak after 250 %s MB\n' "$relay" \
    "$(median ${all[$relay.base]})" "$(median ${all[$relay.peak]})" "$(median ${all[$relay.rise]})" "$(median ${all[$relay.after]})"
done
