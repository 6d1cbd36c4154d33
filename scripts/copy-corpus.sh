#!/usr/bin/env bash
# Copy the part of the shared conformance corpus the tests need into fixtures/corpus/, so
# that the tests run from a fresh clone without ../shared:
#   fixtures/corpus/expected/<case>.<mode>.json  oracle records of the selected modes
#   fixtures/corpus/pcaps/                        every capture those records read
#                                                 (capture, or the files of an input set)
#   fixtures/corpus/ORIGIN.md                     the corpus MANIFEST.md (origin and licence
#                                                 of every capture)
#
# usage: scripts/copy-corpus.sh [MODE...]
#   MODE defaults to every mode the CLI implements: default FM md5 http template findx b100 m1000
#   console multi continue (also: $CORPUS_MODES, space-separated); not filter (no filter
#   expressions yet).
#   The shared corpus is ../shared/corpus next to the repository, or $TCPFLOW_TS_CORPUS.
#   The selected modes replace what is in fixtures/corpus/ (stale files are removed), so
#   list every mode the tests need (test/helpers/corpus.ts, CORPUS_MODES).
set -euo pipefail
HERE=$(cd "$(dirname "$0")/.." && pwd)
SRC=${TCPFLOW_TS_CORPUS:-$HERE/../shared/corpus}
DEST=$HERE/fixtures/corpus
if [ $# -gt 0 ]; then MODES=("$@"); else read -r -a MODES <<<"${CORPUS_MODES:-default FM md5 http template findx b100 m1000 console multi continue}"; fi

[ -d "$SRC/expected" ] && [ -d "$SRC/pcaps" ] && [ -f "$SRC/MANIFEST.md" ] ||
  { echo "copy-corpus: no corpus at $SRC (set TCPFLOW_TS_CORPUS)" >&2; exit 1; }
command -v node >/dev/null || { echo "copy-corpus: needs node" >&2; exit 1; }

TMP=$(mktemp -d "$HERE/fixtures/.corpus.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
mkdir -p "$TMP/expected" "$TMP/pcaps"

# Pick the oracle files of the modes and list the captures they read (node: JSON parsing).
node - "$SRC/expected" "$TMP" "${MODES[@]}" <<'JS'
const fs = require('fs');
const path = require('path');
const [expDir, tmp, ...modes] = process.argv.slice(2);
const want = new Set(modes);
const pcaps = new Set();
const seen = new Map();
for (const name of fs.readdirSync(expDir).sort()) {
  if (!name.endsWith('.json')) continue;
  const j = JSON.parse(fs.readFileSync(path.join(expDir, name), 'utf8'));
  if (!want.has(j.mode)) continue;
  seen.set(j.mode, (seen.get(j.mode) || 0) + 1);
  fs.copyFileSync(path.join(expDir, name), path.join(tmp, 'expected', name));
  for (const f of j.inputs || [j.capture]) pcaps.add(f);
}
const missing = modes.filter((m) => !seen.has(m));
if (missing.length) {
  console.error(`copy-corpus: no oracle file has mode ${missing.join(', ')}`);
  process.exit(1);
}
fs.writeFileSync(path.join(tmp, 'pcaps.list'), [...pcaps].sort().join('\n') + '\n');
for (const [m, n] of seen) console.error(`copy-corpus: mode ${m}: ${n} cases`);
JS

while IFS= read -r f; do
  [ -n "$f" ] || continue
  [ -f "$SRC/pcaps/$f" ] || { echo "copy-corpus: capture $f not found in $SRC/pcaps" >&2; exit 1; }
  cp -p "$SRC/pcaps/$f" "$TMP/pcaps/$f"
done <"$TMP/pcaps.list"
rm "$TMP/pcaps.list"
{
  printf '<!-- fixtures/corpus/ORIGIN.md: the MANIFEST.md of the shared conformance corpus, copied by\n'
  printf '     scripts/copy-corpus.sh with the oracle files of the modes\n       %s\n' "${MODES[*]}"
  printf '     and the captures they read. The cases of other modes listed below have no oracle file\n'
  printf '     here. Paths like tools/... and corpus/... below are those of the shared corpus tree. -->\n\n'
  cat "$SRC/MANIFEST.md"
} >"$TMP/ORIGIN.md"
chmod -R u+w,a+rX "$TMP"

rm -rf "$DEST"
mv "$TMP" "$DEST"
trap - EXIT
echo "copy-corpus: $(ls "$DEST/expected" | wc -l) oracle files, $(ls "$DEST/pcaps" | wc -l) captures," \
  "$(du -sh "$DEST" | cut -f1) in ${DEST#$HERE/} (modes: ${MODES[*]})" >&2
