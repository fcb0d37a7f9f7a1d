#!/usr/bin/env bash
# Accepting only: Postfix's smtp-source sends MESSAGES messages over SESSIONS
# sessions into `outpost serve`, whose deliveries are stalled (every message
# routes to a loopback "tarpit" that accepts TCP connections and never
# greets, so one outbound session waits and the queue just grows). Reports,
# per run, msg/s until the last 250 and outpost's CPU time per 1,000
# messages from /proc/PID/stat (utime + stime of the whole process, and of
# the main thread alone from /proc/PID/task/PID/stat). CPU per message is
# the robust figure on a noisy shared machine; msg/s depends on the load.
#
#   bench/accept-rate.sh [MESSAGES] [SESSIONS] [SIZE_BYTES] [RUNS]   (default 3000 100 2048 5)
#
# BENCH_OUTPOST_DIRS: space-separated built outpost checkouts (`npm run build`) to
# compare; each gets its own instance and they take turns run by run (default: this
# checkout). BENCH_NODE_ARGS: node options for every instance (e.g. --cpu-prof).
# BENCH_LOG_LEVEL: outpost's log.level (default info, the sample config's; the log
# goes to /dev/null). Loopback only; torn down at the end.
set -euo pipefail
messages="${1:-3000}"
sessions="${2:-100}"
size="${3:-2048}"
runs="${4:-5}"
here="$(cd "$(dirname "$0")/.." && pwd)"
read -r -a dirs <<< "${BENCH_OUTPOST_DIRS:-$here}"
work=$(mktemp -d /var/tmp/outpost-accept.XXXXXX)
base=$((40000 + RANDOM % 10000))
tarpit_port=$base
tick=$(getconf CLK_TCK)
pids=(); tarpit_pid=""

cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true; done
  [ -n "$tarpit_pid" ] && kill "$tarpit_pid" 2>/dev/null || true
  [ -n "${BENCH_KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
now() { date +%s.%N; }
wait_port() { for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; echo "port $1 never opened" >&2; return 1; }

# The tarpit: holds every connection open, says nothing.
node -e "const s = new Set(); require('node:net').createServer((c) => { s.add(c); c.on('error', () => {}); }).listen($tarpit_port, '127.0.0.1')" &
tarpit_pid=$!
wait_port "$tarpit_port"

ports=()
for index in "${!dirs[@]}"; do
  dir="${dirs[$index]}"
  port=$((base + 1 + 2 * index)); http_port=$((base + 2 + 2 * index))
  mkdir -p "$work/$index"
  printf 'example.org\n' > "$work/$index/domains"
  cat > "$work/$index/outpost.yaml" <<YAML
hostname: bench.example.org
domains: domains
listen: [{ address: 127.0.0.1, port: $port, mode: mta }]
trustedNetworks: [127.0.0.0/8]
spoolDir: spool
limits: { maxConnections: 1000, maxConnectionsPerClient: 1000 }
log: { level: ${BENCH_LOG_LEVEL:-info} }
http: { address: 127.0.0.1, port: $http_port }
dns: { servers: ["127.0.0.1:9"] }
delivery:
  routes: { example.net: "127.0.0.1:$tarpit_port" }
  concurrencyPerDomain: 1
  connectTimeout: 1h
  commandTimeout: 1h
YAML
  (cd "$dir" && exec node ${BENCH_NODE_ARGS:-} dist/cli.js serve --config "$work/$index/outpost.yaml" >/dev/null) &
  pids+=($!)
  ports+=("$port")
  wait_port "$port"
done

cpu_ticks() { # pid [tid] -> utime + stime in clock ticks (fields 14 and 15, after the "(comm)" field)
  local file="/proc/$1/stat"; [ -n "${2:-}" ] && file="/proc/$1/task/$2/stat"
  sed 's/^.*) //' "$file" | awk '{ print $12 + $13 }'
}
send() { smtp-source -s "$sessions" -m "$1" -l "$size" -f app@example.org -t rcpt@example.net "127.0.0.1:$2" >/dev/null; }

for index in "${!dirs[@]}"; do send 500 "${ports[$index]}"; done # warm-up
echo "messages=$messages sessions=$sessions size=${size}B runs=$runs log=${BENCH_LOG_LEVEL:-info}"
declare -A results
for run in $(seq 1 "$runs"); do
  for index in "${!dirs[@]}"; do
    pid="${pids[$index]}"
    load=$(uptime | sed 's/.*load average: //; s/,.*//')
    c0=$(cpu_ticks "$pid"); m0=$(cpu_ticks "$pid" "$pid"); t0=$(now)
    send "$messages" "${ports[$index]}"
    t1=$(now); c1=$(cpu_ticks "$pid"); m1=$(cpu_ticks "$pid" "$pid")
    line=$(awk -v n="$messages" -v a="$t0" -v b="$t1" -v c="$((c1 - c0))" -v m="$((m1 - m0))" -v hz="$tick" \
      'BEGIN { printf "%.0f %.0f %.0f", n / (b - a), 1000 * (c / hz) * 1000 / n, 1000 * (m / hz) * 1000 / n }')
    read -r rate cpu main <<< "$line"
    results[$index]+="$rate $cpu $main"$'\n'
    echo "run $run ${dirs[$index]}: $rate msg/s, CPU $cpu ms per 1000 msgs (main thread $main), load $load"
  done
done
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
for index in "${!dirs[@]}"; do
  rows="${results[$index]}"
  echo "${dirs[$index]}: median $(awk 'NF { print $1 }' <<< "$rows" | median) msg/s," \
    "CPU $(awk 'NF { print $2 }' <<< "$rows" | median) ms per 1000 msgs (main thread $(awk 'NF { print $3 }' <<< "$rows" | median))"
done
