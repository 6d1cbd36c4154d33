#!/usr/bin/env bash
# Live capture throughput, tcpflow-ts -i (2 workers) against tcpflow -i, in alternation:
# a network namespace joined to the host by a veth pair; each tool listens on the
# namespace's end while tcpreplay --topspeed sends the first LIMIT packets of CAPTURE
# into the host's end, then SIGINT. What reached the flow files is compared with a -r run
# of the same packets: the share of flow bytes captured, packets/s offered (tcpreplay's
# rate) and packets/s captured (offered rate x share), and tcpflow-ts's kernel drop count.
#
# usage (as root): scripts/bench-live.sh [CAPTURE] [LIMIT] [PAIRS]
#   CAPTURE defaults to ../bench-data/bulk.pcap (Ethernet, frames within 1514 bytes),
#   LIMIT to 300000 packets, PAIRS to 3. Needs ip(8), tcpreplay, editcap, tcpflow.
set -euo pipefail
HERE=$(cd "$(dirname "$0")/.." && pwd)
CAPTURE=${1:-$HERE/../bench-data/bulk.pcap}
LIMIT=${2:-300000}
PAIRS=${3:-3}
[ "$(id -u)" = 0 ] || { echo "bench-live: needs root (network namespaces)" >&2; exit 1; }
for t in ip tcpreplay editcap tcpflow; do command -v $t >/dev/null || { echo "bench-live: needs $t" >&2; exit 1; }; done
[ -f "$HERE/dist/cli/main.js" ] || (cd "$HERE" && npx tsc -p tsconfig.json)

# shellcheck source=netns-veth.sh
. "$HERE/scripts/netns-veth.sh"
netns_veth tfbench

editcap -r "$CAPTURE" "$WORK/in.pcap" "1-$LIMIT"
node "$HERE/dist/cli/main.js" -r "$WORK/in.pcap" -o "$WORK/ref" --workers 2 2>/dev/null
flow_bytes() { find "$1" -type f ! -name 'report.xml*' -printf '%s\n' | awk '{s+=$1} END {print s+0}'; }
REF=$(flow_bytes "$WORK/ref")
echo "capture: $CAPTURE, first $LIMIT packets, $REF flow bytes in a -r run"
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"

# run NAME COMMAND...: capture in the namespace while replaying; prints one result line.
run() {
  local name=$1; shift
  local out="$WORK/$name"
  rm -rf "$out"; mkdir -p "$out"
  ip netns exec "$NS" "$@" -i "$NS_IF" -o "$out" >/dev/null 2>"$out.err" &
  local pid=$!
  for _ in $(seq 100); do grep -q "listening on" "$out.err" 2>/dev/null && break; sleep 0.1; done
  sleep 0.5 # tcpflow says nothing when it starts: give it the same head start
  local rate
  rate=$(tcpreplay --topspeed -i "$HOST_IF" "$WORK/in.pcap" 2>&1 | awk '/Rated:/ {for (i=1;i<=NF;i++) if ($i ~ /pps/) print $(i-1)}' | head -1)
  sleep 1
  kill -INT $pid
  wait $pid || true
  local got drops
  got=$(flow_bytes "$out")
  drops=$(grep -o 'kernel_dropped="[0-9]*"' "$out/report.xml" 2>/dev/null | grep -o '[0-9]*' || echo '?')
  awk -v n="$name" -v r="$rate" -v g="$got" -v ref="$REF" -v d="$drops" 'BEGIN {
    share = ref > 0 ? g / ref : 0
    printf "%-11s offered %9.0f pps  flow bytes %6.2f%%  captured %9.0f pps  kernel drops %s\n", n, r, 100 * share, r * share, d }'
  echo "$name $rate $got" >> "$WORK/results"
}

for i in $(seq "$PAIRS"); do
  run tcpflow-ts node "$HERE/dist/cli/main.js" --workers 2
  run tcpflow tcpflow
done
awk -v ref="$REF" '{ c[$1] += $2 * $3 / ref; n[$1]++ } END {
  a = c["tcpflow-ts"] / n["tcpflow-ts"]; b = c["tcpflow"] / n["tcpflow"]
  printf "mean captured pps: tcpflow-ts %.0f, tcpflow %.0f, ratio %.2f\n", a, b, (b > 0 ? a / b : 0) }' "$WORK/results"
