
/**
 * Keep V8's heaps close to their live data. Between major GCs V8 lets a heap grow up to
 * about 4× what the last one left alive when much is allocated, which is the case when
 * flows are created and closed by the million: with the open-flow cap the live flow
 * tables are bounded, but that slack made the peak RSS for 2,000,000 half-open flows
 * 2.2 GB (each worker's live data ~220 MB, its heap ~930 MB). Growing by at most 50%
 * brought it to 1.0 GB, with no measurable cost on the bulk and many benchmarks (README,
 * "Resource bounds"). V8 flags are process-wide: call this once every worker thread has
 * booted (src/run.ts says why), so that no thread reads them while another one writes them
 * during its start-up.
 */
export function limitHeapGrowth(): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const v8 = require('node:v8') as typeof import('node:v8');
  v8.setFlagsFromString('--heap-growing-percent=50');
  // For fullCollector() in the worker threads, which ask for it once they are running.
  v8.setFlagsFromString('--expose-gc');
}

/**
 * A full garbage collection of the calling thread's heap, or null where V8 gives none.
 * On a long run that allocates slowly (long flows) a worker's heap creeps towards V8's
 * next collection limit for tens of seconds, so a short run never reaches the peak a long
 * one does (README, "Resource bounds": 1 GB 129 MB, 5 GB 146-150 MB). Collecting at a
 * fixed pace of the run's progress keeps the heap near its live data however long the input.
 */
export function fullCollector(): (() => void) | null {
  try {
    // A new context has the gc function once --expose-gc is set (limitHeapGrowth).
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const gc: unknown = (require('node:vm') as typeof import('node:vm')).runInNewContext('gc');
    return typeof gc === 'function' ? gc as () => void : null;
  } catch {
    return null;
  }
}
