import { HTTPParser, type HeaderInfo } from 'http-parser-js';
import { copyOf } from './body-file';
import { HeadFinder, MORE, PlainHead, readPlainHead, readPlainRequest } from './plain-head';

/** A response's status line and headers, as the http scanner needs them. */
export interface ResponseHead {
  statusCode: number;
  /** Content-Type and Content-Encoding ('' when absent); a repeated header counts with its last value (tcpflow's std::map). */
  contentType: string;
  contentEncoding: string;
  /** 101 Switching Protocols with Upgrade: the rest of the stream is another protocol. */
  upgrade: boolean;
}

export interface ResponseEvents {
  /**
   * A response's headers ended. `number` is tcpflow's NNN (1, 2, ... in this parser
   * instance); true means it has no body whatever its headers say (a response to HEAD).
   */
  head(number: number, head: ResponseHead): boolean;
  /** Body bytes (chunk framing removed, still content-coded) at `offset` from the start of this parser instance. */
  body(bytes: Uint8Array, offset: number): void;
  /** The current response ended (complete, or cut by an error or the end of the stream). */
  end(): void;
}

const CR = 0x0d, LF = 0x0a;
/** The head just read by readPlainHead or readPlainRequest: used at once, so one serves every stream. */
const plainHead = new PlainHead();
/** A chunk's data held back at most (see chunkData); past it, it is written at once. */
const HOLD_LIMIT = 1 << 20;

/** A head longer than http-parser's limit (CallbackParser.checkHeadSize). */
const HEAD_OVERFLOW = new Error('max header size exceeded');

/** http-parser-js's parser with the internals this module overrides (see ResponseParser). */
interface ParserCore {
  state: string;
  offset: number;
  chunk: Buffer;
  isUserCall: boolean;
  headerSize: number;
  execute(chunk: Buffer, start: number, length: number): number | Error;
  finish(): void | Error;
  initialize(type: 'REQUEST' | 'RESPONSE'): void;
  parseHeader(line: string, headers: string[]): void;
}
type ParserClass = new (type: 'REQUEST' | 'RESPONSE') => ParserCore;
const Parser = HTTPParser as unknown as ParserClass;
const core = HTTPParser.prototype as unknown as Record<string, (this: ParserCore, ...args: never[]) => unknown>;
const chunkEmptyLine = core.BODY_CHUNKEMPTYLINE as (this: ParserCore) => boolean | undefined;
const lenientParseHeader = core.parseHeader as (this: ParserCore, line: string, headers: string[]) => void;

/**
 * http-parser-js's userCall hands a fresh closure to each callback's result; one per parser
 * does. And its 80 KiB head limit counts per message, as http-parser's does (tcpflow's).
 */
abstract class CallbackParser extends Parser {
  private readonly endUserCall = (ret: unknown): unknown => {
    this.isUserCall = false;
    return ret;
  };
  /** Where the current execute() call started in its chunk. */
  private callStart = 0;

  override execute(chunk: Buffer, start: number, length: number): number | Error {
    this.callStart = start;
    try {
      return super.execute(chunk, start, length);
    } catch (e) {
      // Thrown from a callback (headersComplete), so http-parser-js passed it on.
      if (e !== HEAD_OVERFLOW) throw e;
      this.isUserCall = false;
      return HEAD_OVERFLOW;
    }
  }

  /**
   * At headersComplete: http-parser-js checks its limit only when execute() ends, so a
   * whole head inside one piece was never checked; http-parser stops at the head's byte
   * 80 KiB + 1, before the head is handed on. (headerSize: this head's bytes before this
   * call, or minus the call's bytes before it; see initialize.)
   */
  protected checkHeadSize(): void {
    if (this.headerSize + this.offset - this.callStart > HTTPParser.maxHeaderSize) throw HEAD_OVERFLOW;
  }

  // A new message (reinitialize) zeroes the head count, but execute() then adds every byte
  // of the call when it ends in a head: the earlier messages' bodies too, so a piece of over
  // 80 KiB (a flow file read back in 1 MiB steps) ending in a head stopped the parsing. A
  // message starting inside the call starts its count below zero by the bytes before it.
  override initialize(type: 'REQUEST' | 'RESPONSE'): void {
    super.initialize(type);
    if (this.chunk) this.headerSize = this.callStart - this.offset;
  }

