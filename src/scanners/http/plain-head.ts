/**
 * A byte-level reading of the common HTTP/1.x response head, so that the usual response
 * (a status line, `Name: value` lines, a Content-Length or no body at all) costs no
 * parser object, header strings or regular expressions. It says "not plain" for anything
 * else, and the caller hands the message to http-parser-js, which then reads it as it
 * always did: this reader must never accept a head that the library would read otherwise.
 * Profile (-e http on http-many-60k, session 8): http-parser-js's per-message objects,
 * line strings and header arrays were about a third of the scanner's own CPU in a worker.
 */

const CR = 0x0d, LF = 0x0a, SP = 0x20, TAB = 0x09, COLON = 0x3a;

/** RFC 7230 token bytes (as http-parser's strict header names); bytes >= 0x80 are not. */
const TOKEN = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") TOKEN[c.charCodeAt(0)] = 1;

/** Where a head ends: the index after its empty line; MORE: not in these bytes yet; NOT_PLAIN: a bare LF. */
export const MORE = -1;
export const NOT_PLAIN = -2;

/**
 * The end of the head that starts at `start` (just after its CRLF CRLF), if every line
 * up to there ends in CRLF. http-parser-js also takes bare LF line ends: those heads are
 * its to read.
 */
export function headEnd(b: Uint8Array, start: number, end: number): number {
  let lineStart = start;
  for (;;) {
    const lf = b.indexOf(LF, lineStart);
    if (lf < 0 || lf >= end) return MORE;
    if (lf === lineStart || b[lf - 1] !== CR) return NOT_PLAIN;
    if (lf - 1 === lineStart) return lf + 1;
    lineStart = lf + 1;
  }
}

/** A plain response head, as read by readPlainHead; one object per stream, overwritten by each head. */
export class PlainHead {
  statusCode = 0;
  /** HTTP/1.1 (else HTTP/1.0). */
  http11 = false;
  /** Content-Length, -1 when absent. */
  contentLength = -1;
  contentType = '';
  contentEncoding = '';
  /** The Connection header's value, lower-cased ('' when absent). */
  connection = '';
}

const NAME_CONTENT_LENGTH = lowerBytes('content-length');
const NAME_CONTENT_TYPE = lowerBytes('content-type');
const NAME_CONTENT_ENCODING = lowerBytes('content-encoding');
const NAME_CONNECTION = lowerBytes('connection');
const NAME_TRANSFER_ENCODING = lowerBytes('transfer-encoding');
const NAME_UPGRADE = lowerBytes('upgrade');

function lowerBytes(s: string): Uint8Array {
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}

/** The token b[start, start+name.length) is `name`, in any case (token bytes: only letters change under | 0x20). */
function nameIs(b: Uint8Array, start: number, len: number, name: Uint8Array): boolean {
  if (len !== name.length) return false;
  for (let i = 0; i < len; i++) if ((b[start + i] | 0x20) !== name[i]) return false;
  return true;
}

/** A header value as http-parser-js gives it: the line decoded as its 'ascii' (high bit cleared), blanks around it trimmed. */
function valueOf(b: Uint8Array, start: number, end: number): string {
  const s = Buffer.from(b.buffer, b.byteOffset + start, end - start).toString('ascii');
  let i = 0, j = s.length;
  while (i < j && (s.charCodeAt(i) === SP || s.charCodeAt(i) === TAB)) i++;
  while (j > i && (s.charCodeAt(j - 1) === SP || s.charCodeAt(j - 1) === TAB)) j--;
  return i === 0 && j === s.length ? s : s.slice(i, j);
}

/** A plain head at most; a longer one is http-parser-js's to read. */
const HEAD_MAX = 16 * 1024;

/**
 * Finds the head of the message that starts in a piece, in that piece or gathered from the
 * following ones (up to HEAD_MAX bytes). After `find` returned an end, the head is
 * bytes[start, end). The bytes `kept` from earlier pieces are what http-parser-js must be
 * fed first when the head is not plain (the caller resets `kept` either way). While it
 * answers MORE, every line so far ended in CRLF and none was empty: http-parser-js would
 * not have ended that head either, so a stream that ends there has no more events.
 */
export class HeadFinder {
  private buf: Buffer | null = null;
  /** Bytes of the head from earlier pieces, the first at stream position keptAt. */
  kept = 0;
  keptAt = 0;
  bytes: Uint8Array = new Uint8Array(0);
  start = 0;
  end = 0;

