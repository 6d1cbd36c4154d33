/**
 * The set of byte positions a flow has received, kept as sorted disjoint half-open
 * intervals with a running count of distinct bytes. tcpflow closes a flow once the
 * count equals the FIN position, so the count must be exact under overlaps.
 * In-order traffic keeps a single interval, so the common case is O(1).
 */
export class IntervalSet {
  /**
   * While the bytes came in order (at most one interval, nearly every flow): that interval
   * in two numbers, no arrays; `runs` become arrays at the first gap.
   */
  private lo = 0;
  private hi = 0;
  private one = false;
  private many: { starts: number[]; ends: number[] } | null = null;
  private total = 0;

  get size(): number {
    return this.total;
  }

  get runs(): number {
    return this.many !== null ? this.many.starts.length : this.one ? 1 : 0;
  }

  add(start: number, end: number): void {
    if (end <= start) return;
    if (this.many === null) {
      if (!this.one) {
        this.lo = start; this.hi = end; this.one = true; this.total += end - start;
        return;
      }
      if (start <= this.hi && start >= this.lo) {
        if (end > this.hi) { this.total += end - this.hi; this.hi = end; }
        return;
      }
      this.many = { starts: [this.lo], ends: [this.hi] };
    }
    const s = this.many.starts, e = this.many.ends;
    const n = s.length;
    // Fast path: extends or follows the last interval.
    if (start > e[n - 1]) {
      s.push(start); e.push(end); this.total += end - start;
      return;
    }
    if (start >= s[n - 1]) {
      if (end > e[n - 1]) { this.total += end - e[n - 1]; e[n - 1] = end; }
      return;
    }
    // General case: find the first interval that ends at or after start.
    let lo = 0, hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (e[mid] < start) lo = mid + 1; else hi = mid;
    }
    let first = lo;
    let newStart = start, newEnd = end, covered = 0, last = first;
    while (last < n && s[last] <= end) {
      newStart = Math.min(newStart, s[last]);
      newEnd = Math.max(newEnd, e[last]);
      covered += e[last] - s[last];
      last++;
    }
    this.total += (newEnd - newStart) - covered;
    s.splice(first, last - first, newStart);
    e.splice(first, last - first, newEnd);
  }

  /** The intervals as arrays (rare paths: checkpoints, lookups). */
  private arrays(): { starts: number[]; ends: number[] } {
    return this.many ?? (this.one ? { starts: [this.lo], ends: [this.hi] } : { starts: [], ends: [] });
  }

  /** The positions not received in [0, end), as [start, end) pairs (--resume checkpoints). */
  gaps(end: number): [number, number][] {
    const out: [number, number][] = [];
    const { starts, ends } = this.arrays();
    let at = 0;
    for (let i = 0; i < starts.length && at < end; i++) {
      if (starts[i] > at) out.push([at, Math.min(starts[i], end)]);
      at = Math.max(at, ends[i]);
    }
    if (at < end) out.push([at, end]);
    return out;
  }

  /** Move every position up by `delta` (front insertion). */
  shift(delta: number): void {
    this.lo += delta;
    this.hi += delta;
    const m = this.many;
    if (m !== null) for (let i = 0; i < m.starts.length; i++) { m.starts[i] += delta; m.ends[i] += delta; }
  }

  has(pos: number): boolean {
    const { starts: s, ends: e } = this.arrays();
    let lo = 0, hi = s.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (e[mid] <= pos) lo = mid + 1; else hi = mid;
    }
    return lo < s.length && s[lo] <= pos;
  }
}
