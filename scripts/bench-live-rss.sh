#!/usr/bin/env bash
# Live capture memory under backpressure: tcpflow-ts -i (2 workers made slower than the link
# with TCPFLOW_TS_FAULT=worker-slow:MS, every chunk costs each worker MS more) listens in a
# network namespace while tcpreplay --topspeed sends the first N packets of CAPTURE into a
# veth pair, for growing N. The coordinator must drop (backlog_dropped in the report) rather
# than grow: peak RSS (VmHWM, every thread) should not depend on N.
#
# usage (as root): scripts/bench-live-rss.sh [CAPTURE] [SLOW_MS] [N...]
#   CAPTURE defaults to ../bench-data/bulk.pcap, SLOW_MS to 300, N to 100000 300000 1000000
#   5000000. Past 1,000,000 packets the first 1,000,000 are sent N/1,000,000 times (--loop).
#   Needs ip(8), tcpreplay, editcap.
set -euo pipefail
HERE=$(cd "$(dirname "$0")/.." && pwd)
CAPTURE=${1:-$HERE/../bench-data/bulk.pcap}
SLOW=${2:-300}
shift $(( $# > 2 ? 2 : $# ))
SIZES=("$@")
[ ${#SIZES[@]} -gt 0 ] || SIZES=(100000 300000 1000000 5000000)
[ "$(id -u)" = 0 ] || { echo "bench-live-rss: needs root (network namespaces)" >&2; exit 1; }
for t in ip tcpreplay editcap; do command -v $t >/dev/null || { echo "bench-live-rss: needs $t" >&2; exit 1; }; done
[ -f "$HERE/dist/cli/main.js" ] || (cd "$HERE" && npx tsc -p tsconfig.json)

# shellcheck source=netns-veth.sh
. "$HERE/scripts/netns-veth.sh"
netns_veth tfrss

echo "capture: $CAPTURE; workers slowed by ${SLOW} ms per chunk (TCPFLOW_TS_FAULT=worker-slow:$SLOW)"
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
kb() { awk -v k="$1" '$1 == k":" {print $2}' "/proc/$2/status" 2>/dev/null || echo 0; }
printf '%9s %10s %10s %10s %10s %12s %12s %10s\n' packets offered_pps captured backlog_drop kernel_drop peak_rss_MB rss_at_end_MB seconds
for n in "${SIZES[@]}"; do
  loop=$(( n > 1000000 ? n / 1000000 : 1 ))
  editcap -r "$CAPTURE" "$WORK/in.pcap" "1-$(( n / loop ))"
  out="$WORK/out$n"
  rm -rf "$out"
  TCPFLOW_TS_FAULT=worker-slow:$SLOW ip netns exec "$NS" node "$HERE/dist/cli/main.js" --workers 2 -FX -i "$NS_IF" -o "$out" >/dev/null 2>"$WORK/err" &
  pid=$!
  for _ in $(seq 100); do grep -q "listening on" "$WORK/err" 2>/dev/null && break; sleep 0.1; done
  start=$(date +%s.%N)
  rate=$(tcpreplay --topspeed --loop="$loop" -i "$HOST_IF" "$WORK/in.pcap" 2>&1 | awk '/Rated:/ {for (i=1;i<=NF;i++) if ($i ~ /pps/) print $(i-1)}' | head -1)
  end=$(date +%s.%N)
  sleep 1
  hwm=$(kb VmHWM $pid); rss=$(kb VmRSS $pid)
  kill -INT $pid
  wait $pid || true
  r="$out/report.xml"
  get() { grep -o "$1=\"[0-9]*\"" "$r" | grep -o '[0-9]*' || echo '?'; }
  printf '%9d %10.0f %10s %10s %10s %12.1f %12.1f %10.1f\n' "$n" "$rate" "$(get captured)" "$(get backlog_dropped)" "$(get kernel_dropped)" \
    "$(echo "$hwm / 1024" | bc -l)" "$(echo "$rss / 1024" | bc -l)" "$(echo "$end - $start" | bc -l)"
  rm -f "$WORK/in.pcap"
done
