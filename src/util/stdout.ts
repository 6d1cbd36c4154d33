import * as fs from 'node:fs';
import { EXIT, TcpflowError, outputError } from '../errors';
import { sleepSync } from './sleep';

/**
 * Text to standard output, byte for byte (latin1), synchronously: console text must leave in
 * packet order and before the run ends, and a non-blocking pipe is waited out.
 *
 * Node ignores SIGPIPE, so a reader that went away (`| head`) shows up as EPIPE here instead
 * of ending the process as it ends tcpflow, cat or grep. It becomes a STDOUT_CLOSED error
 * (exit status 141, what the shell reports for them) that callers end on without a message.
 */
export function writeStdout(text: string): void {
  const b = Buffer.from(text, 'latin1');
  for (let off = 0; off < b.length;) {
    try {
      off += fs.writeSync(1, b, off, b.length - off);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EPIPE') throw new TcpflowError('STDOUT_CLOSED', 'standard output was closed by its reader: reading stopped', EXIT.STDOUT_CLOSED);
      if (code !== 'EAGAIN') throw outputError('standard output', e);
      sleepSync(1);
    }
  }
}
