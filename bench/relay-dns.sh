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
outpost_dir="${BENCH_OUTPOST_DIR:-$(cd "$(dirname "$0")/.." && pwd)}"
work=$(mktemp -d /var/tmp/outpost-bench.XXXXXX)
chmod 0755 "$work"
base=$((30000 + RANDOM % 10000))
outpost_port=$base; postfix_port=$((base + 1)); sink_port=$((base + 2)); http_port=$((base + 3))
dns_ip=127.0.0.153
outpost_pid=""; sink_pid=""; dns_pid=""

cleanup() {
  [ -n "$outpost_pid" ] && kill "$outpost_pid" 2>/dev/null && wait "$outpost_pid" 2>/dev/null || true
  [ -n "$sink_pid" ] && kill "$sink_pid" 2>/dev/null || true
  [ -n "$dns_pid" ] && kill "$dns_pid" 2>/dev/null || true
  postfix -c "$work/postfix" stop >/dev/null 2>&1 || true
  [ -n "${BENCH_KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
now() { date +%s.%N; }

# --- DNS: MX for d0..d9.example.net -> mx.example.net -> 127.0.0.5 -------------
mx_args=()
for n in $(seq 0 $((domains - 1))); do mx_args+=("--mx-host=d$n.example.net,mx.example.net,10"); done
dnsmasq --keep-in-foreground --no-resolv --no-hosts --no-poll --bind-interfaces --listen-address="$dns_ip" \
  --port=53 --host-record=mx.example.net,127.0.0.5 "${mx_args[@]}" --pid-file="$work/dnsmasq.pid" &
dns_pid=$!
sleep 0.3
kill -0 "$dns_pid" 2>/dev/null || { echo "dnsmasq did not start" >&2; exit 1; }

# --- smtp-sink on 127.0.0.5 (the MX) --------------------------------------------
smtp-sink -u nobody -c "127.0.0.5:$sink_port" 1000 >/dev/null &
sink_pid=$!
sleep 0.3

# --- outpost on 127.0.0.3 -----------------------------------------------------
mkdir -p "$work/outpost"
printf 'example.org\n' > "$work/outpost/domains"
cat > "$work/outpost/outpost.yaml" <<YAML
hostname: bench.example.org
domains: domains
listen: [{ address: 127.0.0.3, port: $outpost_port, mode: mta }]
trustedNetworks: [127.0.0.0/8]
spoolDir: spool
limits: { maxConnections: 1000, maxConnectionsPerClient: 1000 }
log: { level: error }
http: { address: 127.0.0.1, port: $http_port }
dns: { servers: ["$dns_ip:53"] }
delivery: { port: $sink_port, concurrencyPerDomain: 20, concurrencyPerProvider: 200 }
YAML
(cd "$outpost_dir" && exec node ${BENCH_NODE_ARGS:-} dist/cli.js serve --config "$work/outpost/outpost.yaml") &
outpost_pid=$!
for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.3/$outpost_port") 2>/dev/null && break; sleep 0.1; done

# --- Postfix on 127.0.0.1 (its smtp client runs chrooted in the queue folder) ---
pf="$work/postfix"
mkdir -p "$pf/queue/etc" "$pf/data"
cp /etc/postfix/master.cf "$pf/master.cf"
sed -i "s/^smtp      inet/127.0.0.1:$postfix_port inet/" "$pf/master.cf"
for file in services hosts nsswitch.conf host.conf localtime; do [ -e "/etc/$file" ] && cp -L "/etc/$file" "$pf/queue/etc/" || true; done
printf 'nameserver %s\n' "$dns_ip" > "$pf/queue/etc/resolv.conf"
cat > "$pf/main.cf" <<CF
compatibility_level = 3.6
queue_directory = $pf/queue
data_directory = $pf/data
myhostname = bench-postfix.example.org
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
smtp_tcp_port = $sink_port
smtp_tls_security_level = none
default_destination_concurrency_limit = 20
default_process_limit = 200
smtpd_client_connection_count_limit = 0
smtpd_client_message_rate_limit = 0
maillog_file_prefixes = $work
maillog_file = $pf/maillog
syslog_name = postfix-bench
CF
chown -R postfix:postfix "$pf/data"
postconf -e "alternate_config_directories = $pf"
postfix -c "$pf" start >"$work/postfix-start.log" 2>&1 || { echo "postfix did not start:"; cat "$work/postfix-start.log" "$pf/maillog" 2>/dev/null; exit 1; }
for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$postfix_port") 2>/dev/null && break; sleep 0.1; done

per_domain_sessions=$(( sessions / domains > 0 ? sessions / domains : 1 ))
send() { # messages, host:port -- one smtp-source per destination domain, in parallel
  local pids=() n
  for n in $(seq 0 $((domains - 1))); do
    smtp-source -s "$per_domain_sessions" -m $(( $1 / domains )) -l "$size" -f app@example.org -t "rcpt@d$n.example.net" "$2" >/dev/null &
    pids+=($!)
  done
  wait "${pids[@]}"
}
outpost_queued() {
  if [ -d "$work/outpost/spool/state" ]; then find "$work/outpost/spool/state" -name '*.json' | wc -l
  else curl -s "http://127.0.0.1:$http_port/metrics" | awk '/^outpost_queue_messages / { print $2 }'; fi
}
outpost_queue_empty() { [ "$(outpost_queued)" = 0 ]; }
postfix_queue_empty() { [ -z "$(find "$pf/queue/incoming" "$pf/queue/active" "$pf/queue/deferred" "$pf/queue/maildrop" -type f 2>/dev/null | head -1)" ]; }
wait_until() { for _ in $(seq 1 6000); do "$1" && return 0; sleep 0.05; done; echo "$1: timed out" >&2; return 1; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$outpost_pid/stat"; }
measure() { # host:port, queue-empty check -> msg/s (and outpost's CPU per message into $work/cpu)
  local start end ticks
  ticks=$(cpu_ticks)
  start=$(now); send "$messages" "$1"; wait_until "$2"; end=$(now)
  awk -v n="$messages" -v t="$(( $(cpu_ticks) - ticks ))" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.3f", 1000 * t / hz / n }' > "$work/cpu"
  awk -v n="$messages" -v a="$start" -v b="$end" 'BEGIN { printf "%.0f", n / (b - a) }'
}

send 200 "127.0.0.3:$outpost_port"; send 200 "127.0.0.1:$postfix_port"
wait_until outpost_queue_empty; wait_until postfix_queue_empty
deferred=$(find "$pf/queue/deferred" -type f | wc -l)
[ "$deferred" = 0 ] || { echo "postfix deferred the warm-up mail:"; tail -5 "$pf/maillog"; exit 1; }
outpost_rates=(); postfix_rates=()
echo "messages=$messages sessions=$sessions size=${size}B domains=$domains runs=$runs"
for run in $(seq 1 "$runs"); do
  load_o=$(uptime | sed 's/.*load average: //')
  o=$(measure "127.0.0.3:$outpost_port" outpost_queue_empty); o_cpu=$(cat "$work/cpu")
  load_p=$(uptime | sed 's/.*load average: //')
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
