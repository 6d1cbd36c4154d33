/**
 * -U USER: root opens the capture (and the report), then the process becomes USER, so the
 * code that parses hostile packets does not run as root (tcpflow's droproot, spec §6.5).
 * setuid/setgid in the main thread apply to every thread of the process (glibc), the
 * worker threads included.
 */
import * as fs from 'node:fs';
import { EXIT, TcpflowError } from '../errors';
import { strerror } from './strerror';

export interface Privileges {
  user: string;
  uid: number;
  gid: number;
  done: boolean;
  /** The output directory, when this run created it (it is given to USER as well). */
  outdir: string | null;
}

function idOf(user: string, flag: '-u' | '-g'): number {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { execFileSync } = require('node:child_process') as typeof import('node:child_process');
    return Number(execFileSync('id', [flag, '--', user], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
  } catch {
    throw new TcpflowError('PRIVILEGES', `Couldn't find user '${user}'`, EXIT.INPUT);
  }
}

/** Checked before anything is opened: only root can become another user, and USER must exist. */
export function requireRoot(user: string): Privileges {
  const uid = process.getuid?.() ?? -1;
  if (uid !== 0) {
    throw new TcpflowError('PRIVILEGES', `-U ${user}: only root can relinquish privileges to another user (running as uid ${uid}); run without -U`, EXIT.USAGE);
  }
  return { user, uid: idOf(user, '-u'), gid: idOf(user, '-g'), done: false, outdir: null };
}

/**
 * Give `files` (the reports, -w) and a freshly made output directory to USER, then become
 * USER: supplementary groups, gid, uid, in that order (after setuid the others are denied).
 */
export function dropPrivileges(p: Privileges, files: readonly string[]): void {
  p.done = true;
  for (const f of [...(p.outdir !== null ? [p.outdir] : []), ...files]) {
    try {
      fs.chownSync(f, p.uid, p.gid);
    } catch (e) {
      throw new TcpflowError('PRIVILEGES', `Couldn't change owner of '${f}' to ${p.user} (uid ${p.uid}): ${strerror(e)}`, EXIT.INPUT);
    }
  }
  try {
    (process as unknown as { initgroups?: (user: string, gid: number) => void }).initgroups?.(p.user, p.gid);
    process.setgid?.(p.gid);
    process.setuid?.(p.uid);
  } catch (e) {
    throw new TcpflowError('PRIVILEGES', `Couldn't change to '${p.user}' uid=${p.uid} gid=${p.gid}: ${strerror(e)}`, EXIT.INPUT);
  }
}
