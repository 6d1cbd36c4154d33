#!/usr/bin/env bash
# npm run bench:flows: COUNT concurrent half-open flows (one SYN each, default 1,000,000),
# read once with the default open-flow cap (-S max_flows) and once with a cap above COUNT.
# Prints, for each run: wall time, peak RSS (/usr/bin/time -v) and the flows closed by
# the cap (<flows_purged> in report.xml), plus the flows still open at the end.
#
# usage: [BENCH_FLOWS_CAPS="default 100000 ..."] scripts/bench-flows.sh [COUNT] [extra
#        tcpflow-ts options, e.g. --workers 1]
#   BENCH_FLOWS_CAPS lists the caps to run ("default" = no -S max_flows; the default list is
#   "default" and 2 × COUNT).
#   The capture (~70 MB per million) is generated once in $BENCH_FLOWS_DIR (default
#   /tmp/tcpflow-ts-bench-flows); the output directory, with its report.xml (~0.5 KB per
#   flow), goes there too and is removed after each run.
set -euo pipefail
HERE=$(cd "$(dirname "$0")/.." && pwd)
COUNT=${1:-1000000}
[ $# -gt 0 ] && shift
DIR=${BENCH_FLOWS_DIR:-/tmp/tcpflow-ts-bench-flows}
[ -x /usr/bin/time ] || { echo "bench-flows: needs /usr/bin/time (apt-get install -y time)" >&2; exit 1; }
[ -f "$HERE/dist/cli/main.js" ] && [ -f "$HERE/dist/scripts/gen-flows.js" ] || (cd "$HERE" && npx tsc -p tsconfig.json)
mkdir -p "$DIR"
PCAP=$DIR/half-open-$COUNT.pcap
if [ ! -s "$PCAP" ]; then
  echo "bench-flows: generating $PCAP" >&2
  node "$HERE/dist/scripts/gen-flows.js" half-open "$COUNT" "$PCAP.tmp" && mv "$PCAP.tmp" "$PCAP"
fi
DEFAULT=$(node -e "console.log(require('$HERE/dist/src/flow/buckets.js').DEFAULT_MAX_FLOWS)")
echo "input: $PCAP ($(stat -c %s "$PCAP") bytes, $COUNT half-open flows); options: ${*:-(none)}"
printf '%-28s %10s %14s %14s %14s\n' cap 'wall s' 'peak RSS MB' 'flows purged' 'open at end'
run() { # LABEL [options...]
  local label=$1; shift
  local out=$DIR/out
  rm -rf "$out"
  /usr/bin/time -v -o "$DIR/time.txt" node "$HERE/dist/cli/main.js" -q -r "$PCAP" -o "$out" "$@" 2>"$DIR/stderr.txt" ||
    { echo "bench-flows: run failed ($label):" >&2; cat "$DIR/stderr.txt" >&2; exit 1; }
  local wall rss purged open
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, t, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + t[i]; print s }' "$DIR/time.txt")
  rss=$(awk -F': ' '/Maximum resident set size/ { printf "%.0f", $2 / 1024 }' "$DIR/time.txt")
  purged=$(grep -o '<flows_purged [^>]*>[0-9]*' "$out/report.xml" | sed 's/.*>//' || true)
  open=$(grep -o '<flow_map_size>[0-9]*' "$out/report.xml" | sed 's/.*>//')
  printf '%-28s %10s %14s %14s %14s\n' "$label" "$wall" "$rss" "${purged:-0}" "$open"
  rm -rf "$out"
}
for cap in ${BENCH_FLOWS_CAPS:-default $((COUNT * 2))}; do
  if [ "$cap" = default ]; then run "default ($DEFAULT)" "$@"; else run "max_flows=$cap" -S "max_flows=$cap" "$@"; fi
done
