/**
 * Flows are spread over a fixed number of buckets by a symmetric hash of their connection
 * (src/shard/hash.ts). A bucket always lives in exactly one worker (bucket mod workers),
 * so the packets a bucket sees, in order, are the same for any worker count: whatever is
 * decided per bucket (the open-flow cap below) gives the same output for any --workers.
 */
export const FLOW_BUCKETS = 64;

/**
 * Heap bytes per established open flow in a worker (with a file name and received bytes in
 * order), measured with scripts/flow-heap.ts (Node 20, see the README's "Resource bounds").
 */
export const ESTABLISHED_FLOW_BYTES = 1540;

/**
 * Default of `-S max_flows`: open flows kept before the least recently seen are closed.
 * 300,000 established flows take ~462 MB, so the flow tables stay under 0.5 GB.
 */
export const DEFAULT_MAX_FLOWS = 300_000;

/** The cap applies per bucket: each bucket may hold ceil(max_flows / FLOW_BUCKETS) flows. */
export function perBucketCap(maxFlows: number): number {
  return Math.ceil(maxFlows / FLOW_BUCKETS);
}
