/**
 * The set of byte positions a flow has received, kept as sorted disjoint half-open
 * intervals with a running count of distinct bytes. tcpflow closes a flow once the
 * count equals the FIN position, so the count must be exact under overlaps.
 * In-order traffic keeps a single interval, so the common case is O(1).
 */
export class IntervalSet {
  private starts: number[] = [];
  private ends: number[] = [];
  private total = 0;

  get size(): number {
    return this.total;
  }

  get runs(): number {
    return this.starts.length;
  }

  add(start: number, end: number): void {
    if (end <= start) return;
    const s = this.starts, e = this.ends;
    const n = s.length;
    // Fast path: extends or follows the last interval.
    if (n === 0 || start > e[n - 1]) {
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

  /** The positions not received in [0, end), as [start, end) pairs (--resume checkpoints). */
  gaps(end: number): [number, number][] {
    const out: [number, number][] = [];
    let at = 0;
    for (let i = 0; i < this.starts.length && at < end; i++) {
      if (this.starts[i] > at) out.push([at, Math.min(this.starts[i], end)]);
      at = Math.max(at, this.ends[i]);
    }
    if (at < end) out.push([at, end]);
    return out;
  }

  /** Move every position up by `delta` (front insertion). */
  shift(delta: number): void {
    for (let i = 0; i < this.starts.length; i++) { this.starts[i] += delta; this.ends[i] += delta; }
  }

  has(pos: number): boolean {
    const s = this.starts, e = this.ends;
    let lo = 0, hi = s.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (e[mid] <= pos) lo = mid + 1; else hi = mid;
    }
    return lo < s.length && s[lo] <= pos;
  }
}
