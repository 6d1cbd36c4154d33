import * as fs from 'node:fs';
import * as path from 'node:path';

/** Bytes available to us on the file system of `file` (which need not exist yet), or Infinity if unknown. */
export function freeSpace(file: string): number {
  try {
    const st = fs.statfsSync(path.dirname(file));
    return st.bavail * st.bsize;
  } catch {
    return Infinity;
  }
}
