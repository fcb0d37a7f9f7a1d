# Sourced by the bench scripts that set outpost beside a private Postfix 3.x
# instance on loopback: Postfix's smtp-sink as the next hop of both, outpost
# (`outpost serve`) on 127.0.0.3, Postfix on 127.0.0.1, both fsyncing each
# message before 250 and relaying to the sink (outpost by delivery.routes,
# Postfix by relayhost). Everything is torn down by peers_cleanup (an EXIT trap).
#
# The caller sets: work (a fresh folder), outpost_dir (a built checkout); before the
# *_start calls it may change sink_ip, outpost_dns_yaml, outpost_delivery_yaml, or call
# postfix_use_dns (next hops by MX lookup instead of routes / relayhost).
# Needs root (the private Postfix instance is registered in /etc/postfix/main.cf's
# alternate_config_directories) and Debian's postfix.

port_taken() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }
# A base port with its 4 ports free on the addresses used (other benches or tests may run beside).
for _ in $(seq 1 20); do
  peers_base=$((30000 + RANDOM % 10000))
  port_taken 127.0.0.3 "$peers_base" || port_taken 127.0.0.1 $((peers_base + 1)) || port_taken 127.0.0.1 $((peers_base + 2)) || port_taken 127.0.0.1 $((peers_base + 3)) || break
done
outpost_port=$peers_base; postfix_port=$((peers_base + 1)); sink_port=$((peers_base + 2)); http_port=$((peers_base + 3))
outpost_ip=127.0.0.3
sink_ip=127.0.0.1
outpost_pid=""; sink_pid=""; postfix_started=""
# Loopback only: nothing answers DNS on 127.0.0.1:9; mail goes by the route to the sink.
outpost_dns_yaml='dns: { servers: ["127.0.0.1:9"] }'
outpost_delivery_yaml="delivery: { routes: { example.net: \"127.0.0.1:$sink_port\" }, concurrencyPerDomain: 20 }"
postfix_next_hop="relayhost = [127.0.0.1]:$sink_port"
postfix_dns_ip=""

peers_cleanup() {
  outpost_stop
  [ -n "$sink_pid" ] && kill "$sink_pid" 2>/dev/null || true
  [ -n "$postfix_started" ] && postfix -c "$work/postfix" stop >/dev/null 2>&1 || true
  [ -n "${BENCH_KEEP:-}" ] || rm -rf "$work"
}

now() { date +%s.%N; }
load_average() { uptime | sed 's/.*load average: //'; }
wait_for_port() { for _ in $(seq 1 200); do (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null && return 0; sleep 0.1; done; echo "nothing listens on $1:$2" >&2; return 1; }
wait_until() { for _ in $(seq 1 6000); do "$1" && return 0; sleep 0.05; done; echo "$1: timed out" >&2; return 1; }
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

sink_start() {
  smtp-sink -u nobody -c "$sink_ip:$sink_port" 1000 >/dev/null &
  sink_pid=$!
  wait_for_port "$sink_ip" "$sink_port"
}

# outpost_start [YAML_LINES...]: a fresh spool; the extra lines are appended to the config.
outpost_start() {
  rm -rf "$work/outpost"
  mkdir -p "$work/outpost"
  printf 'example.org\n' > "$work/outpost/domains"
  cat > "$work/outpost/outpost.yaml" <<YAML
hostname: bench.example.org
domains: domains
listen: [{ address: $outpost_ip, port: $outpost_port, mode: mta }]
trustedNetworks: [127.0.0.0/8]
spoolDir: spool
log: { level: error }
http: { address: 127.0.0.1, port: $http_port }
$outpost_dns_yaml
$outpost_delivery_yaml
YAML
  local line
  for line in "$@"; do printf '%s\n' "$line" >> "$work/outpost/outpost.yaml"; done
  (cd "$outpost_dir" && exec node ${BENCH_NODE_ARGS:-} dist/cli.js serve --config "$work/outpost/outpost.yaml") &
  outpost_pid=$!
  wait_for_port "$outpost_ip" "$outpost_port"
}

outpost_stop() {
  [ -n "$outpost_pid" ] && kill "$outpost_pid" 2>/dev/null && wait "$outpost_pid" 2>/dev/null || true
  outpost_pid=""
}

outpost_metric() { curl -s "http://127.0.0.1:$http_port/metrics" | awk -v name="$1" '$1 == name { print $2 }'; }
outpost_queue_empty() { [ "$(outpost_metric outpost_queue_messages)" = 0 ]; }

# Postfix looks up MX records at DNS_IP (its chrooted smtp client reads a resolv.conf in
# the private queue folder) and connects to port $sink_port of the MX hosts.
postfix_use_dns() {
  postfix_dns_ip="$1"
  postfix_next_hop="smtp_tcp_port = $sink_port"
}

# postfix_start [MAIN_CF_LINES...]: the extra lines are appended to main.cf.
postfix_start() {
  pf="$work/postfix"
  mkdir -p "$pf/queue" "$pf/data"
  if [ -n "$postfix_dns_ip" ]; then
    mkdir -p "$pf/queue/etc"
    local file
    for file in services hosts nsswitch.conf host.conf localtime; do [ -e "/etc/$file" ] && cp -L "/etc/$file" "$pf/queue/etc/" || true; done
    printf 'nameserver %s\n' "$postfix_dns_ip" > "$pf/queue/etc/resolv.conf"
  fi
  cp /etc/postfix/master.cf "$pf/master.cf"
  sed -i "s/^smtp      inet/127.0.0.1:$postfix_port inet/" "$pf/master.cf"
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
$postfix_next_hop
smtp_tls_security_level = none
default_destination_concurrency_limit = 20
default_process_limit = 200
smtpd_client_connection_count_limit = 0
smtpd_client_message_rate_limit = 0
smtpd_client_connection_rate_limit = 0
maillog_file_prefixes = $work
maillog_file = $pf/maillog
syslog_name = postfix-bench
CF
  local line
  for line in "$@"; do printf '%s\n' "$line" >> "$pf/main.cf"; done
  chown -R postfix:postfix "$pf/data"
  postconf -e "alternate_config_directories = $pf"
  postfix -c "$pf" start >"$work/postfix-start.log" 2>&1 || { echo "postfix did not start:"; cat "$work/postfix-start.log" "$pf/maillog" 2>/dev/null; return 1; }
  postfix_started=1
  wait_for_port 127.0.0.1 "$postfix_port"
}

postfix_stop() {
  [ -n "$postfix_started" ] || return 0
  local master; master=$(postfix_master_pid 2>/dev/null || true)
  postfix -c "$pf" stop >/dev/null 2>&1 || true
  postfix_started=""
  # postfix stop returns before the master and its children are gone.
  [ -n "$master" ] && for _ in $(seq 1 200); do kill -0 "$master" 2>/dev/null || break; sleep 0.1; done
  return 0
}

postfix_queue_empty() { [ -z "$(find "$pf/queue/incoming" "$pf/queue/active" "$pf/queue/deferred" "$pf/queue/maildrop" -type f 2>/dev/null | head -1)" ]; }
postfix_master_pid() { head -1 "$pf/queue/pid/master.pid" | tr -d ' '; }

# median of the arguments (numbers)
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
