/**
 * -w FILE: the packets that were not processed, as a pcap (spec §6.2, B13).
 *
 * - Byte for byte what tcpflow 1.6.1 writes, for every corpus capture it can handle
 *   (fixtures/pcap-outputs/tcpflow.json, recorded by scripts/record-pcap-outputs.sh), except
 *   where a listed fix changes which packets are written: checked in
 *   test/oracle/workers.test.ts, whose runs carry -w.
 * - For the captures tcpflow aborts on (pcapng, big-endian, nanosecond) and the fixed ones:
 *   exactly the input records tcpflow writes for the capture converted to a pcap it can
 *   read (test/output/unprocessed-records.json, recorded by record-unprocessed.sh), less
 *   those a listed fix leaves out, with the same bytes and microsecond times, under the
 *   input's link type; and tcpdump and tshark read the file without a warning.
 * - On a generated capture the counts add up exactly: processed + written + ignored = input.
 * - Same file for any --workers count.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { makeTempDir, md5hex, PCAP_DIR, POOL_SIZE, pool, REPO_ROOT, removeDir, runCli, stackFrames } from '../helpers/corpus';
import { readAll, Rec } from '../helpers/capture';
import { ACK, ether, FIN, ipv4, PSH, SYN, tcp } from '../helpers/packets';
import { pcapFile } from '../helpers/capture-files';
import {
  externalReadersProblem,
  haveExternalReaders,
  TCPFLOW_PCAP_OUTPUTS,
  TCPFLOW_UNPROCESSED_RECORDS,
  UNPROCESSED_FIXED,
} from '../helpers/pcap-tools';

const captures = fs.readdirSync(PCAP_DIR).filter((f) => fs.statSync(path.join(PCAP_DIR, f)).isFile()).sort();

async function withW(inputs: string[], extra: string[] = []): Promise<{ code: number | null; stderr: string; w: Buffer; tmp: string }> {
  const tmp = makeTempDir('tcpflow-ts-w-');
  const wfile = path.join(tmp, 'w.pcap');
  const run = await runCli([...inputs.flatMap((f) => ['-r', f]), '-o', path.join(tmp, 'out'), '-w', wfile, ...extra]);
  assert.deepEqual(stackFrames(run.stderr), [], run.stderr);
  return { code: run.code, stderr: run.stderr, w: fs.existsSync(wfile) ? fs.readFileSync(wfile) : Buffer.alloc(0), tmp };
}

function sameRecord(a: Rec, b: Rec): boolean {
  return a.caplen === b.caplen && a.origlen === b.origlen && a.sec === b.sec && a.usec === b.usec && a.bytes.equals(b.bytes);
}

/** The records (16-byte header and data) of a little-endian microsecond pcap; a cut last one is left out. */
function rawRecords(file: Buffer): Buffer[] {
  const recs: Buffer[] = [];
  for (let off = 24; off + 16 <= file.length;) {
    const end = off + 16 + file.readUInt32LE(off + 8);
    if (end > file.length) break;
    recs.push(file.subarray(off, end));
    off = end;
  }
  return recs;
}

/** The input records (1-based) tcpflow-ts must write with -w: tcpflow's, less those a fix leaves out. */
function expectedRecords(capture: string): number[] | null {
  const tcpflow = TCPFLOW_UNPROCESSED_RECORDS[capture];
  if (tcpflow === null) return null;
  const fixed = UNPROCESSED_FIXED[capture]?.records ?? [];
  return tcpflow.filter((n) => !fixed.includes(n));
}

test('unprocessed-records.json: a record list for every capture, tcpflow\'s own -w file where it writes one, every fix names records of it', () => {
  assert.deepEqual(Object.keys(TCPFLOW_UNPROCESSED_RECORDS).sort(), captures, 'rerun test/output/record-unprocessed.sh');
  for (const c of captures) {
    const list = TCPFLOW_UNPROCESSED_RECORDS[c];
    for (const n of UNPROCESSED_FIXED[c]?.records ?? []) assert.ok(list?.includes(n), `${c}: fixed record ${n} is not one tcpflow writes`);
    const recorded = TCPFLOW_PCAP_OUTPUTS.captures[c]?.w;
    if (recorded === undefined || recorded === 'aborted' || list === null) continue;
    // tcpflow copies the input's header and writes the records as they are: the list rebuilds its file.
    const input = fs.readFileSync(path.join(PCAP_DIR, c));
    const recs = rawRecords(input);
    assert.equal(md5hex(Buffer.concat([input.subarray(0, 24), ...list.map((n) => recs[n - 1])])), recorded, `${c}: records ${list.join(',')}`);
  }
});

