/**
 * Generated captures with many flows, for the open-flow cap (-S max_flows): a pcap writer
 * that buffers records, half-open flows (one SYN each, the 1M-flow benchmark) and many
 * interleaved connections with data (the workers-identity test). Frames come from the
 * packet builder (packets.ts); the half-open generator patches one template frame so that
 * a million flows take seconds.
 */
import * as fs from 'node:fs';
import { ACK, FIN, PSH, SYN, ether, ipv4, tcp } from './packets';

/** Timestamps of generated packets: packet i is at T0 + i ms. */
export const T0 = 1_500_000_000;

/** A classic little-endian µs pcap (DLT_EN10MB), written in 1 MiB batches. */
export class PcapWriter {
  private readonly fd: number;
  private buf = Buffer.allocUnsafe(1 << 20);
  private used = 0;
  packets = 0;

  constructor(readonly path: string) {
    this.fd = fs.openSync(path, 'w');
    const h = Buffer.alloc(24);
    h.writeUInt32LE(0xa1b2c3d4, 0);
    h.writeUInt16LE(2, 4);
    h.writeUInt16LE(4, 6);
    h.writeUInt32LE(65535, 16);
    h.writeUInt32LE(1, 20);
    fs.writeSync(this.fd, h);
  }

  /** Append one frame, timestamped by its packet number (T0 + n ms). */
  add(frame: Uint8Array): void {
    if (this.used + 16 + frame.length > this.buf.length) this.flush();
    const n = this.packets++, b = this.buf, o = this.used;
    b.writeUInt32LE(T0 + Math.floor(n / 1000), o);
    b.writeUInt32LE((n % 1000) * 1000, o + 4);
    b.writeUInt32LE(frame.length, o + 8);
    b.writeUInt32LE(frame.length, o + 12);
    b.set(frame, o + 16);
    this.used = o + 16 + frame.length;
  }

  close(): void {
    this.flush();
    fs.closeSync(this.fd);
  }

  private flush(): void {
    if (this.used > 0) fs.writeSync(this.fd, this.buf, 0, this.used);
    this.used = 0;
  }
}

/** Client address of connection i: 10.0.0.0/8 counted up from 10.0.0.1 (16M distinct). */
function clientAddr(i: number): Uint8Array {
  const n = i + 1;
  return Uint8Array.from([10, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]);
}

const SERVER = '192.0.2.1';

/**
 * The SYN frames of `count` half-open connections, from 10.x.y.z:40000 to 192.0.2.1:80,
 * in order; `fn` gets one reused buffer (copy it to keep it).
 */
export function forEachHalfOpenFrame(count: number, fn: (frame: Uint8Array, i: number) => void): void {
  if (count >= 1 << 24) throw new RangeError('at most 16M half-open flows');
  const frame = ether(ipv4(tcp({ sport: 40000, dport: 80, seq: 1000, flags: SYN }), { src: clientAddr(0), dst: SERVER }));
  const SRC = 14 + 12; // the IPv4 source address in the frame
  for (let i = 0; i < count; i++) {
    const n = i + 1;
    frame[SRC + 1] = (n >>> 16) & 0xff;
    frame[SRC + 2] = (n >>> 8) & 0xff;
    frame[SRC + 3] = n & 0xff;
    fn(frame, i);
  }
}

/**
 * A capture of `count` half-open connections (forEachHalfOpenFrame; 70-byte records, ~70 MB
 * per million). Every SYN opens a flow that stays open to the end.
 */
export function writeHalfOpenFlows(file: string, count: number): void {
  const w = new PcapWriter(file);
  try {
    forEachHalfOpenFrame(count, (frame) => w.add(frame));
  } finally {
    w.close();
  }
}

/** One packet of a generated connection, as written. */
export interface GenPacket {
  conn: number;
  fromClient: boolean;
  flags: number;
  payloadLen: number;
  frame: Uint8Array;
}

export interface InterleavedSpec {
  /** Connections in all. */
  connections: number;
  /** Connections in progress at once (each new one replaces a finished one). */
  active: number;
  /** Data segments per direction. */
  segments: number;
  /** Every n-th connection is half-open (a SYN, then nothing); 0 for none. */
  halfOpenEvery: number;
}

/**
 * Many connections, `active` of them in progress at any time (staggered), their packets
 * interleaved round-robin: SYN, SYN/ACK, then `segments` data segments each way (distinct
 * bytes per connection and position), then a FIN each way; every `halfOpenEvery`-th
 * connection sends only its SYN and stays idle. Deterministic. Returns the packets in
 * capture order (for a model of what the demultiplexer must do).
 */
export function writeInterleavedFlows(file: string, spec: InterleavedSpec): GenPacket[] {
  const CISN = 1000, SISN = 900_000, SEG = 40;
  const scripts: ((i: number) => GenPacket)[] = [];
  const payload = (conn: number, fromClient: boolean, k: number) =>
    `${fromClient ? 'C' : 'S'}${conn}:${k}:`.padEnd(SEG, fromClient ? 'c' : 's');
  const packet = (conn: number, fromClient: boolean, seq: number, flags: number, data: string): GenPacket => {
    const src = fromClient ? clientAddr(conn) : SERVER, dst = fromClient ? SERVER : clientAddr(conn);
    const seg = tcp({ sport: fromClient ? 40000 : 80, dport: fromClient ? 80 : 40000, seq, flags, payload: data });
    return { conn, fromClient, flags, payloadLen: data.length, frame: ether(ipv4(seg, { src, dst })) };
  };
  // The k-th step of a connection.
  const steps = 2 + 2 * spec.segments + 2;
  scripts.push((c) => packet(c, true, CISN, SYN, ''));
  scripts.push((c) => packet(c, false, SISN, SYN | ACK, ''));
  for (let k = 0; k < spec.segments; k++) {
    scripts.push((c) => packet(c, true, CISN + 1 + k * SEG, ACK | PSH, payload(c, true, k)));
    scripts.push((c) => packet(c, false, SISN + 1 + k * SEG, ACK | PSH, payload(c, false, k)));
  }
  scripts.push((c) => packet(c, true, CISN + 1 + spec.segments * SEG, FIN | ACK, ''));
  scripts.push((c) => packet(c, false, SISN + 1 + spec.segments * SEG, FIN | ACK, ''));

  const out: GenPacket[] = [];
  const w = new PcapWriter(file);
  try {
    // Slots of active connections, each at some step (a negative step waits: the start
    // is staggered); visited round-robin.
    const conn: number[] = [], step: number[] = [];
    let next = 0;
    for (; next < Math.min(spec.active, spec.connections); next++) { conn.push(next); step.push(-(next % steps)); }
    const halfOpen = (c: number) => spec.halfOpenEvery > 0 && c % spec.halfOpenEvery === spec.halfOpenEvery - 1;
    while (conn.length > 0) {
      for (let s = 0; s < conn.length;) {
        if (step[s] < 0) { step[s]++; s++; continue; }
        const p = scripts[step[s]](conn[s]);
        w.add(p.frame);
        out.push(p);
        if (++step[s] < (halfOpen(conn[s]) ? 1 : steps)) { s++; continue; }
        if (next < spec.connections) { conn[s] = next++; step[s] = 0; s++; continue; }
        conn.splice(s, 1);
        step.splice(s, 1);
      }
    }
  } finally {
    w.close();
  }
  return out;
}
