import * as fs from 'node:fs';
import { outputError } from '../errors';
import type { SinkCheckpoint } from '../flow/sink';

/**
 * A flow still open at a --resume checkpoint: what a run resumed from that checkpoint
 * makes of it. The flow ends there, as at the end of input: its record (without scanner
 * results, which are taken again from the file) and its file cut back to what it held then.
 */
export interface CutFlow {
  /** Global number of the packet that created the flow (its place in the report). */
  first: number;
  /** Its record, encoded as in a spill line (encodeRecord). */
  record: string;
  /** Its file (null: the flow stored nothing), and the byte ranges never written below its size (zeros then). */
  file: SinkCheckpoint | null;
  gaps: [number, number][];
}

/** Write a worker's cut flows, sorted by first packet, and sync the file. */
export function writeCutFile(p: string, flows: CutFlow[]): void {
  flows.sort((a, b) => a.first - b.first);
  const text = flows.map((f) => JSON.stringify(f) + '\n').join('');
  let fd = -1;
  try {
    fd = fs.openSync(p, 'w', 0o600);
    fs.writeFileSync(fd, text);
    fs.fsyncSync(fd);
  } catch (e) {
    throw outputError(p, e);
  } finally {
    if (fd >= 0) fs.closeSync(fd);
  }
}

export function readCutFile(p: string): CutFlow[] {
  return fs.readFileSync(p, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as CutFlow);
}
