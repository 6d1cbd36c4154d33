import { DecodedPacket, Verdict } from './packet';

/** Decode the TCP header at buf[off, end) (end = end of the IP datagram as captured). */
export function decodeTcp(buf: Uint8Array, off: number, end: number, out: DecodedPacket): Verdict {
  if (end - off < 20) return (out.verdict = Verdict.NOT_PROCESSED);
  const hlen = (buf[off + 12] >> 4) * 4;
  if (hlen < 20) return (out.verdict = Verdict.NOT_PROCESSED);
  out.sport = (buf[off] << 8) | buf[off + 1];
  out.dport = (buf[off + 2] << 8) | buf[off + 3];
  out.seq = ((buf[off + 4] << 24) >>> 0) + ((buf[off + 5] << 16) | (buf[off + 6] << 8) | buf[off + 7]);
  out.flags = buf[off + 13];
  // A header that claims more than the segment holds leaves no payload (as tcpflow).
  out.payloadOffset = Math.min(off + hlen, end);
  out.payloadLen = end - out.payloadOffset;
  return (out.verdict = Verdict.TCP);
}
