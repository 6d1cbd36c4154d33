/**
 * IP fragment reassembly end to end (spec B30), through the CLI.
 *
 * A real capture (fixtures/corpus/pcaps/tcpflow__test1.pcap: two HTTP connections) and
 * its IPv6 twin (every TCP segment carried over IPv6 instead) are fragmented by
 * test/helpers/fragment.ts: every TCP datagram with data is cut into fragments of 64 or
 * 24 data bytes, sent in order, reversed, shuffled, with duplicates, with one datagram's
 * fragments overlapping, and with one fragment missing. For --workers 1, 2 and 4 the flow
 * files and the JSON Lines flow records are those of the unfragmented capture; where a
 * datagram is dropped (overlap, missing fragment) they are those of the unfragmented
 * capture without that datagram (the documented result); the summary counts what the
 * reassembler did.
 *
 * pcapplusplus__frag_http_req.pcap (11 IPv4 fragments of one HTTP request, of which
 * tcpflow keeps the first 124 bytes) gives the whole request: the 1,460 bytes tshark's
 * reassembly gives (`tshark -o ip.defragment:TRUE -Y tcp -T fields -e tcp.payload`, md5
 * below), and -w holds the ten fragments after the first, as tcpflow's -w does.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { makeTempDir, md5hex, PCAP_DIR, pool, POOL_SIZE, removeDir, runCli, stackFrames } from '../helpers/corpus';
import { readAll } from '../helpers/capture';
import { pcapFile, type PcapRecord } from '../helpers/capture-files';
import { etherIpOffset, fragmentFrame, toIpv6 } from '../helpers/fragment';
import { Rng } from '../flow/rng';

const SOURCE = path.join(PCAP_DIR, 'tcpflow__test1.pcap');
const WORKERS = [1, 2, 4];

interface Outcome {
  /** Flow files: relative path → md5. */
  files: Record<string, string>;
  /** JSON Lines flow records, output directory taken out of the file names. */
  flows: string[];
  fragments: Record<string, number> | null;
}

