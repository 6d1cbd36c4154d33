/**
 * The http scanner fed its flows in arbitrary pieces gives the same bodies and byte_runs:
 * the real responses of fixtures/http/loopback-http.pcap (chunked, gzip, gzip+chunked,
 * deflate, br, HEAD/204/304, pipelining, close-delimited) cut in two at every byte
 * position, and in many random pieces; and read back whole at the flow's end (when its
 * bytes stopped arriving in order) the same again.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Flow } from '../../../src/flow/flow';
import type { ByteRun } from '../../../src/report/flow-record';
import { httpScanner } from '../../../src/scanners/http/http-scanner';
import { DEFAULT_INFLATE_LIMITS } from '../../../src/scanners/http/inflate';
import type { StoredContent } from '../../../src/scanners/scanner';
import { makeTempDir, md5hex, removeDir, REPO_ROOT, runCli } from '../../helpers/corpus';
import { readJsonl } from '../../helpers/jsonl';

const CAPTURE = path.join(REPO_ROOT, 'fixtures', 'http', 'loopback-http.pcap');
const LOCALHOST = new Uint8Array([127, 0, 0, 1]);

interface Connection { request: Buffer; response: Buffer; clientPort: number; serverPort: number }

async function connections(): Promise<{ tmp: string; list: Connection[] }> {
  const tmp = makeTempDir('tcpflow-ts-http-splits-');
  const out = path.join(tmp, 'flows');
  const jsonl = path.join(tmp, 'r.jsonl');
  const r = await runCli(['-r', CAPTURE, '-o', out, '--jsonl', jsonl]);
  assert.equal(r.code, 0, r.stderr);
  const flows = readJsonl(jsonl).filter((l) => l.type === 'flow').sort((a, b) => (String(a.startime) < String(b.startime) ? -1 : 1));
  const list: Connection[] = [];
  for (const f of flows) {
    const reverse = flows.find((g) => g.srcport === f.dstport && g.dstport === f.srcport);
    if (reverse === undefined || Number(f.srcport) > Number(f.dstport)) continue; // f: the server's side (lower port here)
    list.push({
      response: fs.readFileSync(String(f.filename)), request: fs.readFileSync(String(reverse.filename)),
      serverPort: Number(f.srcport), clientPort: Number(f.dstport),
    });
  }
  return { tmp, list };
}

const content = (b: Buffer): StoredContent => ({ read: (pos, len) => b.subarray(pos, pos + len) });

interface Outcome { runs: ByteRun[]; files: string[]; events: string[] }

/** Scan one connection: its request flow whole, then its response flow in `pieces` (null: read back at the end). */
function scan(c: Connection, pieces: number[] | null, dir: string): Outcome {
  const events: string[] = [];
  const scanner = httpScanner({
    decompress: true, limits: DEFAULT_INFLATE_LIMITS,
    listener: { opened: (p) => events.push(`open ${path.basename(p)}`), closed: (p) => events.push(`close ${path.basename(p)}`) },
  });
  const req = new Flow(LOCALHOST, LOCALHOST, c.clientPort, c.serverPort, 0, null, 0);
  const resp = new Flow(LOCALHOST, LOCALHOST, c.serverPort, c.clientPort, 0, null, 1);
  const reqScan = scanner.open(req, path.join(dir, 'req'));
  reqScan.onData?.(0, c.request);
  const respScan = scanner.open(resp, path.join(dir, 'resp'));
  if (pieces !== null) {
    let pos = 0;
    for (const end of [...pieces, c.response.length]) {
      respScan.onData?.(pos, c.response.subarray(pos, end));
      pos = end;
    }
  }
  const fields = respScan.onClose(content(c.response), pieces !== null);
  reqScan.onClose(content(c.request), true);
  const runs = (fields?.byte_runs ?? []).map((r) => ({ ...r, filename: path.basename(r.filename) }));
  const files = fs.readdirSync(dir).sort().map((f) => `${f} ${md5hex(fs.readFileSync(path.join(dir, f)))}`);
  for (const f of fs.readdirSync(dir)) fs.rmSync(path.join(dir, f));
  return { runs, files, events };
}

/** A seeded generator (mulberry32): the same pieces on every run. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test('http scanner: same bodies for every split of real responses, and when read back whole', async () => {
  const { tmp, list } = await connections();
  try {
    assert.equal(list.length, 5, 'the five connections of the capture');
    const dir = path.join(tmp, 'bodies');
    fs.mkdirSync(dir);
    const rnd = random(9);
    list.forEach((c, i) => {
      const whole = scan(c, [], dir);
      assert.ok(whole.runs.length > 0, `connection ${i + 1}: bodies`);
      assert.deepEqual(scan(c, null, dir), whole, `connection ${i + 1}: read back at the end`);
      const bomb = c.response.length > 50_000;
      if (!bomb) {
        for (let p = 0; p <= c.response.length; p++) assert.deepEqual(scan(c, [p], dir), whole, `connection ${i + 1}: split at ${p}`);
      }
      for (let k = 0; k < (bomb ? 4 : 300); k++) {
        const cuts = Array.from({ length: 1 + Math.floor(rnd() * 40) }, () => Math.floor(rnd() * (c.response.length + 1))).sort((a, b) => a - b);
        assert.deepEqual(scan(c, cuts, dir), whole, `connection ${i + 1}: pieces cut at ${cuts.join(',')}`);
      }
    });
  } finally {
    removeDir(tmp);
  }
});
