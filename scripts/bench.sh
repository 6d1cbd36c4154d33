#!/usr/bin/env bash
# npm run bench: time tcpflow-ts against the reference tcpflow on the shared benchmark
# inputs (bulk, many, rotated), in alternation on this machine, with
# ../shared/bench/run-bench.sh. Ratios (ours / tcpflow) for wall time and peak RSS
# are printed at the end; flow file contents are compared as well. Then:
#   - rotated-dir: the rotated set read as `-r DIR` (one directory, files ordered by their
#     first packets) against tcpflow given the 20 files as -r in order (alternating pairs,
#     medians, same files and md5s checked), by scripts/bench-rotated-dir.py;
#   - `-FX` on bulk.pcap against tcpflow -FX, with `cat` and Node's floors (one thread
#     reading and walking the records; two threads reading a half each) beside them
#     (alternating rounds, medians), by scripts/bench-fx.py (BENCH_FX_ROUNDS, default 9);
#   - a batch of 1,000 small captures (copies of the fixtures), one run each, against
#     tcpflow doing the same loop, with `node -e 0` as the floor (scripts/bench-batch.py;
#     BENCH_BATCH=N sets the count);
#   - the peak RSS of a generated 1 GB and 20 GB capture piped into `-r -`
#     (scripts/bench-rss.sh; ~15-20 min; BENCH_SKIP_RSS=1 leaves it out).
#
# usage: scripts/bench.sh [PCAPDIR] [extra run-bench.sh args, e.g. --pairs 3 --cases bulk]
#   PCAPDIR defaults to $TCPFLOW_TS_BENCH_DIR or ../bench-data; it is built with
#   ../shared/bench/make-bench-pcaps.sh when missing (about 3 GB, a few minutes).
#   BENCH_PAIRS: pairs for rotated-dir (default 3).
set -euo pipefail
NAME=bench
# shellcheck source=scripts/bench-setup.sh
source "$(dirname "$0")/bench-setup.sh"
[ $# -gt 0 ] && shift
need() { command -v "$1" >/dev/null || { echo "bench: needs $1 (apt-get install -y $2)" >&2; exit 1; }; }
need tcpflow tcpflow; need capinfos tshark; need tcpdump tcpdump; [ -x /usr/bin/time ] || need /usr/bin/time time
if [ ! -s "$PCAPDIR/MANIFEST" ]; then
  echo "bench: building benchmark captures in $PCAPDIR" >&2
  bash "$BENCH/make-bench-pcaps.sh" "$PCAPDIR"
fi
[ -f "$HERE/dist/cli/main.js" ] || (cd "$HERE" && npm run build)
rc=0
bash "$BENCH/run-bench.sh" "node $HERE/dist/cli/main.js" "$PCAPDIR" "$@" || rc=$?
python3 "$HERE/scripts/bench-rotated-dir.py" "$BENCH" "node $HERE/dist/cli/main.js" "$PCAPDIR" "${BENCH_PAIRS:-3}" || rc=$?
python3 "$HERE/scripts/bench-fx.py" "node $HERE/dist/cli/main.js" "$PCAPDIR/bulk.pcap" "${BENCH_FX_ROUNDS:-9}" || rc=$?
python3 "$HERE/scripts/bench-batch.py" "node $HERE/dist/cli/main.js" "${BENCH_BATCH:-1000}" || rc=$?
[ "${BENCH_SKIP_RSS:-0}" = 1 ] || bash "$HERE/scripts/bench-rss.sh" || rc=$?
exit $rc
