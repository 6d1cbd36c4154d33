import * as fs from 'node:fs';
import { EXIT, TcpflowError } from '../errors';
import { strerror } from '../util/strerror';
import type { Logger } from '../util/log';

/**
 * -S tcp_alert_fd=N / http_alert_fd=N: `open<TAB>path` and `close<TAB>path` lines on an
 * inherited descriptor (spec §8.5). Each line is one write(2), so lines written by
 * different worker threads never mix (a pipe keeps writes of up to PIPE_BUF bytes whole).
 * A descriptor that stops taking lines (its reader gone) is given up with one warning:
 * the flows matter more than the alerts.
 */
export class AlertFd {
  private broken = false;

  constructor(private readonly fd: number, private readonly param: string, private readonly log: Logger) {}

  opened(p: string): void {
    this.line(`open\t${p}\n`);
  }

  closed(p: string): void {
    this.line(`close\t${p}\n`);
  }

  private line(text: string): void {
    if (this.broken) return;
    const b = Buffer.from(text);
    try {
      let done = 0;
      while (done < b.length) done += fs.writeSync(this.fd, b, done);
    } catch (e) {
      this.broken = true;
      this.log.warn(`-S ${this.param}=${this.fd}: ${strerror(e)}: no more alerts are written to it`);
    }
  }
}

/**
 * At start-up: the descriptor must be one the caller gave (`3>alerts.txt`) and open for
 * writing, or the run stops before writing anything. Node and libuv keep descriptors of
 * their own (event loops, eventfds, pipes whose reading and writing ends are both in
 * this process) next to the inherited ones: writing alerts into one of those would break
 * the runtime, so on Linux (/proc) they are refused.
 */
export function checkAlertFd(param: string, fd: number, proc = '/proc/self'): void {
  const target = (n: number | string): string | null => {
    try {
      return fs.readlinkSync(`${proc}/fd/${n}`);
    } catch {
      return null;
    }
  };
  const readOnly = (n: number | string): boolean => {
    try {
      return (parseInt(/^flags:\s*([0-7]+)/m.exec(fs.readFileSync(`${proc}/fdinfo/${n}`, 'latin1'))?.[1] ?? '1', 8) & 3) === 0;
    } catch {
      return false;
    }
  };
  const link = target(fd);
  const own = link !== null && (link.startsWith('anon_inode:') ||
    (link.startsWith('pipe:') && fs.readdirSync(`${proc}/fd`).some((n) => target(n) === link && readOnly(n))));
  if (own) {
    throw new TcpflowError('USAGE', `-S ${param}=${fd}: descriptor ${fd} was not given to tcpflow-ts (open it for the run, e.g. ${fd}>alerts.txt)`, EXIT.USAGE);
  }
  try {
    // A zero-length write fails on a closed or read-only descriptor, and writes nothing.
    fs.writeSync(fd, Buffer.alloc(0));
  } catch (e) {
    throw new TcpflowError('USAGE', `-S ${param}=${fd}: descriptor ${fd} cannot be written: ${strerror(e)}`, EXIT.USAGE);
  }
}
