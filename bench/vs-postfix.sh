#!/usr/bin/env bash
# outpost beside Postfix in the same run: Postfix's smtp-source pushes N
# small messages over S parallel sessions into (a) outpost serve and (b) a
# private Postfix 3.x instance on this machine. Both fsync every accepted
# message before answering 250. Prints messages/s for each and the ratio.
#
#   bench/vs-postfix.sh [ingest|relay] [MESSAGES] [SESSIONS] [SIZE_BYTES]   (default ingest 5000 20 1000)
#
#   ingest: time until the last 250 (both queue and do not deliver)
#   relay:  time until the queue is empty again: both relay everything to
#           Postfix's smtp-sink (outpost by delivery.routes, Postfix by relayhost)
#
# Needs: Debian's postfix (smtp-source, smtp-sink, postfix), a built outpost
# (npm run build). Everything listens on 127.0.0.1 only and is torn down at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-ingest}"
messages="${2:-5000}"
sessions="${3:-20}"
size="${4:-1000}"
case "$mode" in ingest|relay) ;; *) echo "usage: $0 [ingest|relay] [MESSAGES] [SESSIONS] [SIZE]" >&2; exit 2 ;; esac
work=$(mktemp -d /var/tmp/outpost-bench.XXXXXX)
chmod 0755 "$work"
outpost_port=$((30000 + RANDOM % 10000))
postfix_port=$((outpost_port + 1))
sink_port=$((outpost_port + 2))
outpost_pid=""
sink_pid=""

cleanup() {
  [ -n "$outpost_pid" ] && kill "$outpost_pid" 2>/dev/null && wait "$outpost_pid" 2>/dev/null || true
  [ -n "$sink_pid" ] && kill "$sink_pid" 2>/dev/null || true
  postfix -c "$work/postfix" stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

now() { date +%s.%N; }
rate() { awk -v n="$1" -v a="$2" -v b="$3" 'BEGIN { printf "%.0f", n / (b - a) }'; }

# --- outpost -------------------------------------------------------------
mkdir -p "$work/outpost"
printf 'example.org\n' > "$work/outpost/domains"
cat > "$work/outpost/outpost.yaml" <<YAML
hostname: bench.example.org
domains: domains
listen: [{ address: 127.0.0.1, port: $outpost_port, mode: mta }]
trustedNetworks: [127.0.0.0/8]
spoolDir: spool
limits: { maxConnections: 1000, maxConnectionsPerClient: 1000 }
log: { level: warn }
http: { address: 127.0.0.1, port: 0 }
# Loopback only: nothing answers DNS on 127.0.0.1:9, so without a route mail stays queued;
# no traffic leaves the machine.
dns: { servers: ["127.0.0.1:9"] }
YAML
if [ "$mode" = relay ]; then
  sink_user=(); [ "$(id -u)" = 0 ] && sink_user=(-u nobody)
  smtp-sink "${sink_user[@]}" -c "127.0.0.1:$sink_port" 1000 >/dev/null &
  sink_pid=$!
  sleep 0.3
  kill -0 "$sink_pid" 2>/dev/null || { echo "smtp-sink did not start" >&2; exit 1; }
  printf 'delivery: { routes: { example.net: "127.0.0.1:%s" }, concurrencyPerDomain: 20 }\n' "$sink_port" >> "$work/outpost/outpost.yaml"
fi
node dist/cli.js serve --config "$work/outpost/outpost.yaml" &
outpost_pid=$!
for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$outpost_port") 2>/dev/null && break; sleep 0.1; done

# --- Postfix: a private instance that queues (fsync'd) and defers delivery ----
pf="$work/postfix"
mkdir -p "$pf/queue" "$pf/data"
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
$( [ "$mode" = relay ] && echo "relayhost = [127.0.0.1]:$sink_port" || echo "defer_transports = smtp" )
default_destination_concurrency_limit = 20
default_process_limit = 200
smtpd_client_connection_count_limit = 0
smtpd_client_message_rate_limit = 0
maillog_file_prefixes = $work
maillog_file = $pf/maillog
syslog_name = postfix-bench
CF
chown -R postfix:postfix "$pf/data"
# Postfix only runs a non-default config folder that the default main.cf names.
postconf -e "alternate_config_directories = $pf"
postfix -c "$pf" start >/dev/null 2>&1 || { echo "postfix did not start:"; cat "$pf/maillog" 2>/dev/null; exit 1; }
for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$postfix_port") 2>/dev/null && break; sleep 0.1; done

run_source() {
  smtp-source -s "$sessions" -m "$1" -l "$size" -f app@example.org -t someone@example.net "127.0.0.1:$2" >/dev/null
}
# Both checks look at queue files directly, so the polling costs the same little for both.
outpost_queue_empty() { [ -z "$(find "$work/outpost/spool/state" -name '*.json' 2>/dev/null | head -1)" ]; }
postfix_queue_empty() { [ -z "$(find "$pf/queue/incoming" "$pf/queue/active" "$pf/queue/deferred" "$pf/queue/maildrop" -type f 2>/dev/null | head -1)" ]; }
wait_until() { for _ in $(seq 1 2400); do "$1" && return 0; sleep 0.05; done; echo "$1: timed out" >&2; return 1; }
measure() { # port, queue-empty check -> start and end times
  local start end
  start=$(now)
  run_source "$messages" "$1"
  [ "$mode" = relay ] && wait_until "$2"
  end=$(now)
  echo "$start $end"
}

# warm-up, then the measured runs
run_source 200 "$outpost_port"; run_source 200 "$postfix_port"
if [ "$mode" = relay ]; then wait_until outpost_queue_empty; wait_until postfix_queue_empty; fi
read -r t0 t1 < <(measure "$outpost_port" outpost_queue_empty)
read -r t2 t3 < <(measure "$postfix_port" postfix_queue_empty)
outpost_rate=$(rate "$messages" "$t0" "$t1")
postfix_rate=$(rate "$messages" "$t2" "$t3")
echo "mode=$mode messages=$messages sessions=$sessions size=${size}B"
echo "outpost: $outpost_rate msg/s"
echo "postfix: $postfix_rate msg/s"
awk -v a="$outpost_rate" -v b="$postfix_rate" 'BEGIN { printf "ratio outpost/postfix: %.2f\n", a / b }'
