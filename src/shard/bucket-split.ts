import { FLOW_BUCKETS } from '../flow/buckets';

/**
 * Which session owns each flow bucket: `owner[bucket]` is a session index. A bucket lives
 * in exactly one session for the whole run (its flows, its open-flow cap), so any table
 * gives the same output; the table only decides how the work is shared out.
 */
export interface BucketSplit {
  /** Sessions (record lists per chunk), owners of buckets or not. */
  readonly sessions: number;
  readonly owner: Int32Array;
}

/**
 * Buckets shared out in proportion to `weights` (one per session, each finite and >= 0,
 * at least one > 0), in bucket order, each bucket to the session furthest behind its share so far (the
 * lowest index among equals). Equal weights give bucket mod sessions; a session's count is
 * its share of FLOW_BUCKETS rounded up or down; with more sessions than buckets, the sessions
 * after the 64th get none (as with bucket mod sessions).
 */
export function splitBuckets(weights: readonly number[]): BucketSplit {
  const sessions = weights.length;
  const total = weights.reduce((a, b) => a + b, 0);
  if (!(total > 0) || weights.some((w) => !(w >= 0 && Number.isFinite(w)))) throw new RangeError(`bucket weights ${weights.join(', ')}`);
  const owner = new Int32Array(FLOW_BUCKETS);
  const given = new Float64Array(sessions);
  for (let b = 0; b < FLOW_BUCKETS; b++) {
    // Behind = share of the buckets so far, this one included, minus what it has.
    let best = -1, bestBehind = -Infinity;
    for (let s = 0; s < sessions; s++) {
      if (weights[s] === 0) continue;
      const behind = (weights[s] / total) * (b + 1) - given[s];
      if (behind > bestBehind + 1e-9) { best = s; bestBehind = behind; }
    }
    owner[b] = best;
    given[best]++;
  }
  return { sessions, owner };
}

/** Every session an equal share: bucket mod sessions. */
export function evenSplit(sessions: number): BucketSplit {
  return splitBuckets(new Array<number>(sessions).fill(1));
}