  userCall(): (ret: unknown) => unknown {
    this.isUserCall = true;
    return this.endUserCall;
  }
}

/**
 * The response parser of a ResponseStream: http-parser-js with tcpflow's rules, its
 * callbacks and overrides on the prototype (a parser per flow then costs no closures, and
 * every parser has one shape). Numeric keys are http-parser-js's kOn* callback slots.
 */
class ResponseParser extends CallbackParser {
  constructor(private readonly stream: ResponseStream) {
    super(HTTPParser.RESPONSE);
  }

  [HTTPParser.kOnHeadersComplete](info: HeaderInfo): number {
    this.checkHeadSize();
    return this.stream.onHead(info);
  }

  [HTTPParser.kOnBody](chunk: Buffer, _o: number, length: number): void {
    if (length === 0) return;
    // http-parser-js hands the body slice while its read offset still points at it.
    this.stream.onBody(chunk.subarray(0, length), this.offset, this.state === 'BODY_CHUNK');
  }

  [HTTPParser.kOnMessageComplete](): void {
    this.stream.onMessageComplete();
  }

  // tcpflow's http-parser (2.7.1) passes on a chunk's data when it reads the CR after it:
  // when another byte stands there, the chunk's data is lost (spec B34, kept).
  BODY_CHUNKEMPTYLINE(): boolean | undefined {
    this.stream.onChunkEnd(this.chunk[this.offset]);
    return chunkEmptyLine.call(this);
  }

  // After a message that halts it, the parser must not start another: a state whose step
  // ends execute() (which then returns the bytes used so far).
  reinitialize(type: 'RESPONSE'): void {
    if (this.stream.halting()) this.state = 'HALTED';
    else this.initialize(type);
  }

  HALTED(): boolean {
    return true;
  }

  override parseHeader(line: string, headers: string[]): void {
    if (!plainHeader(line, headers, true)) lenientParseHeader.call(this, line, headers);
  }
}

/**
 * tcpflow's response parsing (spec §8.2), fed the response direction of a connection in
 * pieces of any size: an HTTP/1.x parser (http-parser-js) over the stream, with tcpflow's
 * rules around it. A message after one that closes the connection (HTTP/1.0 without
 * keep-alive, `Connection: close`) starts a fresh parser there, whose numbering starts
 * again at 1 and whose offsets count from there (http-parser stops at such a message and
 * tcpflow restarts it). A parse error or an upgrade ends the parsing for good; the
 * response being read is still ended, with what it had.
 */
export class ResponseStream {
  private parser: ResponseParser | null = null;
  /** Absolute stream position where the current parser instance started. */
  private base = 0;
  /** Absolute stream position of the next byte fed. */
  private pos = 0;
  /** Absolute position of the first byte of what the parser is executing. */
  private pieceStart = 0;
  private number = 0;
  private inMessage = false;
  /** The message just ended leaves the parser no more to do: it closed the connection, or upgraded it. */
  private halt = false;
  private halted = false;
  private upgraded = false;
  private stopped = false;
  private stopAtEnd = false;
  /** Messages are read by feedPlain until one is not plain; then by http-parser-js. */
  private plain: boolean;
  /** feedPlain: the next message starts a fresh count (the stream's start, or after a closing message). */
  private fresh = true;
  /** feedPlain: body bytes of the current message still to come. */
  private bodyLeft = 0;
  private readonly finder = new HeadFinder();

  /** `plain`: false reads every message with http-parser-js (tests compare the two readings). */
  constructor(private readonly events: ResponseEvents, plain = true) {
    this.plain = plain;
  }

  /** Nothing more is parsed (an error, an upgrade, or the end). */
  get done(): boolean {
    return this.stopped;
  }

  feed(bytes: Uint8Array): void {
    const off = this.plain ? this.feedPlain(bytes) : 0;
    if (!this.plain) this.run(bytes, off, this.pos);
    this.pos += bytes.length;
  }

