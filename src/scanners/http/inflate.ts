
/** Content codings the http scanner decodes (tcpflow: gzip and deflate; tcpflow-ts adds br). */
export type Coding = 'gzip' | 'deflate' | 'br';

/**
 * The zlib engine as node:zlib builds it, driven one synchronous step at a time. Node has
 * no public API for synchronous streaming decompression (the *Sync functions take the
 * whole input and hold the whole output), so this uses the handle its streams use:
 * `writeSync(flush, in, inOff, inLen, out, outOff, outLen)`, which leaves
 * [availOut, availIn] in `_writeState` (lib/zlib.js processChunkSync does the same).
 * INTERNALS is checked once at load; test/scanners/http/inflate.test.ts pins it down.
 */
interface Engine {
  _handle: { writeSync(flush: number, input: Uint8Array, inOff: number, inLen: number, out: Uint8Array, outOff: number, outLen: number): void } | null;
  _writeState: Uint32Array;
  destroyed: boolean;
  on(event: 'error', listener: (e: Error) => void): unknown;
  close(): void;
}

const OUT_STEP = 64 * 1024;
const RATIO_BLOCK = 4096;

function engineFor(coding: Coding): { engine: Engine; flush: number } {
  // Unzip detects gzip or zlib, as tcpflow's inflateInit2(32 + MAX_WBITS) does, for both
  // "gzip" and "deflate" (servers send raw zlib streams as "deflate").
  // node:zlib loaded on the first compressed body: most runs decode none (start-up, README).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const zlib = require('node:zlib') as typeof import('node:zlib');
  const stream = coding === 'br' ? zlib.createBrotliDecompress() : zlib.createUnzip();
  const engine = stream as unknown as Engine;
  if (engine._handle === null || typeof engine._handle.writeSync !== 'function' || !(engine._writeState instanceof Uint32Array)) {
    throw new Error('internal: node:zlib no longer has the synchronous engine the http scanner drives');
  }
  // A failed step destroys the stream, which then emits 'error' on the next tick: seen here
  // synchronously through `destroyed`, and the event must not go unhandled.
  engine.on('error', () => undefined);
  return { engine, flush: coding === 'br' ? zlib.constants.BROTLI_OPERATION_PROCESS : zlib.constants.Z_SYNC_FLUSH };
}

/** Limits on one body's decoded size (spec: a zip bomb must not fill memory or disk). */
export interface InflateLimits {
  /** Decoded bytes of one body at most. */
  maxBytes: number;
  /** Decoded bytes per encoded byte at most, once past `ratioFloor` decoded bytes. */
  maxRatio: number;
  ratioFloor: number;
}

export const DEFAULT_INFLATE_LIMITS: InflateLimits = { maxBytes: 256 * 1024 * 1024, maxRatio: 100, ratioFloor: 1024 * 1024 };

/**
 * Decodes one body's content coding incrementally, handing decoded bytes to `out` as they
 * come. Like tcpflow, a corrupt stream ends the decoding quietly (the rest of the body is
 * dropped; `failed` says so). A body that passes a limit is cut there and `capped` says why.
 */
export class BodyInflater {
  private engine: Engine | null;
  private readonly flush: number;
  private outBuf = Buffer.allocUnsafe(OUT_STEP);
  private consumed = 0;
  /** End of the RATIO_BLOCK of compressed bytes being decoded: what the ratio limit is measured against. */
  private blockEnd = RATIO_BLOCK;
  private produced = 0;
  failed: string | null = null;
  capped: string | null = null;

  constructor(coding: Coding, private readonly limits: InflateLimits, private readonly out: (bytes: Uint8Array) => void) {
    const e = engineFor(coding);
    this.engine = e.engine;
    this.flush = e.flush;
  }

  write(input: Uint8Array): void {
    // The ratio limit is checked against the end of the RATIO_BLOCK the input reaches, not
    // against what this piece brings: where a body is cut must not depend on how its
    // bytes were split into packets or reads.
    for (let off = 0; off < input.length && this.engine !== null;) {
      const n = Math.min(input.length - off, RATIO_BLOCK - (this.consumed % RATIO_BLOCK));
      this.blockEnd = this.consumed - (this.consumed % RATIO_BLOCK) + RATIO_BLOCK;
      this.step(input.subarray(off, off + n));
      off += n;
    }
  }

  private step(input: Uint8Array): void {
    const engine = this.engine;
    if (engine === null) return;
    let inOff = 0, inLen = input.length;
    for (;;) {
      const handle = engine._handle;
      if (handle === null) return this.stop(null);
      handle.writeSync(this.flush, input, inOff, inLen, this.outBuf, 0, OUT_STEP);
      if (engine.destroyed) return this.stop('corrupt compressed data');
      const availOut = engine._writeState[0], availIn = engine._writeState[1];
      this.consumed += inLen - availIn;
      const have = OUT_STEP - availOut;
      if (have > 0 && !this.emit(have)) return;
      // A full output buffer means the engine may have more: step again with what is left.
      if (availOut !== 0) return;
      inOff += inLen - availIn;
      inLen = availIn;
    }
  }

  /** The body ended: let go of the engine. */
  end(): void {
    this.stop(null);
  }

  private emit(have: number): boolean {
    const { maxBytes, maxRatio, ratioFloor } = this.limits;
    let n = have;
    if (this.produced + n > maxBytes) {
      n = maxBytes - this.produced;
      this.capped = `decompressed body cut at ${maxBytes} bytes (limit per body)`;
    } else if (this.produced + n > Math.max(ratioFloor, maxRatio * this.blockEnd)) {
      n = Math.max(ratioFloor, maxRatio * this.blockEnd) - this.produced;
      this.capped = `decompressed body cut at ${this.produced + n} bytes: over ${maxRatio} times the compressed bytes read (limit per body)`;
    }
    if (n > 0) {
      this.produced += n;
      this.out(this.outBuf.subarray(0, n));
      // The consumer copies what it keeps; a fresh buffer is not needed.
    }
    if (this.capped !== null) {
      this.stop(null);
      return false;
    }
    return true;
  }

  private stop(failure: string | null): void {
    if (failure !== null && this.failed === null) this.failed = failure;
    const engine = this.engine;
    this.engine = null;
    if (engine !== null && !engine.destroyed) engine.close();
  }
}
