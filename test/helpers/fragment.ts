/**
 * IP fragmentation for tests, as a router does it (RFC 791, RFC 8200 §4.5): a frame's IP
 * datagram cut into fragments of at most `size` data bytes (a multiple of 8 but the last),
 * each with the frame's link header. IPv4 fragments keep the header (options included)
 * with MF, the offset and the total length set and a correct checksum; IPv6 fragments get
 * a fragment header after the unfragmentable part (the IPv6 header and a hop-by-hop header).
 * Also: an Ethernet IPv4 frame turned into the IPv6 frame carrying the same TCP segment.
 */
import { setIpv4Checksum } from '../../src/shard/ip-fragments';
import { concat } from './packets';

/** The IP header's offset in an Ethernet frame (after VLAN tags). */
export function etherIpOffset(frame: Uint8Array): number {
  let p = 12;
  while (((frame[p] << 8) | frame[p + 1]) === 0x8100 || ((frame[p] << 8) | frame[p + 1]) === 0x88a8) p += 4;
  return p + 2;
}

/**
 * The fragments of the datagram at frame[ip...] (cut at its length field: trailing padding is
 * left out), in offset order. `size` is rounded down to a multiple of 8 (at least 8). IPv4
 * fragments keep the datagram's identification; IPv6 ones get `id`.
 */
export function fragmentFrame(frame: Uint8Array, ip: number, size: number, id = 0x4242): Uint8Array[] {
  const step = Math.max(8, size & ~7);
  const link = frame.subarray(0, ip);
  if (frame[ip] >> 4 === 4) {
    const ihl = (frame[ip] & 0x0f) * 4;
    const total = (frame[ip + 2] << 8) | frame[ip + 3];
    const data = frame.subarray(ip + ihl, ip + total);
    const out: Uint8Array[] = [];
    for (let at = 0; at < data.length || at === 0; at += step) {
      const piece = data.subarray(at, Math.min(at + step, data.length));
      const more = at + step < data.length;
      const f = concat(link, frame.subarray(ip, ip + ihl), piece);
      f[ip + 2] = (ihl + piece.length) >> 8;
      f[ip + 3] = (ihl + piece.length) & 0xff;
      const field = (at / 8) | (more ? 0x2000 : 0) | (frame[ip + 6] & 0x40 ? 0x4000 : 0);
      f[ip + 6] = field >> 8;
      f[ip + 7] = field & 0xff;
      setIpv4Checksum(f, ip);
      out.push(f);
      if (!more) break;
    }
    return out;
  }
  // IPv6: the unfragmentable part is the header and a hop-by-hop header if there is one.
  let unfrag = 40, nextAt = ip + 6;
  if (frame[ip + 6] === 0) {
    nextAt = ip + 40;
    unfrag += (frame[ip + 41] + 1) * 8;
  }
  const payload = (frame[ip + 4] << 8) | frame[ip + 5];
  const next = frame[nextAt];
  const data = frame.subarray(ip + unfrag, ip + 40 + payload);
  const out: Uint8Array[] = [];
  for (let at = 0; ; at += step) {
    const piece = data.subarray(at, Math.min(at + step, data.length));
    const more = at + step < data.length;
    const field = at | (more ? 1 : 0);
    const fh = [next, 0, field >> 8, field & 0xff, (id >>> 24) & 0xff, (id >>> 16) & 0xff, (id >>> 8) & 0xff, id & 0xff];
    const f = concat(link, frame.subarray(ip, ip + unfrag), fh, piece);
    f[nextAt] = 44;
    const len = unfrag - 40 + 8 + piece.length;
    f[ip + 4] = len >> 8;
    f[ip + 5] = len & 0xff;
    out.push(f);
    if (!more) break;
  }
  return out;
}

/**
 * The same TCP segment over IPv6 (addresses 2001:db8::a.b.c.d), for an Ethernet IPv4 frame
 * without options; null for anything else. TCP checksums are not fixed (nothing checks them).
 */
export function toIpv6(frame: Uint8Array): Uint8Array | null {
  const ip = etherIpOffset(frame);
  if (frame[ip] !== 0x45 || frame[ip + 9] !== 6) return null;
  const total = (frame[ip + 2] << 8) | frame[ip + 3];
  const seg = frame.subarray(ip + 20, ip + total);
  const addr = (o: number) => [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, ...frame.subarray(ip + o, ip + o + 4)];
  const link = Uint8Array.from(frame.subarray(0, ip));
  link[ip - 2] = 0x86;
  link[ip - 1] = 0xdd;
  return concat(link, [0x60, 0, 0, 0, seg.length >> 8, seg.length & 0xff, 6, 64, ...addr(12), ...addr(16)], seg);
}
