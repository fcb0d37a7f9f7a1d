#!/usr/bin/env bash
# outpost beside Postfix in the same run, over routes (no DNS; bench/relay-dns.sh is
# the end-to-end set-up over DNS): Postfix's smtp-source pushes MESSAGES messages over
# SESSIONS parallel sessions into (a) outpost serve and (b) a private Postfix 3.x
# instance on this machine. Both fsync every accepted message before answering 250.
# Prints messages/s for each and the ratio.
#
#   bench/vs-postfix.sh [ingest|relay] [MESSAGES] [SESSIONS] [SIZE_BYTES]   (default ingest 5000 20 1000)
#
#   ingest: time until the last 250 (both queue and do not deliver: outpost's recipients
#           are in a domain without a route, and no DNS answers; Postfix defers smtp)
#   relay:  time until the queue is empty again: both relay everything to
#           Postfix's smtp-sink (outpost by delivery.routes, Postfix by relayhost)
#
# Needs root and Debian's postfix (smtp-source, smtp-sink, postfix), a built outpost
# (npm run build; BENCH_OUTPOST_DIR: another built checkout). The set-up is
# bench/lib/peers.sh; loopback only, torn down at the end.
set -euo pipefail
mode="${1:-ingest}"
messages="${2:-5000}"
sessions="${3:-20}"
size="${4:-1000}"
case "$mode" in ingest|relay) ;; *) echo "usage: $0 [ingest|relay] [MESSAGES] [SESSIONS] [SIZE]" >&2; exit 2 ;; esac
here="$(cd "$(dirname "$0")/.." && pwd)"
outpost_dir="${BENCH_OUTPOST_DIR:-$here}"
[ -f "$outpost_dir/dist/cli.js" ] || { echo "build first: npm run build" >&2; exit 1; }
work=$(mktemp -d /var/tmp/outpost-bench.XXXXXX)
chmod 0755 "$work"
. "$here/bench/lib/peers.sh"
trap peers_cleanup EXIT

# relay: to example.net (routed to the sink); ingest: to example.com (no route, no DNS: stays queued).
if [ "$mode" = relay ]; then rcpt=someone@example.net; postfix_extra=(); else rcpt=someone@example.com; postfix_extra=("defer_transports = smtp"); fi
sink_start
outpost_start "limits: { maxConnections: 1000, maxConnectionsPerClient: 1000 }"
postfix_start "${postfix_extra[@]}"

run_source() { smtp-source -s "$sessions" -m "$1" -l "$size" -f app@example.org -t "$rcpt" "$2" >/dev/null; }
measure() { # host:port, queue-empty check -> start and end times
  local start end
  start=$(now)
  run_source "$messages" "$1"
  [ "$mode" = relay ] && wait_until "$2"
  end=$(now)
  echo "$start $end"
}
rate() { awk -v n="$1" -v a="$2" -v b="$3" 'BEGIN { printf "%.0f", n / (b - a) }'; }

# warm-up, then the measured runs
run_source 200 "$outpost_ip:$outpost_port"; run_source 200 "127.0.0.1:$postfix_port"
if [ "$mode" = relay ]; then wait_until outpost_queue_empty; wait_until postfix_queue_empty; fi
read -r t0 t1 < <(measure "$outpost_ip:$outpost_port" outpost_queue_empty)
read -r t2 t3 < <(measure "127.0.0.1:$postfix_port" postfix_queue_empty)
outpost_rate=$(rate "$messages" "$t0" "$t1")
postfix_rate=$(rate "$messages" "$t2" "$t3")
echo "mode=$mode messages=$messages sessions=$sessions size=${size}B (load $(load_average))"
echo "outpost: $outpost_rate msg/s"
echo "postfix: $postfix_rate msg/s"
awk -v a="$outpost_rate" -v b="$postfix_rate" 'BEGIN { printf "ratio outpost/postfix: %.2f\n", a / b }'
