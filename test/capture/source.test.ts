import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { allocChunk } from '../../src/capture/chunk';
import { memorySource, openFileSource, TruncatedInput } from '../../src/capture/source';
import { TcpflowError } from '../../src/errors';
import { LINKTYPE } from '../../src/decode/link';
import { pcapFile } from '../helpers/capture-files';
import { ether, ipv4, tcp } from '../helpers/packets';

const frame = (i: number) => ether(ipv4(tcp({ sport: 1000 + i, dport: 80, payload: 'x'.repeat(i) }), { src: '10.0.0.1', dst: '10.0.0.2' }));
const capture = (n: number) => pcapFile(Array.from({ length: n }, (_, i) => ({ frame: frame(i), sec: 1000 + i })), { linktype: LINKTYPE.EN10MB });

test('a source fills chunks until it says the input is exhausted (null), and stays so', async () => {
  const bytes = capture(20);
  const src = memorySource('mem.pcap', bytes);
  const chunk = allocChunk(1024, 8);
  const counts: number[] = [];
  for (let n = await src.fill(chunk); n !== null; n = await src.fill(chunk)) {
    assert.equal(n, chunk.count);
    counts.push(n);
  }
  assert.equal(counts.reduce((a, b) => a + b, 0), 20);
  assert.equal(await src.fill(chunk), null);
  assert.equal(src.name, 'mem.pcap');
  assert.deepEqual(src.progress, { done: bytes.length, total: bytes.length });
  assert.equal(src.firstInterface?.linktype, LINKTYPE.EN10MB);
  src.close();
});

test('a capture cut inside a record: the records before it, then a TruncatedInput naming the input', async () => {
  const whole = capture(5);
  const src = memorySource('cut.pcap', whole.subarray(0, whole.length - 7));
  const chunk = allocChunk();
  assert.equal(await src.fill(chunk), 4);
  await assert.rejects(src.fill(chunk), (e: unknown) => {
    assert.ok(e instanceof TruncatedInput && e.code === 'INPUT_TRUNCATED' && e.exitCode === 1);
    assert.match(e.message, /^cut\.pcap: truncated dump file; tried to read \d+ captured bytes, only got \d+ \(at byte \d+\); packets before it are kept$/);
    assert.equal(e.truncation?.wanted, frame(4).length);
    return true;
  });
  assert.equal(await src.fill(chunk), null);
});

test('a file that is missing or not a capture: a one-line error naming it when it is opened', () => {
  assert.throws(() => openFileSource('/nonexistent/x.pcap'),
    (e: unknown) => e instanceof TcpflowError && e.code === 'INPUT_OPEN' && e.message === '/nonexistent/x.pcap: No such file or directory');
  const tmp = fs.mkdtempSync('/tmp/tcpflow-ts-src-');
  try {
    fs.writeFileSync(`${tmp}/x.txt`, 'not a capture at all');
    assert.throws(() => openFileSource(`${tmp}/x.txt`),
      (e: unknown) => e instanceof TcpflowError && e.code === 'INPUT_FORMAT' && e.message === `${tmp}/x.txt: unknown file format`);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
