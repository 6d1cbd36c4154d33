/**
 * A reference model of the open-flow cap (-S max_flows): per bucket, the open flows in
 * least-recently-seen order, kept in a Map's insertion order (delete and set again to
 * move a flow to the end) rather than TcpDemux's intrusive list, so the two can be
 * compared. Keys are whatever names a flow direction in the test.
 */
export class FlowCapModel {
  private readonly buckets = new Map<number, Map<string, true>>();
  created = 0;
  purged = 0;
  /** Keys closed by the cap, in order. */
  readonly purgedKeys: string[] = [];

  constructor(readonly perBucket: number) {}

  private bucket(b: number): Map<string, true> {
    let m = this.buckets.get(b);
    if (m === undefined) this.buckets.set(b, (m = new Map()));
    return m;
  }

  isOpen(bucket: number, key: string): boolean {
    return this.bucket(bucket).has(key);
  }

  /**
   * A packet counted in flow `key`: creates it if it is not open (closing the bucket's
   * least recently seen flow first when the bucket is full), else makes it the most
   * recently seen. Returns whether it was created.
   */
  seen(bucket: number, key: string): boolean {
    const m = this.bucket(bucket);
    if (m.delete(key)) {
      m.set(key, true);
      return false;
    }
    if (m.size >= this.perBucket) {
      const oldest = m.keys().next().value as string;
      m.delete(oldest);
      this.purged++;
      this.purgedKeys.push(oldest);
    }
    m.set(key, true);
    this.created++;
    return true;
  }

  close(bucket: number, key: string): void {
    this.bucket(bucket).delete(key);
  }

  /** Open flows of a bucket, least recently seen first. */
  openIn(bucket: number): string[] {
    return [...this.bucket(bucket).keys()];
  }

  get openCount(): number {
    let n = 0;
    for (const m of this.buckets.values()) n += m.size;
    return n;
  }
}
