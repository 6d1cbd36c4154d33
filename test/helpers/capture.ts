/** Shared by the pcap and pcapng reader tests: read a capture whole, check errors. */
import assert from 'node:assert/strict';
import * as path from 'path';
import { openCapture, Truncation } from '../../src/capture/reader';
import { allocChunk, Chunk } from '../../src/capture/chunk';
import { TcpflowError, EXIT } from '../../src/errors';

export const FIX = path.join(__dirname, '../../../fixtures/pcaps');
export const fx = (name: string): string => path.join(FIX, name);

export interface Rec { caplen: number; origlen: number; sec: number; usec: number; linktype: number; bytes: Buffer }
export interface Result { format: string; recs: Rec[]; truncation: Truncation | null; fills: number }

/** Read a whole capture, alternating between the chunks of `ring` as the coordinator does. */
export function readAll(file: string, ring: Chunk[] = [allocChunk(), allocChunk()]): Result {
  const r = openCapture(file);
  const recs: Rec[] = [];
  let fills = 0;
  try {
    for (;;) {
      const c = ring[fills % ring.length];
      const n = r.fill(c);
      assert.equal(n, c.count);
      if (n === 0) break;
      assert.ok(++fills < 1e6, 'fill never ends');
      for (let i = 0; i < n; i++) {
        assert.ok(c.offset[i] >= 0 && c.offset[i] + c.caplen[i] <= c.data.length);
        recs.push({
          caplen: c.caplen[i], origlen: c.origlen[i], sec: c.sec[i], usec: c.usec[i], linktype: c.linktype[i],
          bytes: Buffer.from(c.data.subarray(c.offset[i], c.offset[i] + c.caplen[i])),
        });
      }
    }
    return { format: r.format, recs, truncation: r.truncation, fills };
  } finally {
    r.close();
  }
}

/** fn must throw a TcpflowError with this code (input errors exit with EXIT.INPUT) and message. */
export function expectError(fn: () => unknown, code: string, message?: string | RegExp): TcpflowError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof TcpflowError, `not a TcpflowError: ${String(e)}`);
    assert.equal(e.code, code, e.message);
    assert.equal(e.exitCode, EXIT.INPUT);
    if (typeof message === 'string') assert.equal(e.message, message);
    else if (message) assert.match(e.message, message);
    return e;
  }
  assert.fail(`expected ${code}`);
}