  /**
   * The head starting at piece[off] (or gathered before): the index in `piece` after it,
   * MORE (piece[off...] kept: come back with the next piece) or NOT_PLAIN. `at` is the
   * stream position of piece[0].
   */
  find(piece: Uint8Array, off: number, at: number): number {
    const n = piece.length, kept = this.kept;
    if (kept === 0) {
      const end = headEnd(piece, off, n);
      // A long head inside one piece too: http-parser-js checks the 80 KiB head limit.
      if (end >= 0) return end - off <= HEAD_MAX ? this.found(piece, off, end, end) : NOT_PLAIN;
      if (end === MORE && n - off <= HEAD_MAX) {
        this.keptAt = at + off;
        this.kept = n - off;
        this.append(piece, off, n, 0);
      }
      return end;
    }
    const take = Math.min(n, HEAD_MAX - kept);
    const h = this.append(piece, 0, take, kept);
    const end = headEnd(h, 0, kept + take);
    if (end >= 0) return this.found(h, 0, end, end - kept);
    if (end === MORE && take === n && kept + take < HEAD_MAX) {
      this.kept = kept + take;
      return MORE;
    }
    return NOT_PLAIN;
  }

  /** The bytes kept from earlier pieces. */
  keptBytes(): Uint8Array {
    return (this.buf as Buffer).subarray(0, this.kept);
  }

  private found(b: Uint8Array, start: number, end: number, pieceEnd: number): number {
    this.bytes = b;
    this.start = start;
    this.end = end;
    return pieceEnd;
  }

  private append(piece: Uint8Array, start: number, end: number, at: number): Buffer {
    const h = this.buf ??= Buffer.allocUnsafe(HEAD_MAX);
    h.set(piece.subarray(start, end), at);
    return h;
  }
}

/** No byte of b[start, end) is one that http-parser-js's 'ascii' decoding (high bit cleared) turns into CR or LF. */
function noHighLineEnds(b: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (b[i] === 0x8d || b[i] === 0x8a) return false;
  return true;
}

/**
 * Read the header lines from b[line] to the empty line that ends the head into `head`
 * (Content-Length; for responses Content-Type, Content-Encoding, Connection). False when
 * they are not plain: a line that is not `token: value` (continuations, blanks or
 * non-ASCII bytes in names), a CR inside a line, a Transfer-Encoding or Upgrade header,
 * more than one Content-Length or Connection, a Content-Length that is not 1-15 digits.
 */
function readPlainFields(b: Uint8Array, line: number, head: PlainHead, response: boolean): boolean {
  let contentLength = -1, connection: string | null = null;
  let typeStart = -1, typeEnd = -1, encodingStart = -1, encodingEnd = -1;
  for (;;) {
    const lf = b.indexOf(LF, line);
    const cr = lf - 1;
    if (cr === line) break; // the empty line (headEnd found it)
    if (b.indexOf(CR, line) !== cr) return false;
    let colon = line;
    while (TOKEN[b[colon]] === 1) colon++;
    if (colon === line || b[colon] !== COLON) return false;
    const nameLen = colon - line;
    if (nameIs(b, line, nameLen, NAME_CONTENT_LENGTH)) {
      if (contentLength >= 0) return false;
      let i = colon + 1, j = cr;
      while (i < j && (b[i] === SP || b[i] === TAB)) i++;
      while (j > i && (b[j - 1] === SP || b[j - 1] === TAB)) j--;
      if (j === i || j - i > 15) return false;
      let n = 0;
      for (; i < j; i++) {
        const d = b[i] - 0x30;
        if (d < 0 || d > 9) return false;
        n = n * 10 + d;
      }
      contentLength = n;
    } else if (nameIs(b, line, nameLen, NAME_TRANSFER_ENCODING) || nameIs(b, line, nameLen, NAME_UPGRADE)) {
      return false;
    } else if (!response) {
      // A request's other headers change nothing of its framing.
    } else if (nameIs(b, line, nameLen, NAME_CONTENT_TYPE)) {
      typeStart = colon + 1;
      typeEnd = cr;
    } else if (nameIs(b, line, nameLen, NAME_CONTENT_ENCODING)) {
      encodingStart = colon + 1;
      encodingEnd = cr;
    } else if (nameIs(b, line, nameLen, NAME_CONNECTION)) {
      if (connection !== null) return false;
      connection = valueOf(b, colon + 1, cr).toLowerCase();
    }
    line = lf + 1;
  }
  head.contentLength = contentLength;
  head.contentType = typeStart >= 0 ? valueOf(b, typeStart, typeEnd) : '';
  head.contentEncoding = encodingStart >= 0 ? valueOf(b, encodingStart, encodingEnd) : '';
  head.connection = connection ?? '';
  return true;
}