async function runCapture(records: readonly PcapRecord[], workers: number, extra: string[] = []): Promise<Outcome & { stderr: string; w: Buffer | null }> {
  const tmp = makeTempDir('tcpflow-ts-frag-');
  try {
    const input = path.join(tmp, 'in.pcap');
    fs.writeFileSync(input, pcapFile(records, { linktype: 1 }));
    const out = path.join(tmp, 'out');
    const r = await runCli(['-r', input, '-o', out, '--jsonl', path.join(tmp, 'r.jsonl'), '--workers', String(workers), ...extra]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(stackFrames(r.stderr), []);
    const files: Record<string, string> = {};
    for (const f of fs.readdirSync(out).sort()) if (f !== 'report.xml') files[f] = md5hex(fs.readFileSync(path.join(out, f)));
    const lines = fs.readFileSync(path.join(tmp, 'r.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const summary = lines.pop() as { ip_fragments?: Record<string, number> };
    const wfile = path.join(tmp, 'w.pcap');
    return {
      files,
      flows: lines.map((l) => JSON.stringify({ ...l, filename: String(l.filename).slice(out.length + 1) })),
      fragments: summary.ip_fragments ?? null,
      stderr: r.stderr,
      w: fs.existsSync(wfile) ? fs.readFileSync(wfile) : null,
    };
  } finally {
    removeDir(tmp);
  }
}

/** The TCP datagrams worth cutting: their IP data exceeds one 64-byte fragment. */
function cuttable(frame: Uint8Array): boolean {
  const ip = etherIpOffset(frame);
  if (frame[ip + (frame[ip] >> 4 === 4 ? 9 : 6)] !== 6) return false;
  const len = frame[ip] >> 4 === 4 ? ((frame[ip + 2] << 8) | frame[ip + 3]) - 20 : (frame[ip + 4] << 8) | frame[ip + 5];
  return len > 64;
}

type Variant = 'in order' | 'reversed' | 'shuffled' | 'duplicated' | 'overlapping' | 'incomplete';
const VARIANTS: Variant[] = ['in order', 'reversed', 'shuffled', 'duplicated', 'overlapping', 'incomplete'];

interface Built {
  records: PcapRecord[];
  /** The record index (in the unfragmented capture) of the datagram the variant loses, or -1. */
  lost: number;
  counts: Record<string, number>;
}

/** The capture with its cuttable datagrams fragmented as `variant` says; `victim` is the datagram overlapping/incomplete spoil. */
function build(base: readonly PcapRecord[], variant: Variant, victim: number): Built {
  const rng = new Rng(0xf4a6);
  const records: PcapRecord[] = [];
  const counts = { fragments: 0, reassembled: 0, duplicates: 0, overlapping: 0, timed_out: 0, evicted: 0, invalid: 0, incomplete: 0 };
  base.forEach((r, i) => {
    if (!cuttable(r.frame)) {
      records.push(r);
      return;
    }
    const ip = etherIpOffset(r.frame);
    let pieces = fragmentFrame(r.frame, ip, i % 3 === 0 ? 24 : 64, 0x1000 + i);
    if (variant === 'reversed') pieces.reverse();
    if (variant === 'shuffled') rng.shuffle(pieces);
    if (variant === 'duplicated') pieces = pieces.flatMap((p, j) => (j < pieces.length - 1 ? [p, p] : [p]));
    if (i === victim && variant === 'incomplete') pieces.splice(1, 1);
    if (i === victim && variant === 'overlapping') {
      // A copy of the first fragment that reaches 8 bytes into the second: same bytes, still an overlap.
      const wide = fragmentFrame(r.frame, ip, 72, 0x1000 + i)[0];
      pieces.splice(1, 0, wide);
    }
    counts.fragments += pieces.length;
    if (variant === 'duplicated') counts.duplicates += (pieces.length - 1) / 2;
    if (i !== victim || (variant !== 'incomplete' && variant !== 'overlapping')) counts.reassembled++;
    for (const frame of pieces) records.push({ ...r, frame, caplen: undefined, origlen: undefined });
  });
  let lost = -1;
  if (variant === 'incomplete') {
    lost = victim;
    counts.incomplete = 1;
  }
  if (variant === 'overlapping') {
    lost = victim;
    counts.overlapping = 1;
    counts.incomplete = 1; // the fragments after the overlap start a datagram that never completes
  }
  return { records, lost, counts };
}

function readRecords(file: string): PcapRecord[] {
  return readAll(file).recs.map((x) => ({ frame: new Uint8Array(x.bytes), sec: x.sec, frac: x.usec, origlen: x.origlen }));
}

for (const family of ['IPv4', 'IPv6'] as const) {
  test(`${family} fragments in order, reversed, shuffled, duplicated, overlapping, incomplete: the unfragmented flows or the documented result, for --workers 1, 2, 4`, async () => {
    let base = readRecords(SOURCE);
    if (family === 'IPv6') base = base.map((r) => ({ ...r, frame: toIpv6(r.frame) ?? r.frame, origlen: undefined }));
    // Ethernet padding of short frames would make the reassembled frame's length differ: none has data to cut.
    const cut = base.map((r, i) => (cuttable(r.frame) ? i : -1)).filter((i) => i >= 0);
    assert.ok(cut.length >= 6, `${cut.length} datagrams to cut`);
    const victim = cut[Math.floor(cut.length / 2)];
    const whole = await runCapture(base, 1);
    assert.equal(whole.fragments, null, 'no fragments, no ip_fragments');
    assert.ok(whole.flows.length >= 4);
    const without = await runCapture(base.filter((_, i) => i !== victim), 1);
    assert.notDeepEqual(without.files, whole.files, 'the victim datagram carries data');
    const jobs = VARIANTS.flatMap((variant) => WORKERS.map((workers) => ({ variant, workers })));
    const failures: string[] = [];
    await pool(jobs, POOL_SIZE, async ({ variant, workers }) => {
      const b = build(base, variant, victim);
      const got = await runCapture(b.records, workers);
      const want = b.lost >= 0 ? without : whole;
      const what = `${family} ${variant} --workers ${workers}`;
      if (JSON.stringify(got.files) !== JSON.stringify(want.files)) failures.push(`${what}: flow files ${JSON.stringify(got.files)}`);
      if (JSON.stringify(got.flows) !== JSON.stringify(want.flows)) failures.push(`${what}: flow records\n${got.flows.join('\n')}\nexpected\n${want.flows.join('\n')}`);
      if (JSON.stringify(got.fragments) !== JSON.stringify(b.counts)) failures.push(`${what}: counts ${JSON.stringify(got.fragments)}, expected ${JSON.stringify(b.counts)}`);
    });
    assert.deepEqual(failures, []);
  });
}

test('pcapplusplus__frag_http_req.pcap: the whole request (tshark\'s reassembly), counted; -w keeps the fragments after the first; any --workers', async () => {
  const input = path.join(PCAP_DIR, 'pcapplusplus__frag_http_req.pcap');
  const records = readRecords(input);
  for (const workers of WORKERS) {
    const tmp = makeTempDir('tcpflow-ts-frag-');
    try {
      const out = path.join(tmp, 'out');
      const r = await runCli(['-r', input, '-o', out, '-w', path.join(tmp, 'w.pcap'), '-e', 'md5', '--workers', String(workers), '-d', '2']);
      assert.equal(r.code, 0, r.stderr);
      const name = '172.016.133.054.64415-216.137.033.081.00080';
      const data = fs.readFileSync(path.join(out, name));
      assert.equal(data.length, 1460);
      assert.equal(md5hex(data), '79abf1cf4144626dbfc923a3c952d32f');
      assert.match(data.toString('latin1'), /^GET \/convert_data\.js\?partner_id=29 HTTP\/1\.1\r\n[^]*\r\n\r\n$/);
      const report = fs.readFileSync(path.join(out, 'report.xml'), 'utf8');
      assert.match(report, /<ip_fragments fragments="11" reassembled="1" duplicates="0" overlapping="0" timed_out="0" evicted="0" invalid="0" incomplete="0"\/>/);
      assert.match(report, / packets='1' len='1514'/);
      assert.match(r.stderr, /IP fragments: 11 fragments, 1 datagrams reassembled/);
      // -w: records 2..11 of the input, as captured (tcpflow writes the same ten).
      const w = readAll(path.join(tmp, 'w.pcap')).recs;
      assert.equal(w.length, 10);
      w.forEach((x, k) => assert.ok(Buffer.from(records[k + 1].frame).equals(x.bytes), `-w record ${k}`));
    } finally {
      removeDir(tmp);
    }
  }
});
