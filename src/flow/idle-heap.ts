import type { Flow } from './flow';

/**
 * Open flows by the time they went idle, for -S tcp_timeout: a binary min-heap on
 * `idleKey`, each flow knowing its place (`idleIndex`) so a flow that closes for another
 * reason leaves at once. Packets only move a flow's `idleFrom` forward; its key catches
 * up lazily when it reaches the top (no heap work per packet).
 */
export class IdleHeap {
  private readonly heap: Flow[] = [];

  get size(): number {
    return this.heap.length;
  }

  add(flow: Flow): void {
    flow.idleKey = flow.idleFrom;
    flow.idleIndex = this.heap.length;
    this.heap.push(flow);
    this.up(flow.idleIndex);
  }

  remove(flow: Flow): void {
    const i = flow.idleIndex;
    if (i < 0) return;
    flow.idleIndex = -1;
    const last = this.heap.pop() as Flow;
    if (last === flow) return;
    this.heap[i] = last;
    last.idleIndex = i;
    this.down(i);
    this.up(last.idleIndex);
  }

  /** The earliest idle key (a lower bound of every open flow's idleFrom), or Infinity. */
  minKey(): number {
    return this.heap.length > 0 ? this.heap[0].idleKey : Infinity;
  }

  /**
   * The flow idle since the earliest time, if that is before `limit`, else null; stale
   * keys (the flow had packets since) are brought up to date on the way.
   */
  idleBefore(limit: number): Flow | null {
    while (this.heap.length > 0) {
      const f = this.heap[0];
      if (f.idleKey >= limit) return null;
      if (f.idleFrom === f.idleKey) return f;
      f.idleKey = f.idleFrom;
      this.down(0);
    }
    return null;
  }

  private up(i: number): void {
    const h = this.heap;
    const f = h[i];
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (h[p].idleKey <= f.idleKey) break;
      h[i] = h[p];
      h[i].idleIndex = i;
      i = p;
    }
    h[i] = f;
    f.idleIndex = i;
  }

  private down(i: number): void {
    const h = this.heap, n = h.length;
    const f = h[i];
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && h[c + 1].idleKey < h[c].idleKey) c++;
      if (h[c].idleKey >= f.idleKey) break;
      h[i] = h[c];
      h[i].idleIndex = i;
      i = c;
    }
    h[i] = f;
    f.idleIndex = i;
  }
}
