import { createHash, type Hash } from 'node:crypto';
import type { FlowScan, Scanner, StoredContent } from './scanner';

const READ_STEP = 1 << 20;

/**
 * MD5 of every flow's content (-e md5, -FM), small or repetitive flows included (spec
 * B10, B11): hashed as the bytes arrive when they arrive in order, else read back when
 * the flow ends, so the digest is always that of the flow file.
 */
export const md5Scanner: Scanner = {
  name: 'md5',
  open(): FlowScan {
    let hash: Hash | null = createHash('md5');
    return {
      onData(_pos, bytes) {
        hash?.update(bytes);
      },
      onClose(content, streamed) {
        const h = streamed && hash !== null ? hash : hashContent(content);
        hash = null;
        return { md5: h.digest('hex') };
      },
    };
  },
};

function hashContent(content: StoredContent): Hash {
  const h = createHash('md5');
  for (let pos = 0; ; pos += READ_STEP) {
    const b = content.read(pos, READ_STEP);
    h.update(b);
    if (b.length < READ_STEP) return h;
  }
}
