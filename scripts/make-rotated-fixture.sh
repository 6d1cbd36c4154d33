#!/usr/bin/env bash
# Rebuilds fixtures/rotated/: tcpflow__jpegs.cap (fixtures/corpus/pcaps, 483 packets, 18
# connections) cut into 13 pieces of 40 packets with editcap, named like `tcpdump -C`
# (jpegs.pcap, jpegs.pcap1 ... jpegs.pcap12, so name order is not time order), some of
# them compressed in place, with and without a suffix (the format is told by magic bytes):
#   jpegs.pcap3.xz (xz), jpegs.pcap5.bz2 (bzip2), jpegs.pcap7 (zstd, no suffix),
#   jpegs.pcap11 (pcapng). The tests add gzip pieces themselves (node:zlib).
# Needs editcap (wireshark-common), xz, bzip2, zstd. usage: scripts/make-rotated-fixture.sh
set -euo pipefail
HERE=$(cd "$(dirname "$0")/.." && pwd)
OUT=$HERE/fixtures/rotated
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
editcap -c 40 -F pcap "$HERE/fixtures/corpus/pcaps/tcpflow__jpegs.cap" "$TMP/piece.pcap"
rm -rf "$OUT" && mkdir -p "$OUT"
i=0
for f in $(ls "$TMP"/piece_*.pcap | sort); do
  name=jpegs.pcap; [ $i -gt 0 ] && name=jpegs.pcap$i
  cp "$f" "$OUT/$name"
  i=$((i + 1))
done
xz -9 "$OUT/jpegs.pcap3"                                   # -> jpegs.pcap3.xz
bzip2 -9 "$OUT/jpegs.pcap5"                                # -> jpegs.pcap5.bz2
zstd -q -19 --rm "$OUT/jpegs.pcap7" -o "$OUT/jpegs.pcap7.zst" && mv "$OUT/jpegs.pcap7.zst" "$OUT/jpegs.pcap7"
editcap -F pcapng "$OUT/jpegs.pcap11" "$OUT/ng" && mv "$OUT/ng" "$OUT/jpegs.pcap11"
cat > "$OUT/ORIGIN.md" <<'NOTE'
tcpflow__jpegs.cap (fixtures/corpus/pcaps; origin and licence in fixtures/corpus/ORIGIN.md)
cut into 13 pieces of 40 packets by scripts/make-rotated-fixture.sh (editcap -c 40), named
like tcpdump -C names its files; jpegs.pcap3.xz, jpegs.pcap5.bz2 and jpegs.pcap7 (zstd, no
suffix) are compressed, jpegs.pcap11 is pcapng. Read together in time order they are the
whole capture.
NOTE
ls -la "$OUT"