test('-w where tcpflow aborts (pcapng, big-endian, ns) or a fix differs: exactly the records it should hold, clean in tcpdump and tshark', async (t) => {
  const tools = haveExternalReaders();
  if (!tools) t.diagnostic('tcpdump/tshark missing: their checks are skipped');
  // The other captures' -w files are compared with tcpflow's in test/oracle/workers.test.ts.
  const own = captures.filter((c) => TCPFLOW_PCAP_OUTPUTS.captures[c]?.w === 'aborted' || UNPROCESSED_FIXED[c] !== undefined);
  assert.ok(own.length >= 20, `only ${own.length} captures`);
  const failures: string[] = [];
  await pool(own, POOL_SIZE, async (c) => {
    const input = path.join(PCAP_DIR, c);
    const want = expectedRecords(c);
    const r = await withW([input]);
    try {
      if (want === null) {
        if (!/unknown file format/.test(r.stderr)) failures.push(`${c}: not a capture, but no "unknown file format" error`);
        return;
      }
      const wfile = path.join(r.tmp, 'w.pcap');
      if (r.w.length < 24 || r.w.readUInt32LE(0) !== 0xa1b2c3d4) {
        failures.push(`${c}: no little-endian microsecond pcap header (${r.w.length} bytes)`);
        return;
      }
      const inRecs = readAll(input).recs;
      const wRecs = readAll(wfile).recs;
      if (wRecs.length !== want.length) {
        failures.push(`${c}: ${wRecs.length} records, expected ${want.length} (input records ${want.join(',') || 'none'})`);
        return;
      }
      const wrong = want.filter((n, i) => !sameRecord(inRecs[n - 1], wRecs[i]));
      if (wrong.length) failures.push(`${c}: the -w records in place of input records ${wrong.join(',')} are not those records`);
      if (r.w.readUInt32LE(20) !== inRecs[0].linktype) failures.push(`${c}: link type ${r.w.readUInt32LE(20)}`);
      const problem = tools ? externalReadersProblem(wfile, wRecs.length) : null;
      if (problem !== null) failures.push(`${c}: ${problem}`);
    } finally {
      removeDir(r.tmp);
    }
  });
  assert.deepEqual(failures, []);
});

/**
 * A capture whose every packet's fate is known: two connections with data (one SYN
 * retransmitted after data: "SYN TO IGNORE"), UDP, ICMP, a later IPv4 fragment, ARP, a
 * pure ACK on no connection, and a TCP header cut short.
 */
function mixedCapture(): { file: Buffer; written: number[]; processed: number; ignored: number[] } {
  const frames: Uint8Array[] = [];
  const written: number[] = [];
  const ignored: number[] = [];
  const add = (f: Uint8Array, fate: 'processed' | 'written' | 'ignored') => {
    if (fate === 'written') written.push(frames.length);
    if (fate === 'ignored') ignored.push(frames.length);
    frames.push(f);
  };
  const c1 = { src: '10.0.0.1', dst: '10.0.0.2' };
  const s1 = { src: '10.0.0.2', dst: '10.0.0.1' };
  const c2 = { src: '10.9.0.1', dst: '10.9.0.2' };
  add(ether(ipv4(tcp({ sport: 40000, dport: 80, seq: 100, flags: SYN }), c1)), 'processed');
  add(ether(ipv4(tcp({ sport: 80, dport: 40000, seq: 900, ack: 101, flags: SYN | ACK }), s1)), 'processed');
  add(ether(ipv4(new Uint8Array(28), { ...c1, proto: 17 })), 'written'); // UDP
  add(ether(ipv4(tcp({ sport: 40000, dport: 80, seq: 101, flags: PSH | ACK, payload: 'GET / HTTP/1.0\r\n\r\n' }), c1)), 'processed');
  add(ether(ipv4(tcp({ sport: 40000, dport: 80, seq: 100, flags: SYN }), c1)), 'written'); // SYN TO IGNORE
  add(ether(ipv4(new Uint8Array(8), { ...c2, proto: 1 })), 'written'); // ICMP
  add(ether(new Uint8Array(28), { type: 0x0806 }), 'ignored'); // ARP: never reaches IP
  add(ether(ipv4(new Uint8Array(24), { ...c2, fragOffset: 10 })), 'written'); // later fragment
  add(ether(ipv4(tcp({ sport: 5555, dport: 6666, seq: 1, flags: ACK }), c2)), 'ignored'); // pure ACK, no flow
  add(ether(ipv4(new Uint8Array(12), c2)), 'written'); // TCP header of 12 bytes
  add(ether(ipv4(tcp({ sport: 41000, dport: 443, seq: 5, flags: PSH | ACK, payload: 'hello' }), c2)), 'processed');
  add(ether(ipv4(tcp({ sport: 80, dport: 40000, seq: 901, ack: 119, flags: PSH | ACK | FIN, payload: 'HTTP/1.0 200 OK\r\n' }), s1)), 'processed');
  const processed = frames.length - written.length - ignored.length;
  const file = Buffer.from(pcapFile(frames.map((frame, i) => ({ frame, sec: 1_000_000_000, frac: 1000 * i })), { linktype: 1 }));
  return { file, written, processed, ignored };
}

