import type { Hash } from 'node:crypto';
import { createHash } from '../util/digest';
import type { ScanFields } from '../report/flow-record';
import type { FlowScan, Scanner, StoredContent } from './scanner';

const READ_STEP = 1 << 20;

/**
 * A digest of every flow's content, small or repetitive flows included (spec B10, B11):
 * hashed as the bytes arrive when they arrive in order, else read back when the flow
 * ends, so the digest is always that of the flow file.
 */
function digestScanner(name: string, algorithm: string, field: 'md5' | 'sha256'): Scanner {
  return {
    name,
    open(): FlowScan {
      let hash: Hash | null = createHash(algorithm);
      return {
        onData(_pos, bytes) {
          hash?.update(bytes);
        },
        onClose(content, streamed): ScanFields {
          const h = streamed && hash !== null ? hash : hashContent(algorithm, content);
          hash = null;
          return { [field]: h.digest('hex') };
        },
      };
    },
  };
}

/** MD5 (-e md5, -FM): DFXML `<hashdigest type='MD5'>`. */
export const md5Scanner = digestScanner('md5', 'md5', 'md5');
/** SHA-256 (-S hash=sha256): `<hashdigest type='SHA256'>`. */
export const sha256Scanner = digestScanner('sha256', 'sha256', 'sha256');

function hashContent(algorithm: string, content: StoredContent): Hash {
  const h = createHash(algorithm);
  for (let pos = 0; ; pos += READ_STEP) {
    const b = content.read(pos, READ_STEP);
    h.update(b);
    if (b.length < READ_STEP) return h;
  }
}
