#!/usr/bin/env bash
# Memory with many idle SMTP sessions, outpost beside Postfix in the same run:
# build/bench/idle-sessions.js opens SESSIONS sessions (connected, greeted, EHLO
# answered; from 127.0.0.11-18) to each relay and reads the relay's resident
# memory before and after: outpost's one process (RSS, PSS, V8 heap from
# /metrics), Postfix's master and everything below it (sums of RSS and PSS; one
# smtpd process per session). outpost is started afresh for each run; each run
# is printed with `uptime`'s load, then the medians.
#
#   bench/memory-idle.sh [SESSIONS] [RUNS]   (default 5000 3)
#
# Build first: `npm run build && npx tsc -p tsconfig.json`. BENCH_OUTPOST_DIR: a built
# checkout to measure instead. BENCH_SKIP_POSTFIX=1: outpost only.
# Needs root (and `ulimit -n` above SESSIONS + 100; raised here when possible) and
# Debian's postfix; loopback only; torn down at the end.
set -euo pipefail
sessions="${1:-5000}"
runs="${2:-3}"
here="$(cd "$(dirname "$0")/.." && pwd)"
outpost_dir="${BENCH_OUTPOST_DIR:-$here}"
client="$here/build/bench/idle-sessions.js"
[ -f "$client" ] && [ -f "$outpost_dir/dist/cli.js" ] || { echo "build first: npm run build && npx tsc -p tsconfig.json" >&2; exit 1; }
needed_fds=$((sessions + 1000))
[ "$(ulimit -n)" -ge "$needed_fds" ] || ulimit -n "$needed_fds" || { echo "ulimit -n is below $needed_fds" >&2; exit 1; }
work=$(mktemp -d /var/tmp/outpost-bench.XXXXXX)
chmod 0755 "$work"
. "$here/bench/lib/peers.sh"
trap peers_cleanup EXIT

sink_start
# Postfix needs ~1.3 MB of private memory per smtpd process (measured: PSS); leave a margin.
available_kb=$(awk '/^MemAvailable:/ { print $2 }' /proc/meminfo)
if [ -z "${BENCH_SKIP_POSTFIX:-}" ] && [ "$available_kb" -lt $((sessions * 2048 + 1048576)) ]; then
  echo "only $((available_kb / 1024)) MB available: too little for $sessions smtpd processes; Postfix skipped" >&2
  BENCH_SKIP_POSTFIX=1
fi
idle() { node "$client" --json --target "$1" --measure "$2" --sessions "$sessions" ${3:+--metrics "$3"}; }
field() { node -e 'const o = JSON.parse(process.argv[1]); const v = process.argv[2].split(".").reduce((a, k) => a[k], o); process.stdout.write(String(Math.round(v * 10) / 10))' "$1" "$2"; }
mb() { awk -v kb="$1" 'BEGIN { printf "%.1f", kb / 1024 }'; }

echo "sessions=$sessions runs=$runs"
declare -A all
for run in $(seq 1 "$runs"); do
  outpost_start "limits: { maxConnections: $((sessions + 100)), maxConnectionsPerClient: $((sessions + 100)), idleTimeout: 10m }"
  load=$(load_average)
  json=$(idle "$outpost_ip:$outpost_port" "pid:$outpost_pid" "http://127.0.0.1:$http_port/metrics")
  outpost_stop
  o_before=$(mb "$(field "$json" rssBeforeKb)"); o_after=$(mb "$(field "$json" rssAfterKb)")
  heap=$(awk -v b="$(field "$json" heapAfter.nodejs_heap_size_used_bytes)" -v e="$(field "$json" heapAfter.nodejs_external_memory_bytes)" 'BEGIN { printf "heap used %.1f MB, external %.1f MB", b / 1048576, e / 1048576 }')
  all[outpost.after]+=" $o_after"; all[outpost.before]+=" $o_before"; all[outpost.per]+=" $(field "$json" perSessionKb)"
  printf 'run %s outpost: %s of %s open; RSS %s MB -> %s MB (%s kB/session; PSS %s MB); %s  (load %s)\n' "$run" \
    "$(field "$json" stillOpen)" "$sessions" "$o_before" "$o_after" "$(field "$json" perSessionKb)" "$(mb "$(field "$json" pssAfterKb)")" "$heap" "$load"
  [ -n "${BENCH_SKIP_POSTFIX:-}" ] && continue
  # A fresh instance each run (its smtpd processes outlive their clients, max_idle); one smtpd
  # per session: the process limit must exceed SESSIONS (the master's descriptors come from ulimit -n).
  postfix_start "default_process_limit = $((sessions + 100))" "smtpd_timeout = 600s"
  load=$(load_average)
  json=$(idle "127.0.0.1:$postfix_port" "tree:$(postfix_master_pid)")
  p_before=$(mb "$(field "$json" rssBeforeKb)"); p_after=$(mb "$(field "$json" rssAfterKb)")
  all[postfix.after]+=" $p_after"; all[postfix.before]+=" $p_before"; all[postfix.per]+=" $(field "$json" perSessionKb)"
  all[postfix.pss]+=" $(mb "$(field "$json" pssAfterKb)")"
  printf 'run %s postfix: %s of %s open; %s processes; RSS sum %s MB -> %s MB (%s kB/session); PSS sum %s MB -> %s MB (%s kB/session)  (load %s)\n' "$run" \
    "$(field "$json" stillOpen)" "$sessions" "$(field "$json" processesAfter)" "$p_before" "$p_after" "$(field "$json" perSessionKb)" \
    "$(mb "$(field "$json" pssBeforeKb)")" "$(mb "$(field "$json" pssAfterKb)")" "$(field "$json" perSessionPssKb)" "$load"
  postfix_stop
done
# shellcheck disable=SC2086
printf 'median outpost: RSS %s MB idle -> %s MB with %s sessions (%s kB/session)\n' "$(median ${all[outpost.before]})" "$(median ${all[outpost.after]})" "$sessions" "$(median ${all[outpost.per]})"
if [ -z "${BENCH_SKIP_POSTFIX:-}" ]; then
  # shellcheck disable=SC2086
  printf 'median postfix: RSS sum %s MB -> %s MB (%s kB/session), PSS sum %s MB\n' "$(median ${all[postfix.before]})" "$(median ${all[postfix.after]})" "$(median ${all[postfix.per]})" "$(median ${all[postfix.pss]})"
fi
