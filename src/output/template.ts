import { TcpflowError, EXIT } from '../errors';
import { addrName, macText } from '../util/address';
import { addrWord } from '../flow/key';
import { isoSeconds } from '../util/iso-time';
import { lazyTable } from '../util/lazy-table';

/** What a file name can be built from (the flow's identity and first packet). */
export interface NamingFlow {
  src: Uint8Array;
  dst: Uint8Array;
  sport: number;
  dport: number;
  vlan: number;
  /** 12 bytes: destination MAC then source MAC of the first packet, or null. */
  mac: Uint8Array | null;
  startSec: number;
  flowId: number;
  sessionId: number;
  /**
   * A flow's addresses' length and their first words (Flow: src/flow/flow.ts), when it keeps
   * them: an IPv4 name already made is then found without reading the address arrays.
   */
  addrLen?: number;
  srcWord?: number;
  dstWord?: number;
}

export const DEFAULT_TEMPLATE = '%A.%a-%B.%b%V%v%C%c';

/** tcpflow prefixes names with the output directory as written, unless it is '.' or empty. */
export function outdirPrefix(outdir: string): string {
  return outdir === '.' || outdir === '' ? '' : outdir + '/';
}

type Part = string | ((f: NamingFlow, count: number) => string);

/** A template as a sequence of literal text and escapes (`{ escape: 'A' }` for %A). */
export type TemplateToken = string | { escape: string };

const pad = (n: number, w: number) => String(n).padStart(w, '0');
/**
 * Ports as 5 digits, each made once (every name has two), in a table made once a run has
 * named enough flows to want it: its 512 KB would cost a small run a scavenge.
 */
const port5 = lazyTable(65536, (p) => pad(p, 5), 1024);
/**
 * IPv4 names (%A, %B) direct-mapped by address: a server's, or a client's with several
 * connections, is made once, and both directions of a connection name the same two.
 */
const V4_SLOTS = 2048;
const v4Key = new Float64Array(V4_SLOTS).fill(-1);
const v4Name: string[] = new Array<string>(V4_SLOTS).fill('');
const addrPart = (a: Uint8Array, word: number | undefined) => {
  // The word, when the flow keeps it: the array is another object, a cache miss per name
  // on many.pcap (perf annotate: over half of addrPart's time), read only for a new name.
  if (word === undefined) {
    if (a.length !== 4) return addrName(a);
    word = addrWord(a, 0);
  }
  const k = word >>> 0;
  const slot = (Math.imul(k, 0x9e3779b1) >>> 21) & (V4_SLOTS - 1);
  if (v4Key[slot] === k) return v4Name[slot];
  v4Key[slot] = k;
  return v4Name[slot] = addrName(a);
};
const bin = (n: number, div: number) => pad(Math.floor(n / div) % 1000, 3);

const ESCAPES: Record<string, (f: NamingFlow, count: number) => string> = {
  A: (f) => addrPart(f.src, f.addrLen === 4 ? f.srcWord : undefined),
  a: (f) => port5(f.sport),
  B: (f) => addrPart(f.dst, f.addrLen === 4 ? f.dstWord : undefined),
  b: (f) => port5(f.dport),
  E: (f) => (f.mac ? macText(f.mac, 6) : ''),
  e: (f) => (f.mac ? macText(f.mac, 0) : ''),
  V: (f) => (f.vlan >= 0 ? '--' : ''),
  v: (f) => (f.vlan >= 0 ? String(f.vlan) : ''),
  T: (f) => isoSeconds(f.startSec) + 'Z',
  t: (f) => String(f.startSec),
  c: (_f, n) => (n > 0 ? String(n) : ''),
  C: (_f, n) => (n > 0 ? 'c' : ''),
  '#': (_f, n) => String(n),
  N: (f) => bin(f.flowId, 1),
  K: (f) => bin(f.flowId, 1000),
  M: (f) => bin(f.flowId, 1e6),
  G: (f) => bin(f.flowId, 1e9),
  S: (f) => pad(f.sessionId, 20),
};

/**
 * A filename template compiled once at start-up, so a bad template is reported before
 * any file is written (spec B25) and naming a flow costs no parsing.
 */
export class Template {
  private readonly parts: Part[] = [];
  readonly tokens: TemplateToken[] = [];

  constructor(readonly source: string) {
    let lit = '';
    for (let i = 0; i < source.length; i++) {
      const ch = source[i];
      if (ch !== '%') { lit += ch; continue; }
      if (i + 1 >= source.length) {
        throw new TcpflowError('USAGE', `Invalid filename_template: ${source} cannot end with a %`, EXIT.USAGE);
      }
      const esc = source[++i];
      if (esc === '%') { lit += '%'; continue; }
      const fn = ESCAPES[esc];
      if (!fn) throw new TcpflowError('USAGE', `Invalid filename_template: ${source} unknown escape: %${esc}`, EXIT.USAGE);
      if (lit) { this.parts.push(lit); this.tokens.push(lit); lit = ''; }
      this.parts.push(fn);
      this.tokens.push({ escape: esc });
    }
    if (lit) { this.parts.push(lit); this.tokens.push(lit); }
  }

  expand(flow: NamingFlow, count: number): string {
    let s = '';
    for (const p of this.parts) s += typeof p === 'string' ? p : p(flow, count);
    return s;
  }
}
