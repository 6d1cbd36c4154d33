import * as fs from 'node:fs';

/** The soft RLIMIT_NOFILE of this process (Linux /proc), or a conservative 1024. */
export function openFileLimit(): number {
  try {
    const text = fs.readFileSync('/proc/self/limits', 'latin1');
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(text);
    if (m) return m[1] === 'unlimited' ? 1 << 20 : Number(m[1]);
  } catch { /* not Linux */ }
  return 1024;
}
