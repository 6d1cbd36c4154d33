/**
 * The optional `pcap` package (node_pcap, a libpcap binding), loaded on first use and only
 * in the main thread: its addon is not context-aware, so a second copy in a worker thread
 * fails to load. Live capture and filter expressions go through it; everything else works
 * without it.
 */
import * as path from 'node:path';
import { EXIT, TcpflowError } from '../errors';
import { LINKTYPE } from '../decode/link';

/** libpcap's pcap_stat. */
export interface PcapStats {
  ps_recv: number;
  ps_drop: number;
  ps_ifdrop: number;
}

/** The addon's session object (pcap_session.cc), used directly: pcap.js adds an event per packet. */
export interface BindingSession {
  /** Returns the link type as a name ("LINKTYPE_ETHERNET") or "Unknown linktype N"; throws libpcap's message. */
  open_live(device: string, filter: string, bufferSize: number, snaplen: number, outfile: string,
    onPacket: () => void, monitor: boolean, timeoutMs: number, warn: (msg: string) => void, promisc: boolean): string;
  open_offline(file: string, filter: string, bufferSize: number, snaplen: number, outfile: string,
    onPacket: () => void, monitor: boolean, timeoutMs: number, warn: (msg: string) => void, promisc: boolean): string;
  /**
   * Calls onPacket for each packet available now, the packet copied into `buf` and its
   * header (sec, usec, caplen, len as host-order u32) into `header`. Returns libpcap's last
   * pcap_dispatch result: 0 none left (end of file offline), -1 error, -2 after close().
   */
  dispatch(buf: Buffer, header: Buffer): number;
  start_polling(): void;
  /** pcap_breakloop; the handle is released by the next dispatch(). */
  close(): void;
  stats(): PcapStats;
  read_callback?: () => void;
}

export interface Libpcap {
  readonly version: string;
  newSession(): BindingSession;
  findalldevs(): { name: string; flags?: string }[];
}

let loaded: Libpcap | null = null;

/** What to do when the package is missing, for messages. */
export const LIBPCAP_HINT = "install libpcap (Debian: apt-get install libpcap-dev) and rebuild the optional 'pcap' package (npm ci, or npm rebuild pcap)";

/** node_pcap, or a TcpflowError naming `what` needs it and how to get it. */
export function libpcap(what: string): Libpcap {
  if (loaded !== null) return loaded;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  if (!(require('node:worker_threads') as typeof import('node:worker_threads')).isMainThread) throw new Error('internal: libpcap is only loaded in the main thread');
  let dir: string;
  let binding: { PcapSession: new () => BindingSession; findalldevs(): { name: string; flags?: string }[]; lib_version(): string };
  try {
    dir = path.dirname(require.resolve('pcap/package.json'));
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    binding = require(path.join(dir, 'build', 'Release', 'pcap_binding.node'));
  } catch (e) {
    const why = (e as Error).message.split('\n')[0];
    throw new TcpflowError('NO_LIBPCAP', `${what} needs libpcap through the optional 'pcap' package, which is not available (${why}): ${LIBPCAP_HINT}`, EXIT.USAGE);
  }
  loaded = {
    version: binding.lib_version(),
    newSession: () => new binding.PcapSession(),
    findalldevs: () => binding.findalldevs(),
  };
  return loaded;
}

/** The addon's link type name → LINKTYPE value (the value a pcap file header holds). */
export function linktypeOf(name: string): number {
  switch (name) {
    case 'LINKTYPE_NULL': return LINKTYPE.NULL;
    case 'LINKTYPE_ETHERNET': return LINKTYPE.EN10MB;
    case 'LINKTYPE_RAW': return LINKTYPE.RAW;
    case 'LINKTYPE_LINUX_SLL': return LINKTYPE.LINUX_SLL;
    case 'LINKTYPE_IEEE802_11_RADIO': return 127;
    default: {
      // "Unknown linktype N": a DLT value, the same as the LINKTYPE value for all the others.
      const m = /(\d+)$/.exec(name);
      return m === null ? -1 : Number(m[1]);
    }
  }
}

/** libpcap's message from an addon call, as one line. */
export function pcapMessage(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0];
}

/** A session released at once: close() only breaks the loop, the next dispatch frees the handle. */
export function release(s: BindingSession): void {
  s.close();
  try {
    s.dispatch(Buffer.alloc(1), Buffer.alloc(16));
  } catch {
    // already released
  }
}

/**
 * Compile `filter` against `file`'s link type (what tcpflow does as it opens each input) and
 * release the handle without reading a packet. Throws tcpflow's message for a bad expression.
 */
export function checkFilter(pcap: Libpcap, file: string, filter: string): void {
  const s = pcap.newSession();
  const noop = (): void => undefined;
  try {
    s.open_offline(file, filter, 0, 0, '', noop, false, 0, noop, false);
  } catch (e) {
    throw new TcpflowError('FILTER', pcapMessage(e), EXIT.INPUT);
  }
  release(s);
}

/**
 * The device tcpflow listens on without -i: libpcap's first device (pcap_lookupdev, which
 * refuses a loopback one; pcap_findalldevs puts interfaces that are up first).
 */
export function defaultDevice(pcap: Libpcap): string {
  let devs: { name: string; flags?: string }[];
  try {
    devs = pcap.findalldevs();
  } catch (e) {
    throw new TcpflowError('LIVE', pcapMessage(e), EXIT.INPUT);
  }
  const first = devs[0];
  if (first === undefined || first.flags === 'PCAP_IF_LOOPBACK') {
    throw new TcpflowError('LIVE', 'no suitable device found (name one with -i)', EXIT.INPUT);
  }
  return first.name;
}
