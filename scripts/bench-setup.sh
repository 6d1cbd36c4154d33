# Sourced by the benchmark scripts (scripts/bench.sh, scripts/bench-http.sh), with NAME set to
# the script's name for messages: leaves NODE_EXTRA_CA_CERTS unset and sets HERE (the
# checkout), SHARED and BENCH (../shared/bench, or $TCPFLOW_TS_SHARED/bench) and PCAPDIR
# (the script's first argument, else $TCPFLOW_TS_BENCH_DIR, else ../bench-data).

# NODE_EXTRA_CA_CERTS makes every Node start load that certificate store first (~35-50 ms
# of CPU and wall before any of our code runs; README, Start-up): not ours to time.
if [ -n "${NODE_EXTRA_CA_CERTS:-}" ]; then
  echo "$NAME: NODE_EXTRA_CA_CERTS unset for these runs (it adds ~40 ms to every Node start)" >&2
  unset NODE_EXTRA_CA_CERTS
fi
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SHARED=${TCPFLOW_TS_SHARED:-$HERE/../shared}
BENCH=$SHARED/bench
[ -d "$BENCH" ] || { echo "$NAME: $BENCH not found (set TCPFLOW_TS_SHARED)" >&2; exit 1; }
PCAPDIR=${1:-${TCPFLOW_TS_BENCH_DIR:-$HERE/../bench-data}}
