import type { FlowRecord } from '../../report/flow-record';
import { removeFile } from './body-file';

/**
 * tcpflow scans a content once per run (spec §8): a response flow whose bytes equal those
 * of a flow reported before it gets no bodies and no <byte_runs>. Workers extract every
 * flow's bodies and note its content's SHA-256; the report merge, which sees the records in
 * the report's order whatever the number of workers, keeps the first of each content and
 * removes the bodies of the others (the same bytes are in the first one's files).
 */
export class HttpDuplicates {
  private readonly seen = new Set<string>();

  filter(record: FlowRecord): void {
    const digest = record.http_content_sha256;
    if (digest === undefined) return;
    record.http_content_sha256 = undefined;
    // The digest is a slice of the spill line the record was read from: kept as it is, it
    // would keep the whole line alive for the rest of the run (-e http on http-many-60k:
    // ~25 MB of the coordinator's heap). Its 32 bytes as a string of their own are the key.
    const key = Buffer.from(digest, 'base64').toString('latin1');
    if (!this.seen.has(key)) {
      this.seen.add(key);
      return;
    }
    for (const run of record.byte_runs ?? []) removeFile(run.filename);
    record.byte_runs = undefined;
  }
}
