#!/usr/bin/env bash
# DKIM signing beside Postfix + OpenDKIM, end to end, in the same run.
#
#   bench/vs-opendkim.sh [MESSAGES] [RUNS] [SESSIONS] [SIZE_BYTES]   (default 5000 3 100 2048)
#
# Postfix's smtp-source sends MESSAGES copies of one prepared SIZE_BYTES message
# (From: app@example.org, To:, Subject:, Date:, Message-ID:, MIME headers, a text
# body) over SESSIONS parallel sessions into each of four relays; each relays it
# all to Postfix's smtp-sink. A run is timed from the first connection until the
# relay's queue is empty again. Every relay fsyncs each message before its 250.
#
#   outpost-unsigned  outpost serve, no DKIM keys
#   outpost-dual      outpost serve, example.org has an RSA-2048 and an Ed25519 key:
#                     every message gets two DKIM-Signature fields
#   postfix-opendkim  a private Postfix 3.x instance whose smtpd hands every message
#                     to Debian's opendkim milter (Mode s, one RSA-2048 key from
#                     opendkim-genkey, relaxed/relaxed, rsa-sha256; loopback TCP)
#   postfix-plain     the same Postfix instance on a second port without the milter
#
# The four take turns in each of RUNS rounds (after a warm-up of 200 messages
# each); the script prints every run's msg/s, the medians and the ratios for the
# goals of issue 8: outpost-dual >= 2x postfix-opendkim, and outpost-dual loses at
# most 20% against outpost-unsigned.
#
# Before timing, 5 messages through each relay go to a second smtp-sink that dumps
# them (recipient domain sample.example); the script counts their DKIM-Signature
# fields (expects 0, 2, 1, 0) and, where /usr/bin/python3 has dkimpy (Debian
# python3-dkim, python3-nacl), verifies every signature against the public keys.
#
# Environment (not OUTPOST_*: outpost reads those as configuration keys):
#   BENCH_OUTPOST_DIR  a built outpost checkout (npm ci && npm run build);
#                      default: this script's repository
#   BENCH_NODE_ARGS    extra node options for outpost-dual, e.g. "--cpu-prof
#                      --cpu-prof-dir=/tmp/prof" (written when the script stops it)
#   BENCH_OUTPOST_CONCURRENCY  delivery.concurrencyPerDomain of both outpost
#                      instances; default 20, as Postfix's
#                      default_destination_concurrency_limit here (a fair comparison)
#
# Run as root on a test machine: needs Debian's postfix (smtp-source, smtp-sink),
# opendkim and opendkim-tools. It names its private Postfix instance in
# /etc/postfix/main.cf (alternate_config_directories) while it runs and puts the
# old value back at the end. Everything listens on 127.0.0.1 only; every daemon it
# started is stopped at the end.
set -euo pipefail
messages="${1:-5000}"
runs="${2:-3}"
sessions="${3:-100}"
size="${4:-2048}"
outpost_dir="${BENCH_OUTPOST_DIR:-$(cd "$(dirname "$0")/.." && pwd)}"
outpost_concurrency="${BENCH_OUTPOST_CONCURRENCY:-20}"
[ "$(id -u)" = 0 ] || { echo "run as root (Postfix instance, opendkim user)" >&2; exit 2; }
[ -f "$outpost_dir/dist/cli.js" ] || { echo "no $outpost_dir/dist/cli.js: npm run build first" >&2; exit 2; }
for tool in postfix postconf smtp-source smtp-sink opendkim opendkim-genkey; do
  command -v "$tool" >/dev/null || { echo "missing $tool: apt-get install postfix opendkim opendkim-tools" >&2; exit 2; }
done

# Not under /var/tmp: opendkim refuses a config file in a folder others may write.
work=$(mktemp -d /var/lib/outpost-dkim-bench.XXXXXX)
chmod 0755 "$work"
# Seven ports below the kernel's ephemeral range (32768 on), so that no outbound
# connection of an earlier run holds one of them in TIME-WAIT.
base=$((20000 + RANDOM % 12000))
unsigned_port=$base            # outpost, no keys
dual_port=$((base + 1))        # outpost, RSA + Ed25519
pf_dkim_port=$((base + 2))     # Postfix smtpd with the opendkim milter
pf_plain_port=$((base + 3))    # Postfix smtpd without milter
sink_port=$((base + 4))        # smtp-sink for the timed runs
dump_port=$((base + 5))        # smtp-sink that keeps the sample messages
opendkim_port=$((base + 6))
pf="$work/postfix"
pids=()
old_alternate=$(postconf -h alternate_config_directories 2>/dev/null || true)

cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  postfix -c "$pf" stop >/dev/null 2>&1 || true
  postconf -e "alternate_config_directories = $old_alternate" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

now() { date +%s.%N; }
wait_port() { for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; echo "nothing listens on port $1" >&2; return 1; }
wait_until() { for _ in $(seq 1 6000); do "$@" && return 0; sleep 0.05; done; echo "$*: timed out" >&2; return 1; }

# --- the message: SIZE bytes once smtp-source ends each line with CRLF ----------
msg="$work/message.txt"
{
  printf 'From: Bench App <app@example.org>\n'
  printf 'To: Someone <someone@example.net>\n'
  printf 'Subject: DKIM benchmark message\n'
  printf 'Date: %s\n' "$(date -R)"
  printf 'Message-ID: <bench.%s@example.org>\n' "$$"
  printf 'MIME-Version: 1.0\n'
  printf 'Content-Type: text/plain; charset=us-ascii\n'
  printf '\n'
} > "$msg"
text='The quick brown fox jumps over the lazy dog while the relay signs the mail.'
while [ $(( $(wc -c < "$msg") + $(wc -l < "$msg") + ${#text} + 2 )) -le "$size" ]; do printf '%s\n' "$text" >> "$msg"; done

# --- smtp-sink: one for the timed runs, one that dumps the samples -------------
mkdir -m 0777 "$work/dump"
# -c: running counters ("... mesg=N", CR-separated), to check that every message arrived
smtp-sink -u nobody -c "127.0.0.1:$sink_port" 1000 > "$work/sink-counts" & pids+=($!)
smtp-sink -u nobody -d "$work/dump/m." "127.0.0.1:$dump_port" 100 >/dev/null & pids+=($!)
wait_port "$sink_port"; wait_port "$dump_port"

# --- outpost: two instances, the same but for the keys -------------------------
outpost() { (cd "$outpost_dir" && node dist/cli.js "$@"); }
for name in unsigned dual; do
  dir="$work/outpost-$name"
  port=$([ "$name" = dual ] && echo "$dual_port" || echo "$unsigned_port")
  mkdir -p "$dir/dkim"
  printf 'example.org\n' > "$dir/domains"
  cat > "$dir/outpost.yaml" <<YAML
hostname: bench-$name.example.org
domains: domains
listen: [{ address: 127.0.0.1, port: $port, mode: mta }]
trustedNetworks: [127.0.0.0/8]
spoolDir: spool
limits: { maxConnections: 1000, maxConnectionsPerClient: 1000 }
log: { level: warn }
http: false
# Nothing answers DNS on 127.0.0.1:9: no mail leaves the machine; the DKIM key
# record check fails, so each algorithm's only key signs.
dns: { servers: ["127.0.0.1:9"] }
dkim: { keys: dkim }
delivery:
  routes: { example.net: "127.0.0.1:$sink_port", sample.example: "127.0.0.1:$dump_port" }
  concurrencyPerDomain: $outpost_concurrency
YAML
done
outpost dkim keygen example.org --algorithm rsa --config "$work/outpost-dual/outpost.yaml" > "$work/outpost-dual/keys.txt"
outpost dkim keygen example.org --algorithm ed25519 --config "$work/outpost-dual/outpost.yaml" >> "$work/outpost-dual/keys.txt"
(cd "$outpost_dir" && exec node dist/cli.js serve --config "$work/outpost-unsigned/outpost.yaml") & pids+=($!)
# shellcheck disable=SC2086 # BENCH_NODE_ARGS is a list of options
(cd "$outpost_dir" && exec node ${BENCH_NODE_ARGS:-} dist/cli.js serve --config "$work/outpost-dual/outpost.yaml") & pids+=($!)
wait_port "$unsigned_port"; wait_port "$dual_port"

# --- opendkim: a signer on loopback with its own config ------------------------
od="$work/opendkim"
mkdir -p "$od"
opendkim-genkey -b 2048 -d example.org -s bench -D "$od"
chown -R opendkim:opendkim "$od"
chmod 0700 "$od"; chmod 0600 "$od/bench.private"
cat > "$od/opendkim.conf" <<CONF
Syslog                  no
UserID                  opendkim
Mode                    s
Socket                  inet:$opendkim_port@127.0.0.1
Domain                  example.org
Selector                bench
KeyFile                 $od/bench.private
InternalHosts           127.0.0.0/8
Canonicalization        relaxed/relaxed
SignatureAlgorithm      rsa-sha256
CONF
opendkim -f -x "$od/opendkim.conf" & pids+=($!)
wait_port "$opendkim_port"

# --- Postfix: a private instance, relayhost smtp-sink, two smtpd ports ---------
mkdir -p "$pf/queue" "$pf/data"
cp /etc/postfix/master.cf "$pf/master.cf"
sed -i "s/^smtp      inet/127.0.0.1:$pf_dkim_port inet/" "$pf/master.cf"
printf '127.0.0.1:%s inet n - y - - smtpd -o smtpd_milters=\n' "$pf_plain_port" >> "$pf/master.cf"
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
relayhost = [127.0.0.1]:$sink_port
transport_maps = inline:{ { sample.example = smtp:[127.0.0.1]:$dump_port } }
smtpd_milters = inet:127.0.0.1:$opendkim_port
non_smtpd_milters = \$smtpd_milters
milter_default_action = tempfail
default_destination_concurrency_limit = 20
default_process_limit = 200
smtpd_client_connection_count_limit = 0
smtpd_client_message_rate_limit = 0
maillog_file_prefixes = $work
maillog_file = $pf/maillog
syslog_name = postfix-dkim-bench
CF
chown -R postfix:postfix "$pf/data"
# Postfix only runs a non-default config folder that the default main.cf names.
postconf -e "alternate_config_directories = $pf"
postfix -c "$pf" start >/dev/null 2>&1 || { echo "postfix did not start:"; cat "$pf/maillog" 2>/dev/null; exit 1; }
wait_port "$pf_dkim_port"; wait_port "$pf_plain_port"

# --- the relays: port and queue-empty check (queue files, polled alike) --------
relays=(outpost-unsigned outpost-dual postfix-opendkim postfix-plain)
declare -A port=([outpost-unsigned]=$unsigned_port [outpost-dual]=$dual_port [postfix-opendkim]=$pf_dkim_port [postfix-plain]=$pf_plain_port)
queue_empty() {
  case "$1" in
    outpost-*) [ -z "$(find "$work/$1/spool/state" -name '*.json' 2>/dev/null | head -1)" ] ;;
    postfix-*) [ -z "$(find "$pf/queue/incoming" "$pf/queue/active" "$pf/queue/deferred" "$pf/queue/maildrop" "$pf/queue/hold" -type f 2>/dev/null | head -1)" ] ;;
  esac
}
send() { # relay, count, recipient
  smtp-source -s "$sessions" -m "$2" -F "$msg" -f app@example.org -t "$3" "127.0.0.1:${port[$1]}" >/dev/null && return 0
  echo "smtp-source into $1 failed; Postfix's log ends:" >&2; grep -E "warning|error|fatal" "$pf/maillog" | tail -5 >&2; return 1
}

# --- evidence: DKIM-Signature fields of 5 sample messages per relay ------------
records="$work/records.txt" # "name value" per key, for the verification below
awk '/^  name:/ { n = $2 } /^  value:/ { sub(/^  value: /, ""); print n, $0 }' "$work/outpost-dual/keys.txt" > "$records"
printf 'bench._domainkey.example.org %s\n' "$(grep -o '"[^"]*"' "$od/bench.txt" | tr -d '"\n')" >> "$records"
verify_py='
import sys, dkim
keys = dict(line.rstrip("\n").split(" ", 1) for line in open(sys.argv[1]))
def dns(name, timeout=5):
    name = name.decode() if isinstance(name, bytes) else name
    return keys.get(name.rstrip(".").lower(), "").encode()
bad = 0
for path in sys.argv[2:]:
    data = open(path, "rb").read().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    d = dkim.DKIM(data)
    count = len([h for h in d.headers if h[0].lower() == b"dkim-signature"])
    bad += sum(1 for i in range(count) if not d.verify(idx=i, dnsfunc=dns))
print("all verify" if bad == 0 else "%d signatures FAIL" % bad)
'
dumped() { [ "$(find "$work/dump" -name 'm.*' | wc -l)" -ge "$1" ]; }
echo "DKIM-Signature fields per sample message (5 each):"
for relay in "${relays[@]}"; do
  rm -f "$work/dump/"m.*
  send "$relay" 5 someone@sample.example
  wait_until queue_empty "$relay"
  wait_until dumped 5
  sleep 0.3 # smtp-sink closes the files after its reply
  counts=$(for f in "$work/dump/"m.*; do grep -ci '^DKIM-Signature:' "$f" || true; done | sort | uniq -c | awk '{ printf "%s%s msgs x %s", sep, $1, $2; sep = ", " }')
  algorithms=$( (grep -ho ' a=[a-z0-9]*-sha256;' "$work/dump/"m.* || true) | tr -d ' ;' | sort | uniq -c | awk '{ printf "%s%s %s", sep, $1, $2; sep = ", " }')
  verified=""
  if [ -n "$algorithms" ] && /usr/bin/python3 -c 'import dkim' 2>/dev/null; then
    verified="; dkimpy: $(/usr/bin/python3 -c "$verify_py" "$records" "$work/dump/"m.*)"
  fi
  printf '  %-17s %s%s%s\n' "$relay" "$counts" "${algorithms:+ ($algorithms)}" "$verified"
done

# --- the timed runs ----------------------------------------------------------
declare -A rates
sunk() { tr '\r' '\n' < "$work/sink-counts" | grep -o 'mesg=[0-9]*' | tail -1 | cut -d= -f2; }
missing=0
echo "warm-up: 200 messages each"
for relay in "${relays[@]}"; do send "$relay" 200 someone@example.net; wait_until queue_empty "$relay"; done
echo "messages=$messages sessions=$sessions size=$(( $(wc -c < "$msg") + $(wc -l < "$msg") ))B runs=$runs outpost-concurrency=$outpost_concurrency"
echo "msg/s end to end (in brackets: until smtp-source's last 250)"
for run in $(seq 1 "$runs"); do
  line="run $run:"
  for relay in "${relays[@]}"; do
    before=$(sunk)
    t0=$(now)
    send "$relay" "$messages" someone@example.net
    t1=$(now)
    wait_until queue_empty "$relay"
    t2=$(now)
    rate=$(awk -v n="$messages" -v a="$t0" -v b="$t2" 'BEGIN { printf "%.0f", n / (b - a) }')
    accepted=$(awk -v n="$messages" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", n / (b - a) }')
    rates[$relay]="${rates[$relay]:-} $rate"
    got=$(( $(sunk) - ${before:-0} ))
    [ "$got" = "$messages" ] || { missing=1; accepted="$accepted; smtp-sink got $got"; }
    line="$line $relay $rate ($accepted),"
  done
  echo "${line%,}"
done

[ "$missing" = 0 ] && echo "smtp-sink received $messages messages in each run" || echo "WARNING: smtp-sink did not receive exactly $messages messages in some runs"
median() { tr ' ' '\n' | grep . | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
declare -A med
echo "median msg/s:"
for relay in "${relays[@]}"; do
  med[$relay]=$(echo "${rates[$relay]}" | median)
  printf '  %-17s %s   (runs:%s)\n' "$relay" "${med[$relay]}" "${rates[$relay]}"
done
awk -v dual="${med[outpost-dual]}" -v unsigned="${med[outpost-unsigned]}" -v odkim="${med[postfix-opendkim]}" -v plain="${med[postfix-plain]}" 'BEGIN {
  r1 = dual / odkim; r2 = dual / unsigned
  printf "outpost-dual / postfix-opendkim: %.2f (goal >= 2: %s)\n", r1, (r1 >= 2 ? "met" : "MISSED")
  printf "outpost-dual / outpost-unsigned: %.2f, a loss of %.0f%% (goal <= 20%%: %s)\n", r2, (1 - r2) * 100, (r2 >= 0.8 ? "met" : "MISSED")
  printf "postfix-opendkim / postfix-plain: %.2f (what OpenDKIM costs Postfix)\n", odkim / plain
  printf "outpost-unsigned / postfix-plain: %.2f\n", unsigned / plain
}'
