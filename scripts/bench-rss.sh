#!/usr/bin/env bash
# Peak memory over a long capture: a generated pcap (scripts/gen-stream.ts, made on the fly
# and piped into `-r -`, never stored) of each SIZE in bytes, read with -S tcp_timeout=5
# (every tenth connection is abandoned without FIN: only the idle timeout closes it) and
# -b 0 (every flow file created, empty: the disk is not the subject). Prints, per size:
# wall time, peak RSS of tcpflow-ts (/usr/bin/time -v) and flows (report.xml).
# The claim checked: peak RSS does not grow with the input (20 GB peaks no higher than 1 GB).
#
# usage: scripts/bench-rss.sh [SIZE...]   (default: 1000000000 20000000000)
#   BENCH_RSS_DIR: where the output directory goes (default /tmp/tcpflow-ts-bench-rss;
#   about 60,000 empty files per 20 GB); extra options in BENCH_RSS_OPTS.
set -euo pipefail
HERE=$(cd "$(dirname "$0")/.." && pwd)
DIR=${BENCH_RSS_DIR:-/tmp/tcpflow-ts-bench-rss}
[ -x /usr/bin/time ] || { echo "bench-rss: needs /usr/bin/time (apt-get install -y time)" >&2; exit 1; }
[ -f "$HERE/dist/cli/main.js" ] && [ -f "$HERE/dist/scripts/gen-stream.js" ] || (cd "$HERE" && npx tsc -p tsconfig.json)
mkdir -p "$DIR"
printf '%-14s %10s %14s %10s\n' 'input bytes' 'wall s' 'peak RSS MB' 'flows'
for size in "${@:-1000000000 20000000000}"; do
  for s in $size; do
    out=$DIR/out
    rm -rf "$out"
    node "$HERE/dist/scripts/gen-stream.js" "$s" |
      /usr/bin/time -v -o "$DIR/time.txt" node "$HERE/dist/cli/main.js" -q -r - -o "$out" -b 0 -Fk \
        -S tcp_timeout=5 ${BENCH_RSS_OPTS:-} 2>"$DIR/stderr.txt" ||
      { echo "bench-rss: run failed ($s bytes):" >&2; tail -5 "$DIR/stderr.txt" >&2; exit 1; }
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, t, ":"); v = 0; for (i = 1; i <= n; i++) v = v * 60 + t[i]; print v }' "$DIR/time.txt")
    rss=$(awk -F': ' '/Maximum resident set size/ { printf "%.0f", $2 / 1024 }' "$DIR/time.txt")
    flows=$(grep -o '<total_flows>[0-9]*' "$out/report.xml" | sed 's/.*>//')
    printf '%-14s %10s %14s %10s\n' "$s" "$wall" "$rss" "$flows"
    rm -rf "$out"
  done
done
