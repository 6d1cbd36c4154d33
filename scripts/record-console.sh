#!/usr/bin/env bash
# Record the reference tcpflow's console output for the console-mode tests
# (test/output/console.test.ts). Needs tcpflow (Debian's 1.6.1) on PATH.
# usage: scripts/record-console.sh   (writes fixtures/console/*.out and COMMANDS.md)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=fixtures/console
mkdir -p "$OUT"
CAPS="tcpflow__test1.pcap tcpflow__test-gzip.pcap tcpdump__ssh.pcap pcapplusplus__Ftp.pcap tcpreplay__test.pcap tcpflow__test2.pcap pcapplusplus__one_ipv6_http_stream.pcap"
# mode name|tcpflow flags
MODES="c|-c
C|-C
cD|-c -D
CD|-C -D
cg|-c -g
cs|-c -s
cB|-c -B
c0|-c -0
cb100|-c -b 100"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
{
  echo "# Console output of the reference tcpflow"
  echo
  echo "Recorded by \`scripts/record-console.sh\` with \`$(tcpflow -V 2>&1 || true)\` (Debian's tcpflow package)."
  echo "Each \`<capture>.<mode>.out\` is the standard output of the command below, run in a fresh"
  echo "directory with the capture copied to \`in.pcap\` and \`-o OUT\`, so names start with \`OUT/\`."
  echo
} > "$OUT/COMMANDS.md"
while IFS='|' read -r mode flags; do
  echo "- \`$mode\`: \`tcpflow $flags -r in.pcap -o OUT\`" >> "$OUT/COMMANDS.md"
done <<< "$MODES"
for cap in $CAPS; do
  cp "fixtures/corpus/pcaps/$cap" "$tmp/in.pcap" 2>/dev/null || cp "../shared/corpus/pcaps/$cap" "$tmp/in.pcap"
  while IFS='|' read -r mode flags; do
    rm -rf "$tmp/OUT"
    # shellcheck disable=SC2086
    (cd "$tmp" && tcpflow $flags -r in.pcap -o OUT > out.txt 2>/dev/null)
    cp "$tmp/out.txt" "$OUT/$cap.$mode.out"
  done <<< "$MODES"
done
echo "recorded $(ls "$OUT"/*.out | wc -l) outputs in $OUT"
