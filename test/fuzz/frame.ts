/**
 * Where the headers of a frame are, so that mutators can hit IP and TCP fields instead
 * of random bytes. The IP header is found by the real decoder (where it looks is what
 * matters); the TCP header and the IPv6 extension chain are walked here.
 */
import { decodeFrame, LINKTYPE } from '../../src/decode/link';
import { newDecodedPacket } from '../../src/decode/packet';

export interface FrameInfo {
  /** Offset of the IP header, or -1 when the link layer hides it. */
  ip: number;
  /** 4, 6, or 0 when there is no IP header. */
  version: number;
  /** Offset of the TCP header, or -1. */
  tcp: number;
  /** IPv6: each header of the chain after the fixed header: where it starts and the offset of the byte that names it. */
  chain: { at: number; nameAt: number }[];
  /** Ethernet-like framing: VLAN tags can be inserted at offset 12. */
  ether: boolean;
}

const d = newDecodedPacket();

export function locate(frame: Uint8Array, linktype: number): FrameInfo {
  const info: FrameInfo = {
    ip: -1, version: 0, tcp: -1, chain: [],
    ether: (linktype === LINKTYPE.EN10MB || linktype === LINKTYPE.IEEE802) && frame.length >= 14,
  };
  d.ipOffset = -1;
  decodeFrame(frame, 0, frame.length, linktype, d);
  const ip = d.ipOffset;
  if (ip < 0 || ip + 20 > frame.length) return info;
  info.ip = ip;
  const version = frame[ip] >> 4;
  if (version === 4) {
    info.version = 4;
    const ihl = (frame[ip] & 0x0f) * 4;
    if (ihl >= 20 && ip + ihl + 20 <= frame.length) info.tcp = ip + ihl;
  } else if (version === 6 && ip + 40 <= frame.length) {
    info.version = 6;
    let next = frame[ip + 6];
    let nameAt = ip + 6;
    let p = ip + 40;
    for (let hops = 0; hops < 16 && p + 8 <= frame.length; hops++) {
      if (next === 6) break;
      let len: number;
      if (next === 0 || next === 43 || next === 60) len = (frame[p + 1] + 1) * 8;
      else if (next === 51) len = (frame[p + 1] + 2) * 4;
      else if (next === 44) len = 8;
      else break;
      info.chain.push({ at: p, nameAt });
      nameAt = p;
      next = frame[p];
      p += len;
    }
    if (next === 6 && p + 20 <= frame.length) info.tcp = p;
  }
  return info;
}
