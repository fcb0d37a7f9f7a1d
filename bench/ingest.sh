#!/usr/bin/env bash
# Ingest benchmark: Postfix's smtp-source pushes N small messages over S
# parallel sessions into (a) outpost serve and (b) a private Postfix 3.x
# instance on the same machine, in the same run. Both fsync every accepted
# message before answering 250. Prints messages/s for each and the ratio.
#
#   bench/ingest.sh [MESSAGES] [SESSIONS] [SIZE_BYTES]     (default 5000 20 1000)
#
# Needs: Debian's postfix (smtp-source, postfix), a built outpost (npm run build).
# Everything listens on 127.0.0.1 only and is torn down at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
messages="${1:-5000}"
sessions="${2:-20}"
size="${3:-1000}"
work=$(mktemp -d /var/tmp/outpost-bench.XXXXXX)
chmod 0755 "$work"
outpost_port=$((30000 + RANDOM % 10000))
postfix_port=$((outpost_port + 1))
outpost_pid=""

cleanup() {
  [ -n "$outpost_pid" ] && kill "$outpost_pid" 2>/dev/null && wait "$outpost_pid" 2>/dev/null || true
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
# Loopback only: nothing answers DNS on 127.0.0.1:9, so mail stays queued and no traffic leaves the machine.
dns: { servers: ["127.0.0.1:9"] }
YAML
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
defer_transports = smtp
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
  smtp-source -s "$sessions" -m "$messages" -l "$size" -f app@example.org -t someone@example.net "127.0.0.1:$1" >/dev/null
}

# warm-up, then the measured runs
run_source "$outpost_port"; run_source "$postfix_port"
t0=$(now); run_source "$outpost_port"; t1=$(now)
t2=$(now); run_source "$postfix_port"; t3=$(now)
outpost_rate=$(rate "$messages" "$t0" "$t1")
postfix_rate=$(rate "$messages" "$t2" "$t3")
echo "messages=$messages sessions=$sessions size=${size}B"
echo "outpost: $outpost_rate msg/s"
echo "postfix: $postfix_rate msg/s"
awk -v a="$outpost_rate" -v b="$postfix_rate" 'BEGIN { printf "ratio outpost/postfix: %.2f\n", a / b }'
