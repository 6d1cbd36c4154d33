/**
 * -K: one pcap per flow direction instead of flow files (spec §6.3, B12).
 *
 * - Every file tcpflow 1.6.1 writes for a corpus capture is written with the same name and
 *   the same bytes, except the header's link type, which is the input's (B12 fixed; the
 *   recorded md5s in fixtures/pcap-outputs/tcpflow.json are of tcpflow's files with that
 *   field set back to the input's).
 * - Files read cleanly in tcpdump and tshark; the records of all files together are exactly
 *   the input's TCP records; names and bytes are the same for any --workers count.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { makeTempDir, md5hex, PCAP_DIR, POOL_SIZE, pool, removeDir, runCli, stackFrames } from '../helpers/corpus';
import { readAll } from '../helpers/capture';
import { externalReadersProblem, haveExternalReaders, TCPFLOW_PCAP_OUTPUTS } from '../helpers/pcap-tools';

/**
 * Captures where the set of files differs on purpose: packets tcpflow cannot decode are
 * decoded (their flows get pcaps too).
 */
const FIXED: Record<string, string> = {
  'derived__pcapplusplus__one_ipv6_http_stream__destopts.pcap': 'B29: IPv6 destination options are followed to TCP',
  'tcpdump__bigtcp-ipv6-hbh.pcap': 'B29: IPv6 hop-by-hop/jumbo headers are followed to TCP',
  'pcapplusplus__null_loopback.pcap': 'DLT_NULL address families are read in both byte orders',
  'tcpflow__local.pcap': 'DLT_NULL address families are read in both byte orders',
};

/** B6: captures whose files are tcpflow's under another VLAN suffix (tcpflow's name -> ours), same bytes. */
const RENAMED: Record<string, (name: string) => string> = {
  'tcpdump__bgp-encap.pcap': (n) => n.replace('--49166.pcap', '--14.pcap'), // the 12-bit VLAN id
  'derived__tcpreplay__test__qinq.pcap': (n) => n.replace(/\.pcap$/, '--200.pcap'), // the inner VLAN of QinQ
  'tcpreplay__test.rewrite_vlan802.1ad': (n) => n.replace(/\.pcap$/, '--42.pcap'), // a lone 802.1ad tag
};

/**
 * Captures whose flow pcaps hold reassembled IP datagrams (B30) where tcpflow's hold the first
 * fragment alone: the same files, whose records have these lengths (the reassembled frames).
 */
const REASSEMBLED: Record<string, { why: string; caplens: number[] }> = {
  'pcapplusplus__frag_http_req.pcap': { why: 'B30: the 11 fragments of the request are one 1,514-byte frame', caplens: [1514] },
};

async function keep(input: string, extra: string[] = []): Promise<{ code: number | null; stderr: string; out: string; tmp: string }> {
  const tmp = makeTempDir('tcpflow-ts-K-');
  const out = path.join(tmp, 'out');
  const run = await runCli(['-r', input, '-o', out, '-K', ...extra]);
  assert.deepEqual(stackFrames(run.stderr), [], run.stderr);
  return { code: run.code, stderr: run.stderr, out, tmp };
}

function pcaps(dir: string): string[] {
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.pcap')).sort() : [];
}

test('-K: the files tcpflow 1.6.1 writes, same names and bytes (link type fixed)', async () => {
  const names = Object.keys(TCPFLOW_PCAP_OUTPUTS.captures).filter((c) => TCPFLOW_PCAP_OUTPUTS.captures[c].K !== 'failed');
  const failures: string[] = [];
  let files = 0;
  await pool(names, POOL_SIZE, async (c) => {
    const rename = RENAMED[c] ?? ((n: string) => n);
    const expected = Object.fromEntries(Object.entries(TCPFLOW_PCAP_OUTPUTS.captures[c].K as Record<string, string>)
      .map(([n, md5]) => [rename(n), md5]));
    const r = await keep(path.join(PCAP_DIR, c));
    try {
      const got = pcaps(r.out);
      if (FIXED[c] !== undefined) {
        if (got.join() === Object.keys(expected).sort().join()) failures.push(`${c}: expected to differ (${FIXED[c]})`);
        return;
      }
      if (got.join('\n') !== Object.keys(expected).sort().join('\n')) {
        failures.push(`${c}: files differ: got ${got.length}, tcpflow ${Object.keys(expected).length}`);
        return;
      }
      for (const f of got) {
        files++;
        const same = md5hex(fs.readFileSync(path.join(r.out, f))) === expected[f];
        const grown = REASSEMBLED[c];
        if (grown === undefined) {
          if (!same) failures.push(`${c}: ${f} differs`);
        } else if (same || readAll(path.join(r.out, f)).recs.map((x) => x.caplen).join() !== grown.caplens.join()) {
          failures.push(`${c}: ${f} is not what ${grown.why}`);
        }
      }
      // No reassembly: no flow files, no fileobjects.
      const report = fs.readFileSync(path.join(r.out, 'report.xml'), 'utf8');
      if (report.includes('<fileobject>')) failures.push(`${c}: report has fileobjects`);
    } finally {
      removeDir(r.tmp);
    }
  });
  assert.deepEqual(failures, []);
  assert.ok(files >= 900, `only ${files} files compared`);
});

