#!/usr/bin/env bash
# End-to-end relay throughput, outpost beside Postfix in the same run, over
# DNS: Postfix's smtp-source sends MESSAGES messages over SESSIONS sessions
# (spread over 10 destination domains d0..d9.example.net) into each relay;
# both relays look up the MX (dnsmasq on 127.0.0.153, MX -> 127.0.0.5; outpost's
# provider cap is lifted to 200, as Postfix has none: 20 sessions per domain) and
# deliver to Postfix's smtp-sink. The clock stops when the relay's queue is
# empty again. Both fsync every message before 250. Repeated RUNS times,
# the relays taking turns; prints each run, medians, min/max, the ratio and
# the load average (`uptime`) before each run, and outpost's CPU time per
# message (user + system, from /proc: robust on a busy machine).
#
#   bench/relay-dns.sh [MESSAGES] [SESSIONS] [SIZE_BYTES] [RUNS]   (default 5000 20 2048 3)
#
# BENCH_OUTPOST_DIR: a built outpost checkout to measure (default: this one).
# Needs root (dnsmasq on port 53 of 127.0.0.153; a private Postfix instance,
# registered in /etc/postfix/main.cf's alternate_config_directories), Debian's
# postfix and dnsmasq. Loopback only; torn down at the end.
set -euo pipefail
messages="${1:-5000}"
sessions="${2:-20}"
size="${3:-2048}"
runs="${4:-3}"
domains=10
here="$(cd "$(dirname "$0")/.." && pwd)"
outpost_dir="${BENCH_OUTPOST_DIR:-$here}"
[ -f "$outpost_dir/dist/cli.js" ] || { echo "build first: npm run build" >&2; exit 1; }
work=$(mktemp -d /var/tmp/outpost-bench.XXXXXX)
chmod 0755 "$work"
. "$here/bench/lib/peers.sh"
dns_ip=127.0.0.153
dns_pid=""
cleanup() {
  [ -n "$dns_pid" ] && kill "$dns_pid" 2>/dev/null || true
  peers_cleanup
}
trap cleanup EXIT

# --- DNS: MX for d0..d9.example.net -> mx.example.net -> 127.0.0.5 -------------
mx_args=()
for n in $(seq 0 $((domains - 1))); do mx_args+=("--mx-host=d$n.example.net,mx.example.net,10"); done
dnsmasq --keep-in-foreground --no-resolv --no-hosts --no-poll --bind-interfaces --listen-address="$dns_ip" \
  --port=53 --host-record=mx.example.net,127.0.0.5 "${mx_args[@]}" --pid-file="$work/dnsmasq.pid" &
dns_pid=$!
sleep 0.3
kill -0 "$dns_pid" 2>/dev/null || { echo "dnsmasq did not start" >&2; exit 1; }

# --- smtp-sink on 127.0.0.5 (the MX); outpost on 127.0.0.3, Postfix on 127.0.0.1, both by MX ---
sink_ip=127.0.0.5
sink_start
outpost_dns_yaml="dns: { servers: [\"$dns_ip:53\"] }"
outpost_delivery_yaml="delivery: { port: $sink_port, concurrencyPerDomain: 20, concurrencyPerProvider: 200 }"
outpost_start "limits: { maxConnections: 1000, maxConnectionsPerClient: 1000 }"
postfix_use_dns "$dns_ip"
postfix_start

per_domain_sessions=$(( sessions / domains > 0 ? sessions / domains : 1 ))
send() { # messages, host:port -- one smtp-source per destination domain, in parallel
  local pids=() n
  for n in $(seq 0 $((domains - 1))); do
    smtp-source -s "$per_domain_sessions" -m $(( $1 / domains )) -l "$size" -f app@example.org -t "rcpt@d$n.example.net" "$2" >/dev/null &
    pids+=($!)
  done
  wait "${pids[@]}"
}
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$outpost_pid/stat"; }
measure() { # host:port, queue-empty check -> msg/s (and outpost's CPU per message into $work/cpu)
  local start end ticks
  ticks=$(cpu_ticks)
  start=$(now); send "$messages" "$1"; wait_until "$2"; end=$(now)
  awk -v n="$messages" -v t="$(( $(cpu_ticks) - ticks ))" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.3f", 1000 * t / hz / n }' > "$work/cpu"
  awk -v n="$messages" -v a="$start" -v b="$end" 'BEGIN { printf "%.0f", n / (b - a) }'
}

send 200 "$outpost_ip:$outpost_port"; send 200 "127.0.0.1:$postfix_port"
wait_until outpost_queue_empty; wait_until postfix_queue_empty
deferred=$(find "$pf/queue/deferred" -type f | wc -l)
[ "$deferred" = 0 ] || { echo "postfix deferred the warm-up mail:"; tail -5 "$pf/maillog"; exit 1; }
outpost_rates=(); postfix_rates=()
echo "messages=$messages sessions=$sessions size=${size}B domains=$domains runs=$runs"
for run in $(seq 1 "$runs"); do
  load_o=$(load_average)
  o=$(measure "$outpost_ip:$outpost_port" outpost_queue_empty); o_cpu=$(cat "$work/cpu")
  load_p=$(load_average)
  p=$(measure "127.0.0.1:$postfix_port" postfix_queue_empty)
  outpost_rates+=("$o"); postfix_rates+=("$p")
  echo "run $run: outpost $o msg/s (${o_cpu} ms CPU/msg, load $load_o), postfix $p msg/s (load $load_p)"
done
stats() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { printf "median %s min %s max %s", v[int((NR + 1) / 2)], v[1], v[NR] }'; }
echo "outpost: $(stats "${outpost_rates[@]}")"
echo "postfix: $(stats "${postfix_rates[@]}")"
om=$(printf '%s\n' "${outpost_rates[@]}" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
pm=$(printf '%s\n' "${postfix_rates[@]}" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
awk -v a="$om" -v b="$pm" 'BEGIN { printf "ratio of medians outpost/postfix: %.2f\n", a / b }'
