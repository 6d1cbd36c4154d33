/**
 * The http scanner on a real capture (fixtures/http/loopback-http.pcap, made by
 * scripts/make-http-capture.js: a Node server and client on 127.0.0.1 under tcpdump).
 * Its manifest (loopback-http.json) says, from the server's own data, what each response
 * carried: the tests check every -HTTPBODY- file and byte_run against it. Connections:
 * 1 keep-alive: chunked, gzip, gzip+chunked, deflate, br; 2: HEAD with a Content-Length,
 * 204, 304, then a body (B33: the HEAD response has no body); 3: three pipelined requests,
 * the middle one HEAD; 4: HTTP/1.0 body ended by the connection's close; 5: a gzip bomb
 * (64 MiB of zeros) cut at the decompression limit.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { makeTempDir, md5hex, removeDir, REPO_ROOT, runCli } from '../../helpers/corpus';
import { readJsonl } from '../../helpers/jsonl';

const CAPTURE = path.join(REPO_ROOT, 'fixtures', 'http', 'loopback-http.pcap');
interface Sum { md5: string; size: number }
interface Exchange { method: string; path: string; type?: string; coding?: string | null; body: (Sum & { sent: Sum }) | null }
const MANIFEST = JSON.parse(fs.readFileSync(CAPTURE.replace(/\.pcap$/, '.json'), 'utf8')) as { connections: Exchange[][] };
const EXT: Record<string, string> = {
  'text/plain': '.txt', 'text/html; charset=utf-8': '.html', 'application/json': '.json', 'text/css': '.css',
  'application/javascript': '.js', 'image/png': '.png', 'text/csv': '.csv', 'application/octet-stream': '',
};
const BOMB_LIMIT = 1024 * 1024;

interface Run { out: string; flows: Record<string, unknown>[] }

async function run(extra: string[]): Promise<Run & { tmp: string }> {
  const tmp = makeTempDir('tcpflow-ts-http-');
  const out = path.join(tmp, 'out');
  const jsonl = path.join(tmp, 'r.jsonl');
  const r = await runCli(['-e', 'http', ...extra, '-r', CAPTURE, '-o', out, '--jsonl', jsonl]);
  assert.equal(r.code, 0, r.stderr);
  const flows = readJsonl(jsonl).filter((l) => l.type === 'flow');
  return { tmp, out, flows };
}

/** The server→client flows (they have byte_runs), in connection order. */
function responseFlows(r: Run): Record<string, unknown>[] {
  const responses = r.flows.filter((f) => f.byte_runs !== undefined);
  return responses.sort((a, b) => (String(a.startime) < String(b.startime) ? -1 : 1));
}

function check(r: Run, decoded: boolean): void {
  const responses = responseFlows(r);
  assert.equal(responses.length, MANIFEST.connections.length, 'one response flow per connection');
  const bodyFiles = fs.readdirSync(r.out).filter((f) => f.includes('-HTTPBODY-'));
  let expectedFiles = 0;
  MANIFEST.connections.forEach((exchanges, c) => {
    const flow = responses[c];
    const flowPath = String(flow.filename);
    const runs = flow.byte_runs as { file_offset: number; filename: string; filesize: number; error?: string }[];
    const want = exchanges.flatMap((x, i) => (x.body === null ? [] : [{ x, n: i + 1 }]));
    assert.deepEqual(runs.map((b) => b.filename), want.map(({ x, n }) =>
      `${flowPath}-HTTPBODY-${String(n).padStart(3, '0')}${EXT[x.type ?? 'text/plain']}`), `connection ${c + 1}: body files`);
    expectedFiles += want.length;
    const content = fs.readFileSync(flowPath);
    want.forEach(({ x }, k) => {
      const run = runs[k];
      const bytes = fs.readFileSync(run.filename);
      assert.equal(run.filesize, bytes.length, `${run.filename}: report size is the file's`);
      assert.ok(run.file_offset > 0 && run.file_offset < content.length, `${run.filename}: offset inside the flow`);
      const body = x.body as Sum & { sent: Sum };
      const isBomb = x.path === '/bomb';
      if (isBomb && decoded) {
        assert.equal(bytes.length, BOMB_LIMIT, 'the bomb is cut at the ratio limit');
        assert.ok(bytes.every((b) => b === 0), 'what is kept of the bomb is its start');
        assert.match(run.error ?? '', /cut at 1048576 bytes/);
        return;
      }
      const expect = decoded || x.coding === null || x.coding === undefined ? { md5: body.md5, size: body.size } : body.sent;
      assert.deepEqual({ md5: md5hex(bytes), size: bytes.length }, expect, `${run.filename}: ${x.method} ${x.path}`);
      assert.equal(run.error, undefined);
    });
  });
  assert.equal(bodyFiles.length, expectedFiles, 'no other -HTTPBODY- file');
}

test('http: every body of a real capture, decoded; HEAD/204/304 without body; pipelining; close-delimited; bomb capped', async () => {
  const r = await run([]);
  try {
    check(r, true);
    // B33: the HEAD response announced 4090 bytes; the 204, 304 and the next 200 are not its body.
    const head = responseFlows(r)[1];
    assert.deepEqual((head.byte_runs as { filename: string }[]).map((b) => b.filename.slice(-17)), ['-HTTPBODY-004.txt']);
    const xml = fs.readFileSync(path.join(r.out, 'report.xml'), 'utf8');
    assert.match(xml, /<filesize>1048576<\/filesize><error>decompressed body cut at 1048576 bytes: over 100 times the compressed bytes read \(limit per body\)<\/error><\/fileobject><\/byte_run>/);
  } finally {
    removeDir(r.tmp);
  }
});

test('http -Z: bodies as sent (gzip, deflate, br kept), names unchanged', async () => {
  const r = await run(['-Z']);
  try {
    check(r, false);
  } finally {
    removeDir(r.tmp);
  }
});

test('http -S http_max_body / http_max_ratio: the limits as asked', async () => {
  const r = await run(['-S', 'http_max_body=2000000', '-S', 'http_max_ratio=100000']);
  try {
    const bomb = responseFlows(r)[4].byte_runs as { filename: string; filesize: number; error?: string }[];
    assert.equal(bomb.length, 1);
    assert.equal(bomb[0].filesize, 2_000_000);
    assert.equal(fs.statSync(bomb[0].filename).size, 2_000_000);
    assert.equal(bomb[0].error, 'decompressed body cut at 2000000 bytes (limit per body)');
  } finally {
    removeDir(r.tmp);
  }
});