test('-w on a generated capture: exactly the unprocessed packets, counts add up, any worker count', async () => {
  const cap = mixedCapture();
  const tmp = makeTempDir('tcpflow-ts-w-mixed-');
  try {
    const input = path.join(tmp, 'mixed.pcap');
    fs.writeFileSync(input, cap.file);
    const inRecs = readAll(input).recs;
    let first: Buffer | null = null;
    for (const workers of [1, 2, 4]) {
      const r = await withW([input], ['--workers', String(workers)]);
      try {
        assert.equal(r.code, 0, r.stderr);
        const got = readAll(path.join(r.tmp, 'w.pcap')).recs;
        assert.deepEqual(got.map((g) => inRecs.findIndex((x) => sameRecord(x, g))), cap.written);
        const report = fs.readFileSync(path.join(r.tmp, 'out', 'report.xml'), 'utf8');
        const packets = [...report.matchAll(/ packets='(\d+)'/g)].reduce((sum, m) => sum + Number(m[1]), 0);
        assert.equal(packets, cap.processed, 'packets counted in flows');
        assert.equal(packets + got.length + cap.ignored.length, inRecs.length, 'processed + -w + ignored = input');
        if (first === null) first = r.w;
        else assert.ok(r.w.equals(first), `--workers ${workers}: same -w file as --workers 1`);
      } finally {
        removeDir(r.tmp);
      }
    }
  } finally {
    removeDir(tmp);
  }
});

test('-w with several inputs and -R: one header, records from every input in order; stdin works', async () => {
  const tmp = makeTempDir('tcpflow-ts-w-multi-');
  try {
    const input = path.join(tmp, 'mixed.pcap');
    const cap = mixedCapture();
    fs.writeFileSync(input, cap.file);
    const r = await withW([input, input], ['-R', input]);
    try {
      const recs = readAll(path.join(r.tmp, 'w.pcap')).recs;
      // First file: its unprocessed packets. Second -r file and the -R file: the same, plus
      // their first SYN, which comes on the client flow still open from before (same ISN,
      // data stored: "SYN TO IGNORE"). -R does not stop non-TCP packets from going to -w.
      assert.equal(recs.length, 3 * cap.written.length + 2);
      assert.equal(readAll(path.join(r.tmp, 'w.pcap')).recs.filter((x) => x.bytes.equals(recs[0].bytes)).length, 3);
    } finally {
      removeDir(r.tmp);
    }
    const viaStdin = spawnSync('bash', ['-c', `node "$1" -r - -o "$2" -w "$2.w.pcap" < "$3"`, 'bash',
      path.join(REPO_ROOT, 'dist', 'cli', 'main.js'), path.join(tmp, 'stdin-out'), input], { encoding: 'utf8' });
    assert.equal(viaStdin.status, 0, viaStdin.stderr);
    assert.equal(readAll(path.join(tmp, 'stdin-out.w.pcap')).recs.length, cap.written.length);
  } finally {
    removeDir(tmp);
  }
});

test('-w into a directory that does not exist: exit 3, one line naming the file, nothing read', async () => {
  const tmp = makeTempDir('tcpflow-ts-w-bad-');
  try {
    const wfile = path.join(tmp, 'missing', 'w.pcap');
    const run = await runCli(['-r', path.join(PCAP_DIR, 'tcpflow__test1.pcap'), '-o', path.join(tmp, 'out'), '-w', wfile]);
    assert.equal(run.code, 3);
    assert.deepEqual(stackFrames(run.stderr), []);
    assert.match(run.stderr, new RegExp(`${wfile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: No such file or directory`));
  } finally {
    removeDir(tmp);
  }
});