/**
 * Read the response head b[start, end) (`end` from headEnd) into `head`. False when it is
 * not the plain case, and nothing may be concluded from it: a status line other than
 * `HTTP/1.0|1.1 DDD[ reason]`, header lines readPlainFields does not take, a byte that
 * http-parser-js's 'ascii' decoding turns into CR or LF (0x8d, 0x8a), a body on a
 * 1xx/204/304 (http-parser-js reads a Content-Length even there), or a body delimited by
 * the connection's close.
 */
export function readPlainHead(b: Uint8Array, start: number, end: number, head: PlainHead): boolean {
  // Status line: "HTTP/1.x DDD" then an optional reason.
  if (end - start < 14 || b[start + 5] !== 0x31 || b[start + 6] !== 0x2e || b[start + 8] !== SP) return false;
  if (b[start] !== 0x48 || b[start + 1] !== 0x54 || b[start + 2] !== 0x54 || b[start + 3] !== 0x50 || b[start + 4] !== 0x2f) return false;
  const minor = b[start + 7];
  if (minor !== 0x30 && minor !== 0x31) return false;
  const d0 = b[start + 9] - 0x30, d1 = b[start + 10] - 0x30, d2 = b[start + 11] - 0x30;
  if (d0 < 0 || d0 > 9 || d1 < 0 || d1 > 9 || d2 < 0 || d2 > 9) return false;
  if (!noHighLineEnds(b, start, end)) return false;
  const lf = b.indexOf(LF, start);
  if (b.indexOf(CR, start) !== lf - 1) return false;
  if (!readPlainFields(b, lf + 1, head, true)) return false;
  const status = d0 * 100 + d1 * 10 + d2;
  const noBody = (status >= 100 && status < 200) || status === 204 || status === 304;
  if (noBody ? head.contentLength >= 0 : head.contentLength < 0) return false;
  head.statusCode = status;
  head.http11 = minor === 0x31;
  if (noBody) head.contentLength = 0;
  return true;
}

/** GET, HEAD and POST told from their bytes (no string made for them). */
function commonMethod(b: Uint8Array, start: number, len: number): string | undefined {
  if (len === 3 && b[start] === 0x47 && b[start + 1] === 0x45 && b[start + 2] === 0x54) return 'GET';
  if (len !== 4) return undefined;
  if (b[start] === 0x48 && b[start + 1] === 0x45 && b[start + 2] === 0x41 && b[start + 3] === 0x44) return 'HEAD';
  if (b[start] === 0x50 && b[start + 1] === 0x4f && b[start + 2] === 0x53 && b[start + 3] === 0x54) return 'POST';
  return undefined;
}

/** http-parser-js's request methods by name (one string each: the methods list keeps them). */
const METHODS = new Map<string, string>();

/**
 * Read the request head b[start, end) (`end` from headEnd): its method (the library's
 * string for it), with its Content-Length in `head` (-1: none, no body). Null when it is
 * not plain: a request line other than `METHOD target HTTP/d.d` with a method
 * http-parser-js knows (CONNECT excepted: what follows it is not HTTP) and a target of
 * printable ASCII, header lines readPlainFields does not take, 0x8d or 0x8a bytes.
 */
export function readPlainRequest(b: Uint8Array, start: number, end: number, head: PlainHead, methods: readonly string[]): string | null {
  if (METHODS.size === 0) for (const m of methods) METHODS.set(m, m);
  let i = start;
  while ((b[i] >= 0x41 && b[i] <= 0x5a) || b[i] === 0x2d) i++;
  if (i === start || b[i] !== SP) return null;
  const method = commonMethod(b, start, i - start) ?? METHODS.get(Buffer.from(b.buffer, b.byteOffset + start, i - start).toString('latin1'));
  if (method === undefined || method === 'CONNECT') return null;
  const target = ++i;
  while (b[i] > SP && b[i] < 0x7f) i++;
  if (i === target || b[i] !== SP) return null;
  // " HTTP/d.d\r\n"
  if (b[i + 1] !== 0x48 || b[i + 2] !== 0x54 || b[i + 3] !== 0x54 || b[i + 4] !== 0x50 || b[i + 5] !== 0x2f) return null;
  const major = b[i + 6] - 0x30, minor = b[i + 8] - 0x30;
  if (major < 0 || major > 9 || b[i + 7] !== 0x2e || minor < 0 || minor > 9 || b[i + 9] !== CR || b[i + 10] !== LF) return null;
  if (!noHighLineEnds(b, start, end)) return null;
  if (!readPlainFields(b, i + 11, head, false)) return null;
  return method;
}
