#!/usr/bin/env bash
# Record what the reference tcpflow writes with -w and -K for every capture in
# fixtures/corpus/pcaps, as md5 sums (test/output/unprocessed.test.ts, flow-pcaps.test.ts).
# Needs tcpflow (Debian's 1.6.1) on PATH.
# usage: scripts/record-pcap-outputs.sh   (writes fixtures/pcap-outputs/tcpflow.json)
#
# -w: tcpflow aborts (SIGABRT) on inputs that are not little-endian microsecond pcaps
# (spec B13), leaving an empty file; those captures are recorded as "aborted".
# -K: tcpflow writes link type 6 for Ethernet (spec B12); the recorded md5 is that of the
# file with its header's link type field set back to the input's, i.e. what tcpflow
# writes with B12 fixed. Everything else is tcpflow's bytes.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
out=fixtures/pcap-outputs/tcpflow.json
version=$(tcpflow -V 2>&1 || true)
{
  echo "{"
  echo "  \"tool\": \"$version\","
  echo "  \"commands\": {\"w\": \"tcpflow -r in -o OUT -w w.pcap\", \"K\": \"tcpflow -r in -o OUT -K\"},"
  echo "  \"captures\": {"
  first=1
  for f in fixtures/corpus/pcaps/*; do
    cap=$(basename "$f")
    rm -rf "$tmp/OUT" "$tmp/K" "$tmp/w.pcap"
    # A truncated input ends with exit 1 but a complete -w file; an abort leaves it empty.
    (cd "$tmp" && tcpflow -r "$OLDPWD/$f" -o OUT -w w.pcap >/dev/null 2>&1) || true
    if [ "$(stat -c %s "$tmp/w.pcap" 2>/dev/null || echo 0)" -ge 24 ]; then
      w="\"$(md5sum < "$tmp/w.pcap" | cut -c1-32)\""
    else
      w='"aborted"'
    fi
    if (cd "$tmp" && tcpflow -r "$OLDPWD/$f" -o K -K >/dev/null 2>&1); then
      # md5 of each file with the header's link type set to the input's (pcap header
      # bytes 20-23 in either byte order, FCS bits off): what tcpflow writes with B12 fixed.
      kfiles=$(python3 - "$f" "$tmp/K" <<'PY'
import glob, hashlib, json, os, struct, sys
d = open(sys.argv[1], 'rb').read()
if d[:4] == bytes.fromhex('0a0d0d0a'):  # pcapng: the first interface description block
    e = '<' if d[8:12] == bytes.fromhex('4d3c2b1a') else '>'
    pos = 0
    while struct.unpack(e + 'I', d[pos:pos + 4])[0] != 1:
        pos += struct.unpack(e + 'I', d[pos + 4:pos + 8])[0]
    lt = struct.unpack(e + 'H', d[pos + 8:pos + 10])[0]
else:
    le = d[:4] in (bytes.fromhex('d4c3b2a1'), bytes.fromhex('4d3cb2a1'))
    lt = struct.unpack('<I' if le else '>I', d[20:24])[0] & 0x03ffffff
out = []
for p in sorted(glob.glob(os.path.join(sys.argv[2], '*.pcap'))):
    b = bytearray(open(p, 'rb').read())
    b[20:24] = struct.pack('<I', lt)
    out.append('%s: %s' % (json.dumps(os.path.basename(p)), json.dumps(hashlib.md5(b).hexdigest())))
print(', '.join(out))
PY
)
      k="{$kfiles}"
    else
      k='"failed"'
    fi
    [ $first = 1 ] || echo ","
    first=0
    printf '    "%s": {"w": %s, "K": %s}' "$cap" "$w" "$k"
  done
  echo
  echo "  }"
  echo "}"
} > "$out"
echo "wrote $out"
