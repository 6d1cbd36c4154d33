import type { DecodedPacket } from '../decode/packet';

function u32(b: Uint8Array, o: number): number {
  return ((b[o] << 24) >>> 0) + ((b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]);
}

/**
 * The directional flow key (src, dst, sport, dport, family) as a string for Map lookup.
 * VLAN is not part of the key, as in tcpflow (spec §3.2).
 */
export function flowKey(buf: Uint8Array, d: DecodedPacket): string {
  const a = d.addrOffset;
  if (d.addrLen === 4) return `${u32(buf, a)}>${u32(buf, a + 4)}:${d.sport}>${d.dport}`;
  return `${u32(buf, a)},${u32(buf, a + 4)},${u32(buf, a + 8)},${u32(buf, a + 12)}>` +
    `${u32(buf, a + 16)},${u32(buf, a + 20)},${u32(buf, a + 24)},${u32(buf, a + 28)}:${d.sport}>${d.dport}`;
}
