import { decodeRecord, type FlowRecord } from './flow-record';

/** Fields of a spill line (encodeRecord, writeFlowLine), by their place on the line. */
export const enum Field {
  filename = 0, filesize, startime, endtime, mac_daddr, mac_saddr, family, src_ipn, dst_ipn, srcport, dstport, packets,
  out_of_order_count, violations, len, caplen, md5, byte_runs, http_content_sha256, sha256, js, js_error, file_packet, vlan,
}
const FIELDS = 24;

/**
 * The bytes from ' ' to '?' that a report escapes, as bits of (byte - 0x20): '"', '&',
 * "'" (XML and JSON), '<', '>' (XML). '\\' (JSON, and the spill's own escapes) and
 * anything outside printable ASCII are tested apart.
 */
const MARKUP = (1 << 0x02) | (1 << 0x06) | (1 << 0x07) | (1 << 0x1c) | (1 << 0x1e);

/** Number fields, required and optional: plain ones are decimal integers as String(n) writes them. */
const NUMBERS = [Field.filesize, Field.family, Field.srcport, Field.dstport, Field.packets, Field.len];
const OPTIONAL_NUMBERS = [Field.out_of_order_count, Field.violations, Field.caplen, Field.vlan];
/** Fields a plain line leaves empty: their values need JSON or escaping, or only --shard runs have them. */
const EMPTY = [Field.byte_runs, Field.http_content_sha256, Field.js, Field.js_error, Field.file_packet];

/**
 * One spill line being merged (`close first record`), read where it lies in its reader's
 * buffer. Nearly every record is "plain": printable ASCII that neither report escapes,
 * numbers as String(n) writes them, no http, js or --shard fields. The reports then copy
 * its fields' bytes straight into their files (ReportFormat.write), which gives the same
 * bytes as rendering record() (a test compares them on random records) without making a
 * FlowRecord and its strings: that was most of the coordinator's time on many small
 * flows. Any other line goes through record().
 */
export class SpillLine {
  buf: Buffer = Buffer.alloc(0);
  /** buf's bytes, for LineTemplate's copies of four bytes at a time. */
  view: DataView = viewOf(this.buf);
  /**
   * The packet that closed the flow (END_OF_INPUT: still open at the end) and the one that
   * created it. Doubles from the start: END_OF_INPUT (2^53 - 1) arriving in a field that
   * held small integers would change its representation at the end of a run and
   * deoptimise the merge's code.
   */
  close = Number.MAX_SAFE_INTEGER;
  first = Number.MAX_SAFE_INTEGER;
  /** Where the record (after `close first `) starts and the line ends (its newline). */
  start = 0;
  end = 0;
  /** Where each field starts; field k ends one before field k + 1 starts (set by plain()). */
  readonly at = new Int32Array(FIELDS + 1);

  /** The line at buf[from, end): its keys read, its record not yet looked at. */
  load(buf: Buffer, from: number, end: number): void {
    if (buf !== this.buf) {
      this.buf = buf;
      this.view = viewOf(buf);
    }
    this.end = end;
    let a = from;
    while (a < end && buf[a] !== 0x20) a++;
    let b = a + 1;
    while (b < end && buf[b] !== 0x20) b++;
    this.close = key(buf, from, a);
    this.first = key(buf, a + 1, b);
    this.start = b + 1;
  }

  /** The record as an object (any line; decodeRecord's errors for a broken one). */
  record(): FlowRecord {
    return decodeRecord(this.buf.toString('utf8', this.start, this.end));
  }

  /** Whether the reports may copy this line's fields as they are (see the class); sets `at`. */
  plain(): boolean {
    const { buf, at, end } = this;
    let n = 0;
    at[0] = this.start;
    let other = 0;
    // Compares rather than a table of byte classes: a load less a byte, twice as fast.
    for (let i = this.start; i < end; i++) {
      const c = buf[i];
      if (c < 0x40) {
        if (c >= 0x20) other |= (MARKUP >>> (c - 0x20)) & 1;
        else if (c === 0x09) {
          if (++n === FIELDS) return false;
          at[n] = i + 1;
        } else other = 1;
      } else if (c > 0x7e || c === 0x5c) other = 1;
    }
    if (other !== 0 || n !== FIELDS - 1) return false;
    at[FIELDS] = end + 1;
    for (let k = 0; k < NUMBERS.length; k++) if (!this.isNumber(NUMBERS[k])) return false;
    for (let k = 0; k < OPTIONAL_NUMBERS.length; k++) {
      const f = OPTIONAL_NUMBERS[k];
      if (this.has(f) && !this.isNumber(f)) return false;
    }
    for (let k = 0; k < EMPTY.length; k++) if (this.has(EMPTY[k])) return false;
    return true;
  }

