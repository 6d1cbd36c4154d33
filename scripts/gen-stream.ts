/**
 * Writes a generated pcap of about BYTES bytes to standard output, made on the fly (nothing
 * stored), for the memory benchmark (scripts/bench-rss.sh): a long capture of many TCP
 * connections, `active` at a time, each a request then SEGMENTS server segments of 1,400
 * bytes, closed by FIN both ways; every tenth connection is abandoned after its last
 * segment (no FIN: only -S tcp_timeout closes it). Packets are 10 µs apart. Deterministic.
 *
 * usage: node dist/scripts/gen-stream.js BYTES [SEGMENTS] [ACTIVE] | tcpflow-ts -r - ...
 */
import * as fs from 'node:fs';
import { pcapHeader } from '../test/helpers/pcap-write';

const [bytesText, segText = '512', activeText = '200'] = process.argv.slice(2);
const total = Number(bytesText), segments = Number(segText), active = Number(activeText);
if (!(total > 0) || !(segments > 0) || !(active > 0)) {
  process.stderr.write('usage: gen-stream BYTES [SEGMENTS] [ACTIVE]\n');
  process.exit(2);
}

const PAYLOAD = 1400;
const T0 = 1_700_000_000;
const SYN = 0x02, ACK = 0x10, PSH = 0x08, FIN = 0x01;
const HDR = 16 + 14 + 20 + 20; // record header, Ethernet, IPv4, TCP

const out = Buffer.alloc(1 << 22);
let used = 0;
let written = 0;
let packetNo = 0;
const sleepCell = new Int32Array(new SharedArrayBuffer(4));

function flush(): void {
  let off = 0;
  while (off < used) {
    try {
      off += fs.writeSync(1, out, off, used - off);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN') { Atomics.wait(sleepCell, 0, 0, 1); continue; }
      if (code === 'EPIPE') process.exit(0); // the reader stopped
      throw e;
    }
  }
  written += used;
  used = 0;
}

pcapHeader().copy(out, 0);
used = 24;

/** One frame: connection c's client (10.a.b.c:port) and the server 10.255.0.1:80. */
function packet(c: number, fromClient: boolean, seq: number, ack: number, flags: number, len: number): void {
  if (used + HDR + len > out.length) flush();
  const b = out, o = used;
  const t = packetNo++ * 10; // µs
  b.writeUInt32LE(T0 + Math.floor(t / 1e6), o);
  b.writeUInt32LE(t % 1e6, o + 4);
  b.writeUInt32LE(HDR - 16 + len, o + 8);
  b.writeUInt32LE(HDR - 16 + len, o + 12);
  const e = o + 16;
  b.fill(0, e, e + HDR - 16);
  b[e + 5] = fromClient ? 1 : 2;
  b[e + 11] = fromClient ? 2 : 1;
  b.writeUInt16BE(0x0800, e + 12);
  const ip = e + 14;
  b[ip] = 0x45;
  b.writeUInt16BE(40 + len, ip + 2);
  b[ip + 8] = 64;
  b[ip + 9] = 6;
  const client = 10 * 2 ** 24 + 1 + (c % 16_000_000);
  const server = 10 * 2 ** 24 + 255 * 2 ** 16 + 1;
  b.writeUInt32BE(fromClient ? client : server, ip + 12);
  b.writeUInt32BE(fromClient ? server : client, ip + 16);
  const tcp = ip + 20;
  const cport = 40000 + (c % 20000);
  b.writeUInt16BE(fromClient ? cport : 80, tcp);
  b.writeUInt16BE(fromClient ? 80 : cport, tcp + 2);
  b.writeUInt32BE(seq >>> 0, tcp + 4);
  b.writeUInt32BE(ack >>> 0, tcp + 8);
  b[tcp + 12] = 0x50;
  b[tcp + 13] = flags;
  b.writeUInt16BE(65535, tcp + 14);
  // Payload: the connection number and position, so flows differ; the rest is a pattern.
  if (len > 0) {
    const p = tcp + 20;
    b.fill(0x61 + (c % 26), p, p + len);
    b.writeUInt32BE(c >>> 0, p);
    b.writeUInt32BE(seq >>> 0, p + 4);
  }
  used = o + HDR + len;
}

const CISN = 1000, SISN = 5_000_000;
/** Steps of connection c: 0 SYN, 1 SYN/ACK, 2 request, 3.. segments, then FINs. */
function step(c: number, k: number): boolean {
  const abandoned = c % 10 === 9;
  if (k === 0) packet(c, true, CISN, 0, SYN, 0);
  else if (k === 1) packet(c, false, SISN, CISN + 1, SYN | ACK, 0);
  else if (k === 2) packet(c, true, CISN + 1, SISN + 1, ACK | PSH, 100);
  else if (k < 3 + segments) packet(c, false, SISN + 1 + (k - 3) * PAYLOAD, CISN + 101, ACK | PSH, PAYLOAD);
  else if (abandoned) return false;
  else if (k === 3 + segments) packet(c, false, SISN + 1 + segments * PAYLOAD, CISN + 101, FIN | ACK, 0);
  else if (k === 4 + segments) packet(c, true, CISN + 101, SISN + 2 + segments * PAYLOAD, FIN | ACK, 0);
  else return false;
  return true;
}

const conns: number[] = [];
const steps: number[] = [];
let next = 0;
for (; next < active; next++) { conns.push(next); steps.push(-(next % (segments + 5))); }
while (written + used < total) {
  for (let s = 0; s < conns.length && written + used < total; s++) {
    if (steps[s] < 0) { steps[s]++; continue; }
    if (!step(conns[s], steps[s]++)) {
      conns[s] = next++;
      steps[s] = 0;
    }
  }
}
flush();
