/**
 * The reader thread (src/capture/read-thread.ts starts it): fills the chunks the main thread
 * names, in order, from a capture file: reads each chunk's range (the main thread may read
 * some of its pieces: src/capture/pieces.ts) and walks its records into the chunk's index,
 * with the same reader, parsers and errors as a capture read in the main thread.
 */
import * as fs from 'node:fs';
import { type MessagePort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import type { Chunk } from './chunk';
import { END, FAILED, PieceInput, ReadControl, STOP } from './pieces';
import { type Handoff, resumeCapture, Source } from './reader';
import { captureSource, type PacketSource, TruncatedInput } from './source';
import { TcpflowError } from '../errors';

/** What the main thread sends on the port, besides the commands in shared memory. */
export type ToReader =
  | { type: 'start'; handoff: Handoff; size: number }
  | { type: 'chunk'; id: number; chunk: Chunk };

/** An error of a fill, sent on the port before its result says FAILED. */
export interface ReadFailure { seq: number; code: string; message: string; exitCode: number; truncation: TruncatedInput['truncation'] | undefined }

export interface ReaderData { path: string; control: SharedArrayBuffer; port: MessagePort }

async function main(data: ReaderData): Promise<void> {
  const control = new ReadControl(data.control);
  const port = data.port;
  let fd: number;
  try {
    fd = fs.openSync(data.path, 'r');
  } catch {
    control.setReady(-1);
    return;
  }
  const input = new PieceInput(data.path, fd, control.table);
  const src = new Source(data.path, input);
  control.setReady(1);
  const chunks: Chunk[] = [];
  let source: PacketSource | null = null;
  const receive = (): void => {
    for (let m = receiveMessageOnPort(port); m !== undefined; m = receiveMessageOnPort(port)) {
      const msg = m.message as ToReader;
      if (msg.type === 'chunk') chunks[msg.id] = msg.chunk;
      else source = captureSource(resumeCapture(src, msg.handoff, msg.size));
    }
  };
  try {
    for (let seq = 0; ; seq++) {
      const id = control.command(seq);
      if (id === STOP) break;
      receive();
      const chunk = chunks[id];
      let result: number;
      try {
        if (source === null) throw new Error('internal: a chunk before the start');
        // The chunk's range is read (pieces: the main thread may help) before it is walked;
        // it was asked for with the chunk before, unless there was none or it could not be.
        if (!input.reading) {
          input.slot = id;
          src.readAhead(chunk.input);
        }
        input.finish();
        // The chunk after it, when already named, is asked for before this one is walked:
        // the main thread may read pieces of it meanwhile.
        const after = control.peek(seq + 1);
        if (after !== undefined && after !== STOP) receive();
        input.slot = after ?? -1;
        const n = await (source as PacketSource).fill(chunk, after === undefined || after === STOP ? undefined : chunks[after]);
        result = n === null ? END : n;
      } catch (e) {
        const failure: ReadFailure = e instanceof TcpflowError
          ? { seq, code: e.code, message: e.message, exitCode: e.exitCode, truncation: e instanceof TruncatedInput ? e.truncation : undefined }
          : { seq, code: 'INTERNAL', message: e instanceof Error ? e.stack ?? e.message : String(e), exitCode: 0, truncation: undefined };
        port.postMessage(failure);
        result = FAILED;
      }
      control.answer(seq, result, src.fileProgress().done);
    }
  } finally {
    src.close();
  }
}

void main(workerData as ReaderData);