  /** Whether field `f` is not empty (after plain()). */
  has(f: Field): boolean {
    return this.at[f + 1] - 1 > this.at[f];
  }

  /** Field `f` is a decimal integer as String(n) writes it: no sign, no leading zero, at most 15 digits. */
  private isNumber(f: Field): boolean {
    const a = this.at[f], n = this.at[f + 1] - 1 - a;
    // Every operation here runs for every number: one that ran only for a rare value (a
    // leading '0') had no type feedback in the optimised code, which then deoptimised at
    // each such value without being replaced (519 times on many's 200 MB head).
    if (n < 1 || n > 15 || (n > 1 && this.buf[a] === 0x30)) return false;
    return isDigits(this.buf, a, a + n);
  }
}

/**
 * The number buf[a, b) spells: its digits summed (exact up to 2^53, END_OF_INPUT's 16
 * digits included), anything else as Number() reads it.
 */
function key(buf: Buffer, a: number, b: number): number {
  if (b > a && b - a <= 16 && isDigits(buf, a, b)) {
    let v = 0;
    for (let i = a; i < b; i++) v = v * 10 + buf[i] - 0x30;
    if (v <= Number.MAX_SAFE_INTEGER) return v;
  }
  return Number(buf.toString('latin1', a, b));
}

function isDigits(buf: Buffer, a: number, b: number): boolean {
  for (let i = a; i < b; i++) if (buf[i] < 0x30 || buf[i] > 0x39) return false;
  return true;
}

/**
 * One part of a report's record, from a plain line: `before`, the field's bytes and
 * `after`; an optional field that is empty gives `absent` instead.
 */
export interface Part {
  field: Field;
  before: string;
  after?: string;
  optional?: boolean;
  absent?: string;
}

/**
 * A record's text in a report as its parts in order, then `end`, written straight from a
 * plain line's bytes: all the markup in one array, one loop.
 */
export class LineTemplate {
  private readonly text: DataView;
  /** The buffer write() wrote into last, and a view of it. */
  private out: Buffer | null = null;
  private outView: DataView = new DataView(new ArrayBuffer(0));
  /** Per part: its field, optional (1) or not, and where its text before and after the field and its text when absent lie in `text`. */
  private readonly parts: Int32Array;
  private readonly endAt: number;
  /** Most bytes write() adds to the line's own. */
  readonly markup: number;

  constructor(parts: readonly Part[], end: string) {
    let all = '';
    const at: number[] = [];
    const add = (t: string) => {
      at.push(all.length);
      all += t;
      at.push(all.length);
    };
    // A part that is always there has its `after` written at the start of what follows it
    // (the next part, present or absent, or the end): one copy less per field.
    let carry = '';
    for (const p of parts) {
      const optional = p.optional === true;
      at.push(p.field, optional ? 1 : 0);
      add(carry + p.before);
      add(optional ? p.after ?? '' : '');
      add(carry + (p.absent ?? ''));
      carry = optional ? '' : p.after ?? '';
    }
    this.endAt = all.length;
    all += carry + end;
    this.text = viewOf(Buffer.from(all, 'latin1'));
    this.parts = Int32Array.from(at);
    this.markup = all.length;
  }

  /** The record of a plain line written at `at` (room: the line's length and `markup`); returns the end. */
  write(line: SpillLine, b: Buffer, at: number): number {
    if (b !== this.out) {
      this.out = b;
      this.outView = viewOf(b);
    }
    const { text, parts, outView: out } = this;
    const src = line.view, starts = line.at;
    for (let p = 0; p < parts.length; p += 8) {
      const f = parts[p];
      const s = starts[f], e = starts[f + 1] - 1;
      if (parts[p + 1] === 1 && e === s) {
        at = copy(out, at, text, parts[p + 6], parts[p + 7]);
      } else {
        at = copy(out, at, text, parts[p + 2], parts[p + 3]);
        at = copy(out, at, src, s, e);
        at = copy(out, at, text, parts[p + 4], parts[p + 5]);
      }
    }
    return copy(out, at, text, this.endAt, this.text.byteLength);
  }
}

function viewOf(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

/**
 * src[a, b) copied to dst at `at`, four bytes at a time: the fields and markup are short,
 * and a byte loop took 1-2 ns a byte (DataView's 32-bit loads and stores, inlined by
 * TurboFan, a tenth of that). Returns the end.
 */
function copy(dst: DataView, at: number, src: DataView, a: number, b: number): number {
  let i = a;
  for (; i + 4 <= b; i += 4, at += 4) dst.setUint32(at, src.getUint32(i));
  for (; i < b; i++, at++) dst.setUint8(at, src.getUint8(i));
  return at;
}
