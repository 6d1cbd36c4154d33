import * as path from 'node:path';

/** Files in a --resume journal directory, named by attempt (a run and each resumption), worker and checkpoint. */
export const JOURNAL = 'journal.json';

export function createdLogPath(dir: string, attempt: number, worker: number): string {
  return path.join(dir, `created-${attempt}-${worker}`);
}

export function cutFilePath(dir: string, attempt: number, seq: number, worker: number): string {
  return path.join(dir, `cut-${attempt}-${seq}-${worker}`);
}

/** Records kept from an earlier attempt (its spill up to its last checkpoint, or its cut flows). */
export function keptRecordsPath(dir: string, attempt: number, what: string): string {
  return path.join(dir, `records-${attempt}-${what}`);
}
