/** What Recency needs of a flow: when it was last seen, and its place in its bucket's heap. */
export interface SeenFlow {
  /** Global number of the flow's latest packet: its true key, which only grows. */
  readonly lastPacket: number;
  /** Its index in its bucket's heap (-1: in none); kept by Recency. */
  recencyIndex: number;
}

/**
 * The open flows of each flow bucket by when they were last seen, for the open-flow cap
 * (-S max_flows: a full bucket's least recently seen flow is closed). Nothing is done per
 * packet: a flow's `lastPacket` is its true key, and its bucket's min-heap holds it under
 * the key it had when it was put there, a lower bound. The least recently seen flow is
 * found at the top: a top whose flow has been seen since takes its new key and sinks, until
 * the top's key is its flow's true key. That flow has the smallest true key of all (every
 * other key is at most its flow's), so the answer is exact; keys are packet numbers, which
 * no two flows share. The keys sit in arrays of their own: comparisons read no flow.
 *
 * This replaced a least-recently-seen list per bucket: moving a flow to the list's end at
 * every packet touched its two neighbours, two cache misses per packet with 30,000 flows
 * open (perf on conc.pcap: `unlink` alone was 1.2 % of the run's CPU). A new flow has the
 * largest key and stays where it is put; a closing one is replaced by the last entry.
 */
export class Recency<F extends SeenFlow> {
  private readonly flows: F[][] = [];
  private readonly keys: number[][] = [];

  constructor(buckets: number) {
    for (let b = 0; b < buckets; b++) {
      this.flows.push([]);
      this.keys.push([]);
    }
  }

  /** A new open flow in bucket `b` (seen now: its lastPacket). */
  add(b: number, flow: F): void {
    const flows = this.flows[b], keys = this.keys[b];
    flows.push(flow);
    keys.push(flow.lastPacket);
    this.siftUp(flows, keys, flows.length - 1);
  }

  /** A flow of bucket `b` closed: it leaves the heap. */
  remove(b: number, flow: F): void {
    const flows = this.flows[b], keys = this.keys[b], i = flow.recencyIndex;
    if (i < 0) return;
    flow.recencyIndex = -1;
    const last = flows.pop() as F, key = keys.pop() as number;
    if (last === flow) return;
    flows[i] = last;
    keys[i] = key;
    last.recencyIndex = i;
    this.siftDown(flows, keys, i);
    this.siftUp(flows, keys, last.recencyIndex);
  }

  /** The open flow of bucket `b` seen least recently, or null when there is none. */
  leastRecent(b: number): F | null {
    const flows = this.flows[b], keys = this.keys[b];
    while (flows.length > 0) {
      const top = flows[0];
      if (top.lastPacket === keys[0]) return top;
      keys[0] = top.lastPacket;
      this.siftDown(flows, keys, 0);
    }
    return null;
  }

  /** Bucket `b`'s open flows, least recently seen first (tests and diagnostics). */
  list(b: number): F[] {
    return this.flows[b].slice().sort((x, y) => x.lastPacket - y.lastPacket);
  }

  private siftUp(flows: F[], keys: number[], i: number): void {
    const flow = flows[i], key = keys[i];
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (keys[p] <= key) break;
      this.place(flows, keys, i, flows[p], keys[p]);
      i = p;
    }
    this.place(flows, keys, i, flow, key);
  }

  private siftDown(flows: F[], keys: number[], i: number): void {
    const flow = flows[i], key = keys[i], n = flows.length;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && keys[c + 1] < keys[c]) c++;
      if (keys[c] >= key) break;
      this.place(flows, keys, i, flows[c], keys[c]);
      i = c;
    }
    this.place(flows, keys, i, flow, key);
  }

  private place(flows: F[], keys: number[], i: number, flow: F, key: number): void {
    flows[i] = flow;
    keys[i] = key;
    flow.recencyIndex = i;
  }
}