  /** http-parser-js over bytes[off...], bytes[0] being at stream position `at`. */
  private run(bytes: Uint8Array, off: number, at: number): void {
    while (off < bytes.length && !this.stopped) {
      if (this.parser === null) {
        // Between a connection-closing message and the next one, http-parser skips line ends.
        while (off < bytes.length && (bytes[off] === CR || bytes[off] === LF)) off++;
        if (off === bytes.length) break;
        this.start(at + off);
      }
      const parser = this.parser as ResponseParser;
      this.pieceStart = at + off;
      const r = parser.execute(Buffer.from(bytes.buffer, bytes.byteOffset + off, bytes.length - off), 0, bytes.length - off);
      if (r instanceof Error) {
        this.stop();
        break;
      }
      if (!this.halted) break;
      // The parser stopped right after the message (tcpflow restarts a parser there).
      this.halt = false;
      this.halted = false;
      this.parser = null;
      off += r;
      if (this.upgraded) this.stop();
    }
  }

  /**
   * The plain case (plain-head.ts), read here byte by byte: returns where http-parser-js
   * must take over in `bytes` (bytes.length: nowhere). It takes over at the start of the
   * first message that is not plain, and keeps the stream from there: a fresh parser at a
   * message's start is where a parser is after the message before it (reinitialize), so
   * what it reads is what it would have read from the stream's start.
   */
  private feedPlain(bytes: Uint8Array): number {
    const n = bytes.length;
    let off = 0;
    while (off < n) {
      if (this.bodyLeft > 0) {
        const k = Math.min(this.bodyLeft, n - off);
        this.events.body(bytes.subarray(off, off + k), this.pos + off - this.base);
        off += k;
        this.bodyLeft -= k;
        if (this.bodyLeft === 0) this.plainEnd();
        continue;
      }
      if (this.fresh) {
        while (off < n && (bytes[off] === CR || bytes[off] === LF)) off++;
        if (off === n) break;
        this.base = this.pos + off;
        this.number = 0;
        this.fresh = false;
      }
      const f = this.finder;
      const end = f.find(bytes, off, this.pos);
      if (end === MORE) return n;
      if (end < 0 || !readPlainHead(f.bytes, f.start, f.end, plainHead)) return this.leavePlain(off);
      f.kept = 0;
      off = end;
      this.plainMessage();
    }
    return n;
  }

  /**
   * http-parser-js reads the stream from the start of the current message on: first the
   * bytes of it that came in earlier pieces, then this piece from `pieceOff` (0 when the
   * head began in an earlier piece; the caller feeds it). The parser continues the stream's numbering and offsets.
   */
  private leavePlain(pieceOff: number): number {
    this.plain = false;
    this.parser = new ResponseParser(this);
    const f = this.finder;
    if (f.kept > 0) {
      this.run(f.keptBytes(), 0, f.keptAt);
      f.kept = 0;
    }
    return pieceOff;
  }

  /** A plain head was read: the message's events, as http-parser-js's callbacks give them (onHead). */
  private plainMessage(): void {
    const h = plainHead;
    // http_should_keep_alive: a plain message never needs the connection's end to end.
    const halt = h.http11 ? h.connection.includes('close') : !h.connection.includes('keep-alive');
    const length = h.contentLength;
    this.number++;
    this.inMessage = true;
    const skip = this.events.head(this.number, { statusCode: h.statusCode, contentType: h.contentType, contentEncoding: h.contentEncoding, upgrade: false });
    this.halt = halt;
    if (skip || length === 0) this.plainEnd();
    else this.bodyLeft = length;
  }

  private plainEnd(): void {
    this.inMessage = false;
    this.events.end();
    // A message that closes the connection: the next one starts a fresh count (see run).
    if (this.halt) {
      this.halt = false;
      this.fresh = true;
    }
  }

  /** End of the stream: a body that runs to the end of the connection is complete. */
  finish(): void {
    if (this.stopped) return;
    if (this.parser !== null) this.parser.finish();
    this.stopAtEnd = true;
    this.stop();
  }

  private start(at: number): void {
    this.parser = new ResponseParser(this);
    this.base = at;
    this.number = 0;
  }

  /** Body bytes at `readOffset` in the piece being executed; a chunk's data is held (B34). */
  onBody(bytes: Uint8Array, readOffset: number, inChunk: boolean): void {
    const offset = this.pieceStart + readOffset - this.base;
    if (inChunk) this.chunkData(bytes, offset);
    else this.events.body(bytes, offset);
  }

  /** The parser reads what follows a chunk's data: `next` must be the CR of its CRLF. */
  onChunkEnd(next: number | undefined): void {
    if (this.held !== null) {
      if (next !== CR) {
        this.held = null;
        throw new Error('chunk data not followed by CRLF');
      }
      this.releaseHeld();
    }
    this.passChunk = false;
  }

