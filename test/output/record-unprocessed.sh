#!/usr/bin/env bash
# Record which input records tcpflow 1.6.1 writes with -w, for every capture of
# fixtures/corpus/pcaps, as 1-based record numbers (test/output/unprocessed.test.ts).
# Needs tcpflow (Debian's 1.6.1), tshark, editcap and node on PATH.
# usage: test/output/record-unprocessed.sh   (writes test/output/unprocessed-records.json)
#
# tcpflow aborts on inputs that are not little-endian microsecond pcaps (spec B13); those are
# first converted with tshark -F pcap (same records, times cut to microseconds). A pcapng
# whose interfaces differ in link type cannot be one pcap (libpcap refuses it too, spec B32):
# each interface's records are converted and run on their own. A file in which tshark finds
# no capture is recorded as null.
set -euo pipefail
cd "$(dirname "$0")/../.."
for tool in tcpflow tshark editcap node; do
  command -v "$tool" >/dev/null || { echo "record-unprocessed: needs $tool" >&2; exit 1; }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
out=test/output/unprocessed-records.json
version=$(tcpflow -V 2>&1 || true)

# Record numbers of the records of `wfile` in `part`, mapped through `numbers` (the input's
# record number of each record of `part`): the records of a -w file are input records, in order.
match() {
  node - "$@" <<'JS'
const fs = require('fs');
const [part, wfile, numbersFile] = process.argv.slice(2);
const records = (file) => {
  const d = fs.readFileSync(file);
  if (d.length < 24) return [];
  if (d.readUInt32LE(0) !== 0xa1b2c3d4) throw new Error(`${file}: not a little-endian microsecond pcap`);
  const recs = [];
  for (let off = 24; off + 16 <= d.length;) {
    const caplen = d.readUInt32LE(off + 8);
    if (off + 16 + caplen > d.length) break; // the cut last record of a cut file
    recs.push(d.subarray(off, off + 16 + caplen));
    off += 16 + caplen;
  }
  return recs;
};
const numbers = fs.readFileSync(numbersFile, 'utf8').split('\n').filter(Boolean).map(Number);
const all = records(part);
if (all.length !== numbers.length) throw new Error(`${part}: ${all.length} records, ${numbers.length} numbers`);
const found = [];
let j = 0;
for (const r of records(wfile)) {
  while (j < all.length && !all[j].equals(r)) j++;
  if (j === all.length) throw new Error(`${wfile}: a record that is not one of ${part}'s, in order`);
  found.push(numbers[j++]);
}
console.log(found.join(' '));
JS
}

{
  echo "{"
  echo "  \"tool\": \"$version\","
  echo "  \"command\": \"tcpflow -r in -o OUT -w w.pcap (in: the capture, or its tshark -F pcap conversion, one per interface when the link types differ)\","
  echo "  \"captures\": {"
  first=1
  for f in fixtures/corpus/pcaps/*; do
    cap=$(basename "$f")
    w=$tmp/work
    rm -rf "$w"
    mkdir "$w"
    # A cut file still gives its whole records (and exit status 2).
    if ! tshark -r "$f" -T fields -e frame.number >"$w/numbers" 2>/dev/null && [ ! -s "$w/numbers" ]; then
      list=null
    else
      parts=()
      if [ "$(head -c4 "$f" | od -An -tx1 | tr -d ' ')" = d4c3b2a1 ]; then
        cp "$f" "$w/whole.pcap"
      elif ! tshark -r "$f" -F pcap -w "$w/whole.pcap" 2>/dev/null; then
        # tshark keeps every interface description in a filtered pcapng, so its encapsulation
        # stays "per packet": editcap -T names the one its records have.
        while read -r i encap; do
          case $encap in
            1) name=ether ;;
            15) name=null ;;
            *) echo "record-unprocessed: $cap: wiretap encapsulation $encap has no editcap name here" >&2; exit 1 ;;
          esac
          tshark -r "$f" -Y "frame.interface_id == $i" -w "$w/if$i.pcapng" 2>/dev/null
          editcap -F pcap -T "$name" "$w/if$i.pcapng" "$w/if$i.pcap"
          tshark -r "$f" -Y "frame.interface_id == $i" -T fields -e frame.number >"$w/if$i.numbers" 2>/dev/null
          parts+=("if$i")
        done < <(tshark -r "$f" -T fields -e frame.interface_id -e frame.encap_type 2>/dev/null | sort -un)
      fi
      if [ ${#parts[@]} = 0 ]; then
        cp "$w/numbers" "$w/whole.numbers"
        parts=(whole)
      fi
      found=()
      for p in "${parts[@]}"; do
        rm -rf "$w/OUT" "$w/w.pcap"
        (cd "$w" && tcpflow -r "$p.pcap" -o OUT -w w.pcap >/dev/null 2>&1) || true
        [ -s "$w/w.pcap" ] || { echo "record-unprocessed: $cap ($p): tcpflow wrote no -w file" >&2; exit 1; }
        m=$(match "$w/$p.pcap" "$w/w.pcap" "$w/$p.numbers")
        read -r -a nums <<<"$m"
        found+=(${nums[@]+"${nums[@]}"})
      done
      list="[$(printf '%s\n' ${found[@]+"${found[@]}"} | sort -n | paste -sd, -)]"
    fi
    [ $first = 1 ] || echo ","
    first=0
    printf '    %s: %s' "$(node -e 'console.log(JSON.stringify(process.argv[1]))' "$cap")" "$list"
  done
  echo
  echo "  }"
  echo "}"
} >"$tmp/out.json"
node -e 'JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))' "$tmp/out.json"
cp "$tmp/out.json" "$out"
echo "record-unprocessed: wrote $out" >&2
