import * as fs from 'node:fs';

/**
 * Per-worker spill file of rendered <fileobject> records, each tagged with its sort key
 * (the packet that closed the flow, then the packet that created it). A worker closes
 * flows in increasing key order, so each file is sorted and the coordinator merges them
 * in one streaming pass: memory stays flat however many flows there are.
 */
const FLUSH_AT = 256 * 1024;
/** Flows still open at the end of input sort after every flow closed during the run. */
export const END_OF_INPUT = Number.MAX_SAFE_INTEGER;

export class FragmentWriter {
  private fd: number;
  private buf = '';
  count = 0;

  constructor(readonly path: string) {
    this.fd = fs.openSync(path, 'w', 0o600);
  }

  add(closePacket: number, firstPacket: number, xml: string): void {
    const close = closePacket === Infinity ? END_OF_INPUT : closePacket;
    this.buf += `${close} ${firstPacket} ${Buffer.byteLength(xml)}\n${xml}`;
    this.count++;
    if (this.buf.length >= FLUSH_AT) this.flush();
  }

  flush(): void {
    if (this.buf.length === 0) return;
    fs.writeSync(this.fd, this.buf);
    this.buf = '';
  }

  close(): void {
    this.flush();
    fs.closeSync(this.fd);
  }
}

/** Sequential reader of one fragment file. */
class FragmentReader {
  private fd: number;
  private buf = Buffer.alloc(0);
  private pos = 0;
  private eof = false;
  close = 0;
  first = 0;
  xml: Buffer | null = null;

  constructor(p: string) {
    this.fd = fs.openSync(p, 'r');
    this.next();
  }

  /** Load the next record into close/first/xml; xml is null at the end. */
  next(): void {
    const nl = this.indexOfNewline();
    if (nl < 0) { this.xml = null; fs.closeSync(this.fd); return; }
    const [c, f, n] = this.buf.toString('latin1', this.pos, nl).split(' ').map(Number);
    this.pos = nl + 1;
    this.ensure(n);
    this.close = c;
    this.first = f;
    this.xml = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
  }

  private indexOfNewline(): number {
    for (;;) {
      const nl = this.buf.indexOf(10, this.pos);
      if (nl >= 0) return nl;
      if (!this.more()) return -1;
    }
  }

  private ensure(n: number): void {
    while (this.buf.length - this.pos < n) {
      if (!this.more()) throw new Error('report fragment file is truncated');
    }
  }

  private more(): boolean {
    if (this.eof) return false;
    const rest = this.buf.subarray(this.pos);
    const chunk = Buffer.allocUnsafe(Math.max(1 << 20, rest.length));
    const n = fs.readSync(this.fd, chunk, 0, chunk.length, null);
    if (n === 0) { this.eof = true; return false; }
    this.buf = Buffer.concat([rest, chunk.subarray(0, n)]);
    this.pos = 0;
    return true;
  }
}

/** Merge the workers' fragment files into `write`, in (close packet, first packet) order. */
export function mergeFragments(paths: string[], write: (b: Buffer) => void): void {
  const readers = paths.map((p) => new FragmentReader(p)).filter((r) => r.xml !== null);
  // Few workers: a linear scan for the minimum beats a heap.
  while (readers.length > 0) {
    let best = 0;
    for (let i = 1; i < readers.length; i++) {
      const a = readers[i], b = readers[best];
      if (a.close < b.close || (a.close === b.close && a.first < b.first)) best = i;
    }
    const r = readers[best];
    write(r.xml as Buffer);
    r.next();
    if (r.xml === null) readers.splice(best, 1);
  }
}