  onMessageComplete(): void {
    if (this.inMessage) {
      this.inMessage = false;
      this.events.end();
    }
  }

  /** Asked when a message ends: true when the parser must stop there. */
  halting(): boolean {
    if (this.halt) this.halted = true;
    return this.halt;
  }

/** Data of the chunk being read, held until the byte after it shows the chunk complete (at most HOLD_LIMIT bytes). */
  private held: Uint8Array[] | null = null;
  private heldBytes = 0;
  private heldOffset = 0;
  /** The current chunk outgrew HOLD_LIMIT: its data goes on at once. */
  private passChunk = false;

  private chunkData(bytes: Uint8Array, offset: number): void {
    if (this.passChunk) return this.events.body(bytes, offset);
    if (this.held === null) {
      this.held = [];
      this.heldBytes = 0;
      this.heldOffset = offset;
    }
    this.held.push(copyOf(bytes));
    this.heldBytes += bytes.length;
    if (this.heldBytes > HOLD_LIMIT) {
      this.releaseHeld();
      this.passChunk = true;
    }
  }

  private releaseHeld(): void {
    const held = this.held;
    this.held = null;
    if (held === null) return;
    let offset = this.heldOffset;
    for (const b of held) {
      this.events.body(b, offset);
      offset += b.length;
    }
  }

  onHead(info: HeaderInfo): number {
    this.number++;
    this.inMessage = true;
    let contentType = '', contentEncoding = '', connection = '';
    const h = info.headers;
    for (let i = 0; i + 1 < h.length; i += 2) {
      // Only three names matter: their lengths spare lower-casing the others.
      const name = h[i].length === 12 || h[i].length === 16 || h[i].length === 10 ? h[i].toLowerCase() : '';
      if (name === 'content-type') contentType = h[i + 1];
      else if (name === 'content-encoding') contentEncoding = h[i + 1];
      else if (name === 'connection') connection = h[i + 1];
    }
    const skip = this.events.head(this.number, { statusCode: info.statusCode, contentType, contentEncoding, upgrade: info.upgrade });
    // http-parser-js decides keep-alive before knowing the body is skipped; http-parser
    // (and so tcpflow) keeps a connection whose message needs no end-of-connection.
    const keepAlive = skip ? connectionKeepsAlive(info, connection) : info.shouldKeepAlive;
    if (info.upgrade) this.upgraded = true;
    this.halt = info.upgrade || !keepAlive;
    return skip ? 1 : 0;
  }

  private stop(): void {
    // The stream ended (or broke elsewhere) right after a chunk's data: http-parser passes
    // on what it has at the end of its input.
    if (this.held !== null && this.stopAtEnd) this.releaseHeld();
    this.held = null;
    this.passChunk = false;
    if (this.inMessage) {
      this.inMessage = false;
      this.events.end();
    }
    this.parser = null;
    this.stopped = true;
  }
}

/** http_should_keep_alive without the end-of-connection rule: HTTP/1.1 unless "close", HTTP/1.0 only with "keep-alive". */
function connectionKeepsAlive(info: HeaderInfo, connectionHeader: string): boolean {
  const connection = connectionHeader.toLowerCase();
  if (info.versionMajor > 0 && info.versionMinor > 0) return !connection.includes('close');
  return connection.includes('keep-alive');
}

const SP = 0x20, TAB = 0x09;
/** RFC 7230 token characters: what http-parser accepts in a header name. */
const TOKEN = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") TOKEN[c.charCodeAt(0)] = 1;

/**
 * A `Name: value` header line read as http-parser-js's parseHeader reads it (the name up
 * to the first colon, the value without the blanks around it), without its regular
 * expression and match array. False: not that plain case (a continuation line, blanks in
 * the name, a CR), which the library's parseHeader reads (or rejects) instead.
 * `strict` (responses): http-parser-js skips a header line it cannot read; http-parser
 * (tcpflow's) stops at a header name that is not a token ("Name : value"), and the
 * message's body is never read. A line starting with blanks continues the previous
 * value (obs-fold).
 */
