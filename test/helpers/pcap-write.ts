/**
 * Writing test captures (classic pcap, microsecond timestamps): whole files from frames
 * (build them with test/helpers/packets.ts), and two generated shapes the fault tests use,
 * one long flow and many short ones.
 */
import * as fs from 'node:fs';
import { ACK, ether, ipv4, tcp } from './packets';

export const DLT_EN10MB = 1;
/** Bytes of the file header and of each record header. */
export const PCAP_HEADER = 24;
export const RECORD_HEADER = 16;

export interface Frame {
  bytes: Uint8Array;
  sec?: number;
  usec?: number;
}

export function pcapHeader(linktype = DLT_EN10MB): Buffer {
  const h = Buffer.alloc(PCAP_HEADER);
  h.writeUInt32LE(0xa1b2c3d4, 0);
  h.writeUInt16LE(2, 4);
  h.writeUInt16LE(4, 6);
  h.writeUInt32LE(262144, 16);
  h.writeUInt32LE(linktype, 20);
  return h;
}

export function pcapRecord(frame: Uint8Array, sec: number, usec: number): Buffer {
  const r = Buffer.alloc(RECORD_HEADER + frame.length);
  r.writeUInt32LE(sec >>> 0, 0);
  r.writeUInt32LE(usec, 4);
  r.writeUInt32LE(frame.length, 8);
  r.writeUInt32LE(frame.length, 12);
  r.set(frame, RECORD_HEADER);
  return r;
}

/** A pcap file of `frames`; frames without a time get 1e9 + i seconds. */
export function writePcap(file: string, frames: readonly Frame[], linktype = DLT_EN10MB): void {
  const parts = [pcapHeader(linktype)];
  frames.forEach((f, i) => parts.push(pcapRecord(f.bytes, f.sec ?? 1_000_000_000 + i, f.usec ?? 0)));
  fs.writeFileSync(file, Buffer.concat(parts));
}

/** Payload bytes of each packet of bulkCapture. */
export const BULK_SEGMENT = 1448;
/** The file name tcpflow gives bulkCapture's flow. */
export const BULK_FLOW = '010.000.000.002.00080-010.000.000.001.40000';
/** Bytes of each record of bulkCapture (record header, Ethernet, IPv4, TCP, payload). */
export const BULK_RECORD = RECORD_HEADER + 14 + 20 + 20 + BULK_SEGMENT;

/** Stream byte k of bulkCapture's flow is k % 251: any piece shows where it belongs. */
export function bulkByte(k: number): number {
  return k % 251;
}

const PATTERN = Buffer.from(Array.from({ length: 251 + BULK_SEGMENT }, (_, k) => bulkByte(k)));

/**
 * Record i of one long flow 10.0.0.2:80 → 10.0.0.1:40000 of in-order 1448-byte segments:
 * segment i carries stream bytes [i*1448, (i+1)*1448). Written into `rec` (BULK_RECORD
 * bytes), which is returned.
 */
export function bulkRecord(i: number, rec: Buffer = Buffer.alloc(BULK_RECORD)): Buffer {
  rec.fill(0, 0, RECORD_HEADER + 54);
  rec.writeUInt32LE(1_000_000_000 + Math.floor(i / 1000), 0);
  rec.writeUInt32LE((i % 1000) * 1000, 4);
  rec.writeUInt32LE(BULK_RECORD - RECORD_HEADER, 8);
  rec.writeUInt32LE(BULK_RECORD - RECORD_HEADER, 12);
  const f = RECORD_HEADER;
  rec.writeUInt16BE(0x0800, f + 12);
  rec.writeUInt8(0x45, f + 14);
  rec.writeUInt16BE(20 + 20 + BULK_SEGMENT, f + 16);
  rec.writeUInt8(6, f + 23);
  rec.set([10, 0, 0, 2, 10, 0, 0, 1], f + 26);
  rec.writeUInt16BE(80, f + 34);
  rec.writeUInt16BE(40000, f + 36);
  rec.writeUInt32BE((1000 + i * BULK_SEGMENT) >>> 0, f + 38);
  rec.writeUInt8(0x50, f + 46);
  rec.writeUInt8(0x10, f + 47);
  const at = (i * BULK_SEGMENT) % 251;
  PATTERN.copy(rec, f + 54, at, at + BULK_SEGMENT);
  return rec;
}

/**
 * `leading` frames, then bulkRecord 0 .. packets-1 (big enough to be still running when
 * a test interferes); the bulk flow's file is stream bytes [0, 1448 × packets).
 */
export function bulkCapture(file: string, packets: number, leading: readonly Frame[] = []): void {
  const fd = fs.openSync(file, 'w');
  try {
    fs.writeSync(fd, pcapHeader());
    leading.forEach((f, i) => fs.writeSync(fd, pcapRecord(f.bytes, f.sec ?? 999_999_000 + i, f.usec ?? 0)));
    // Written in batches: one write per record makes a 100 MB capture take seconds.
    const batch = Buffer.alloc(BULK_RECORD * 1024);
    const rec = Buffer.alloc(BULK_RECORD);
    let used = 0;
    for (let i = 0; i < packets; i++) {
      bulkRecord(i, rec).copy(batch, used);
      used += BULK_RECORD;
      if (used === batch.length) { fs.writeSync(fd, batch, 0, used); used = 0; }
    }
    if (used > 0) fs.writeSync(fd, batch, 0, used);
  } finally {
    fs.closeSync(fd);
  }
}

/** Throws unless `data` is bytes [0, data.length) of bulkCapture's stream. */
export function assertBulkPrefix(data: Buffer, what: string): void {
  for (let k = 0; k < data.length; k++) {
    if (data[k] !== bulkByte(k)) throw new Error(`${what}: byte ${k} is ${data[k]}, not ${bulkByte(k)}: not the start of the stream`);
  }
}

/**
 * `flows` one-packet connections 10.1.x.y:(1024 + i % 60000) → 10.2.0.1:80, each
 * carrying `payload` bytes with TCP `flags` (RST: the flow closes at once, so its report
 * record is written during the run; else at the end), packet i at 1e9 + i/1000 s.
 */
export function manyFlowFrames(flows: number, payload = 16, flags = ACK): Frame[] {
  const frames: Frame[] = [];
  for (let i = 0; i < flows; i++) {
    const src = `10.1.${(i >> 8) & 0xff}.${i & 0xff}`;
    frames.push({
      bytes: ether(ipv4(tcp({ sport: 1024 + (i % 60000), dport: 80, seq: 1, flags, payload: new Array(payload).fill(0x41 + (i % 26)) }),
        { src, dst: '10.2.0.1' })),
      sec: 1_000_000_000 + Math.floor(i / 1000),
      usec: (i % 1000) * 1000,
    });
  }
  return frames;
}
