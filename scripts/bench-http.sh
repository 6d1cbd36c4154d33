#!/usr/bin/env bash
# npm run bench:http: time `tcpflow-ts -e http` against `tcpflow -e http` on an HTTP-heavy
# capture, in alternating pairs (../shared/bench/run-bench.sh, which also checks that both
# wrote the same files: flows and -HTTPBODY- bodies, md5 for md5).
#
# usage: scripts/bench-http.sh [PCAPDIR] [extra run-bench.sh args, e.g. --pairs 5]
#   PCAPDIR defaults to $TCPFLOW_TS_BENCH_DIR or ../bench-data. The capture is
#   PCAPDIR/http-many-60k.pcap (308 MB: 62,000 keep-alive-less GET/200 exchanges), made
#   when missing with: ../shared/bench/gen-bench.py many PCAPDIR/http-many-60k.pcap --flows 62000
set -euo pipefail
NAME=bench-http
# shellcheck source=scripts/bench-setup.sh
source "$(dirname "$0")/bench-setup.sh"
[ $# -gt 0 ] && shift
CAP=$PCAPDIR/http-many-60k.pcap
if [ ! -s "$CAP" ]; then
  echo "bench-http: generating $CAP" >&2
  python3 "$BENCH/gen-bench.py" many "$CAP" --flows 62000
fi
# run-bench.sh reads its "many" case from DIR/many.pcap.
DIR=$(mktemp -d "${TMPDIR:-/tmp}/bench-http.XXXXXX")
trap 'rm -rf "$DIR"' EXIT
ln -s "$(cd "$(dirname "$CAP")" && pwd)/$(basename "$CAP")" "$DIR/many.pcap"
mkdir "$DIR/rotated" # (the library lists it even when that case is not run)
[ -f "$HERE/dist/cli/main.js" ] || (cd "$HERE" && npx tsc -p tsconfig.json)
bash "$BENCH/run-bench.sh" "node $HERE/dist/cli/main.js" "$DIR" --cases many --flags "-e http" "$@"
