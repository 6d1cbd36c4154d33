import * as fs from 'node:fs';
import * as path from 'node:path';
import assert from 'node:assert/strict';
import { runCli } from './corpus';

/** The flow files tcpflow-ts writes for each capture (under tmp), those that `keep` wants: real flows to feed parsers. */
export async function flowFiles(captures: string[], tmp: string, keep: (bytes: Buffer) => boolean): Promise<Buffer[]> {
  const flows: Buffer[] = [];
  for (const [i, capture] of captures.entries()) {
    const out = path.join(tmp, `flows-${i}`);
    const r = await runCli(['-r', capture, '-o', out]);
    assert.equal(r.code, 0, r.stderr);
    for (const f of fs.readdirSync(out)) {
      const b = fs.readFileSync(path.join(out, f));
      if (keep(b)) flows.push(b);
    }
  }
  return flows;
}

/** A response flow small enough to be fed many times. */
export const smallResponse = (b: Buffer): boolean => b.subarray(0, 7).toString('latin1') === 'HTTP/1.' && b.length < 200_000;