test('-K on pcapng, nanosecond, big-endian and DLT_NULL inputs: real link type, tcpdump/tshark read them, all TCP records kept', async (t) => {
  const inputs = [
    'pcapplusplus__nanosecs_big_endian.pcap', 'derived__tcpreplay__test__nsec.pcap', 'tcpflow__image2.pcap',
    'pcapplusplus__ssh_packets.pcap', 'pcapplusplus__mysql.pcapng', 'derived__tcpflow__image2__part2.pcapng',
    'tcpflow__local.pcap',
  ].filter((c) => fs.existsSync(path.join(PCAP_DIR, c)));
  assert.ok(inputs.length >= 5);
  const tools = haveExternalReaders();
  if (!tools) t.diagnostic('tcpdump/tshark missing: their checks are skipped');
  await pool(inputs, POOL_SIZE, async (c) => {
    const input = path.join(PCAP_DIR, c);
    const r = await keep(input);
    try {
      assert.equal(r.code, 0, r.stderr);
      const inRecs = readAll(input).recs;
      const all: string[] = [];
      for (const f of pcaps(r.out)) {
        const p = path.join(r.out, f);
        const recs = readAll(p).recs;
        assert.equal(fs.readFileSync(p).readUInt32LE(20), inRecs[0].linktype, `${c}/${f}: link type`);
        for (const x of recs) all.push(`${x.sec}.${x.usec}:${x.bytes.toString('hex')}`);
        const problem = tools ? externalReadersProblem(p, recs.length) : null;
        assert.equal(problem, null, `${c}/${f}`);
      }
      // Every record of every per-flow file is an input record, each input record at most once.
      const input_ = new Map<string, number>();
      for (const x of inRecs) {
        const k = `${x.sec}.${x.usec}:${x.bytes.toString('hex')}`;
        input_.set(k, (input_.get(k) ?? 0) + 1);
      }
      for (const k of all) {
        const n = input_.get(k) ?? 0;
        assert.ok(n > 0, `${c}: a -K record that is not in the input`);
        input_.set(k, n - 1);
      }
      assert.ok(all.length > 0, `${c}: no records kept`);
    } finally {
      removeDir(r.tmp);
    }
  });
});

test('-K: same files for --workers 1 and 4; an existing file is overwritten; -R only continues', async () => {
  const input = path.join(PCAP_DIR, 'tcpflow__test1.pcap');
  const one = await keep(input, ['--workers', '1']);
  const four = await keep(input, ['--workers', '4']);
  try {
    const names = pcaps(one.out);
    assert.ok(names.length >= 3);
    assert.deepEqual(pcaps(four.out), names);
    for (const f of names) assert.ok(fs.readFileSync(path.join(one.out, f)).equals(fs.readFileSync(path.join(four.out, f))), f);

    // A second run into the same directory rewrites the files (tcpflow opens them "wb").
    const before = new Map(names.map((f) => [f, fs.readFileSync(path.join(one.out, f))]));
    fs.writeFileSync(path.join(one.out, names[0]), 'stale');
    const again = await runCli(['-r', input, '-o', one.out, '-K']);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(pcaps(one.out), names);
    for (const f of names) assert.ok(fs.readFileSync(path.join(one.out, f)).equals(before.get(f) as Buffer), f);

    // -R alone: no direction was seen in a -r file, so nothing is kept.
    const finishing = await runCli(['-R', input, '-o', path.join(four.tmp, 'r-only'), '-K']);
    assert.equal(finishing.code, 0, finishing.stderr);
    assert.deepEqual(pcaps(path.join(four.tmp, 'r-only')), []);
  } finally {
    removeDir(one.tmp);
    removeDir(four.tmp);
  }
});
