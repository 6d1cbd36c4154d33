import type { Hash } from 'node:crypto';

let crypto: typeof import('node:crypto') | null = null;

/**
 * node:crypto's createHash, with node:crypto loaded on first use: a run that hashes
 * nothing (the default) does not pay ~1 ms of start-up for it.
 */
export function createHash(algorithm: string): Hash {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  crypto ??= require('node:crypto') as typeof import('node:crypto');
  return crypto.createHash(algorithm);
}