export function plainHeader(line: string, headers: string[], strict: boolean): boolean {
  const first = line.charCodeAt(0);
  if (line.length === 0 || first === SP || first === TAB) return false;
  const colon = line.indexOf(':');
  for (let i = 0; i < colon; i++) {
    const c = line.charCodeAt(i);
    if (strict ? c >= 128 || TOKEN[c] === 0 : c === SP || c === TAB) {
      if (strict) throw new Error('invalid header name');
      return false;
    }
  }
  if (colon <= 0) {
    if (strict) throw new Error('invalid header name');
    return false;
  }
  if (line.indexOf('\r') !== -1) return false;
  let start = colon + 1, end = line.length;
  while (start < end && (line.charCodeAt(start) === SP || line.charCodeAt(start) === TAB)) start++;
  while (end > start && (line.charCodeAt(end - 1) === SP || line.charCodeAt(end - 1) === TAB)) end--;
  headers.push(line.slice(0, colon), line.slice(start, end));
  return true;
}

/** The request parser of a RequestStream (its header names read leniently, as before: only the method matters). */
class RequestParser extends CallbackParser {
  constructor(private readonly stream: RequestStream) {
    super(HTTPParser.REQUEST);
  }

  override parseHeader(line: string, headers: string[]): void {
    if (!plainHeader(line, headers, false)) lenientParseHeader.call(this, line, headers);
  }

  [HTTPParser.kOnHeadersComplete](info: HeaderInfo): number {
    this.checkHeadSize();
    this.stream.onHead(info.method);
    // A request has a body only when it says so; CONNECT tunnels: the rest is not HTTP.
    return 0;
  }
}

/**
 * The requests of a connection's client side, in order: what pairs each response with its
 * request. Plain requests (plain-head.ts) are read byte by byte; from the first that is
 * not, http-parser-js reads the rest (as ResponseStream does).
 */
export class RequestStream {
  private parser: RequestParser | null = null;
  /** Method of each request, in order; capped so a flood of requests cannot grow it without end. */
  readonly methods: string[] = [];
  private plain: boolean;
  private stopped = false;
  private bodyLeft = 0;
  private readonly finder = new HeadFinder();

  /** `plain`: false reads every request with http-parser-js (tests compare the two readings). */
  constructor(private readonly maxRequests: number, plain = true) {
    this.plain = plain;
    if (!plain) this.parser = new RequestParser(this);
  }

  onHead(method: number): void {
    this.push(HTTPParser.methods[method] ?? '');
  }

  private push(method: string): void {
    if (this.methods.length < this.maxRequests) this.methods.push(method);
  }

  feed(bytes: Uint8Array): void {
    if (this.stopped) return;
    const off = this.plain ? this.feedPlain(bytes) : 0;
    if (this.plain || this.stopped) return;
    this.execute(off === 0 ? bytes : bytes.subarray(off));
  }

  private execute(bytes: Uint8Array): void {
    const parser = this.parser as RequestParser;
    const r = parser.execute(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length), 0, bytes.length);
    if (r instanceof Error || this.methods[this.methods.length - 1] === 'CONNECT') {
      this.parser = null;
      this.stopped = true;
    }
  }

  /**
   * http-parser-js reads the requests from the start of the current one on: first the bytes
   * of it that came in earlier pieces, then this piece from `pieceOff` (0 when the head began
   * in an earlier piece; the caller feeds it, unless the kept bytes stopped the parsing).
   */
  private leavePlain(pieceOff: number): number {
    this.plain = false;
    this.parser = new RequestParser(this);
    const f = this.finder;
    if (f.kept > 0) {
      this.execute(f.keptBytes());
      f.kept = 0;
    }
    return pieceOff;
  }

  /** Returns where http-parser-js takes over in `bytes` (then `plain` is off). */
  private feedPlain(bytes: Uint8Array): number {
    const n = bytes.length;
    let off = 0;
    while (off < n) {
      if (this.bodyLeft > 0) {
        const k = Math.min(this.bodyLeft, n - off);
        off += k;
        this.bodyLeft -= k;
        continue;
      }
      const f = this.finder;
      const end = f.find(bytes, off, 0);
      if (end === MORE) return n;
      const method = end < 0 ? null : readPlainRequest(f.bytes, f.start, f.end, plainHead, HTTPParser.methods);
      if (method === null) return this.leavePlain(off);
      f.kept = 0;
      off = end;
      this.push(method);
      this.bodyLeft = Math.max(0, plainHead.contentLength);
    }
    return n;
  }
}
