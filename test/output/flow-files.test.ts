/**
 * FlowFileStore's write path (src/output/flow-files.ts): runs of one piece (written from
 * where the bytes lie) and of several (writev), gaps, the descriptor cap, flushAll after
 * the chunk and a write failing in the middle of it: always the bytes written, at their places.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FlowFile, FlowFileStore } from '../../src/output/flow-files';
import { Template } from '../../src/output/template';
import { ip4 } from '../helpers/packets';

function tmp(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'flow-files-'));
}

function clock(port: number) {
  return {
    src: ip4('10.0.0.1'), dst: ip4('10.0.0.2'), sport: port, dport: 80, vlan: -1, mac: null,
    startSec: 1_000_000_000, startUsec: 250_000, lastSec: 1_000_000_000, lastUsec: 250_000, flowId: 0, sessionId: 0,
  };
}

test('runs of one or many pieces, gaps and flushAll: each file holds its bytes; a chunk buffer may be reused after flushAll', () => {
  const dir = tmp();
  const store = new FlowFileStore(3);
  const template = new Template('%a');
  const chunk = new Uint8Array(4096);
  const want: Uint8Array[] = [];
  const files: FlowFile[] = [];
  for (let f = 0; f < 8; f++) {
    files.push(store.create(dir + '/', template, clock(f), false));
    want.push(new Uint8Array(0));
  }
  let at = 0;
  const put = (f: number, pos: number, bytes: number[]) => {
    chunk.set(bytes, at);
    files[f].write(pos, chunk, at, bytes.length);
    at += bytes.length;
    const w = want[f], n = new Uint8Array(Math.max(w.length, pos + bytes.length));
    n.set(w);
    n.set(bytes, pos);
    want[f] = n;
  };
  for (let round = 0; round < 5; round++) {
    at = 0;
    for (let f = 0; f < 8; f++) {
      const base = want[f].length;
      put(f, base, [f, round, 1]); // one piece
      if (f % 2 === 0) put(f, base + 3, [f, round, 2, 2]); // a second, contiguous: writev
      if (f % 3 === 0) put(f, base + 10, [9, 9]); // a gap: the run is written, a new one starts
    }
    store.flushAll();
    chunk.fill(0xee); // the chunk's memory is reused
  }
  files[1].write(want[1].length, chunk, 0, 0);
  for (const ff of files) ff.close();
  for (let f = 0; f < 8; f++) {
    const p = path.join(dir, String(f).padStart(5, '0'));
    assert.deepEqual([...fs.readFileSync(p)], [...want[f]], `file ${f}`);
    assert.equal(fs.statSync(p).mtimeMs, 1_000_000_000_250);
  }
  assert.ok(store.stats.maxDescriptors <= 3);
  assert.equal(store.stats.open, 0);
  fs.rmSync(dir, { recursive: true });
});

test('read() of a file with a run waiting writes the run first; a closed file reads through a fresh descriptor', () => {
  const dir = tmp();
  const store = new FlowFileStore(10);
  const ff = store.create(dir + '/', new Template('x'), clock(1), false);
  const b = Uint8Array.from([1, 2, 3, 4, 5, 6]);
  ff.write(0, b, 0, 3);
  ff.write(3, b, 3, 3);
  assert.deepEqual([...ff.read(1, 4)], [2, 3, 4, 5]);
  ff.write(6, b, 0, 2);
  ff.close();
  store.flushAll();
  assert.deepEqual([...ff.read(0, 100)], [1, 2, 3, 4, 5, 6, 1, 2]);
  fs.rmSync(dir, { recursive: true });
});

test('a write failing in flushAll: the error names the file, and the other files queued are written by the next flushAll', () => {
  const dir = tmp();
  const store = new FlowFileStore(10);
  const t = new Template('%a');
  const a = store.create(dir + '/', t, clock(1), false), bad = store.create(dir + '/', t, clock(2), false), c = store.create(dir + '/', t, clock(3), false);
  const data = Uint8Array.from([7, 8, 9]);
  a.write(0, data, 0, 3);
  bad.write(0, data, 0, 3);
  c.write(0, data, 0, 3);
  fs.closeSync(bad.fd); // its descriptor gone under it: the write fails (EBADF)
  assert.throws(() => store.flushAll(), (e: Error) => e.message.includes('00002'));
  bad.fd = fs.openSync(path.join(dir, '00002'), 'r+');
  store.flushAll();
  assert.deepEqual([...fs.readFileSync(path.join(dir, '00001'))], [7, 8, 9]);
  assert.deepEqual([...fs.readFileSync(path.join(dir, '00003'))], [7, 8, 9]);
  for (const ff of [a, c]) ff.close();
  bad.close();
  fs.rmSync(dir, { recursive: true });
});

test('a flow before 1970 (a pcapng time) stamps its file then, with the addon or through node:fs (which would stamp now)', () => {
  for (const native of [true, false]) {
    const dir = tmp();
    const store = new FlowFileStore(10, null, null, native ? 0 : Infinity);
    const early = { ...clock(1), startSec: -86_400 * 365, startUsec: 123_456 };
    const ff = store.create(dir + '/', new Template('%a'), early, false);
    ff.write(0, Uint8Array.from([1]), 0, 1);
    ff.close();
    store.close();
    const ns = fs.statSync(path.join(dir, '00001'), { bigint: true }).mtimeNs;
    const want = -86_400n * 365n * 1_000_000_000n + 123_456_000n;
    // The addon: to the microsecond; node:fs takes it as a Date: to the millisecond.
    if (native) assert.equal(ns, want);
    else assert.ok(ns - want < 1_000_000n && want - ns < 1_000_000n, `node:fs: ${ns}`);
    fs.rmSync(dir, { recursive: true });
  }
});
