import { DecodedPacket, Verdict } from './packet';
import { decodeTcp } from './tcp';

const IPPROTO_TCP = 6;
const IPPROTO_HOPOPTS = 0;
const IPPROTO_ROUTING = 43;
const IPPROTO_FRAGMENT = 44;
const IPPROTO_AH = 51;
const IPPROTO_DSTOPTS = 60;

/**
 * Decode an IPv4 or IPv6 datagram at buf[off, end) (end = end of the captured bytes).
 * The datagram never extends past the captured bytes (spec B1-B3): its end is
 * min(length fields, captured end).
 */
export function decodeIp(buf: Uint8Array, off: number, end: number, out: DecodedPacket): Verdict {
  out.ipOffset = off;
  if (end - off < 20) return (out.verdict = Verdict.NOT_PROCESSED);
  const version = buf[off] >> 4;
  if (version === 4) return decodeIpv4(buf, off, end, out);
  if (version === 6) return decodeIpv6(buf, off, end, out);
  return (out.verdict = Verdict.NOT_PROCESSED);
}

function decodeIpv4(buf: Uint8Array, off: number, end: number, out: DecodedPacket): Verdict {
  const ihl = (buf[off] & 0x0f) * 4;
  const total = (buf[off + 2] << 8) | buf[off + 3];
  // A header shorter than 20 bytes or longer than the datagram is not IPv4 we can
  // trust; a total length of 0 (TSO) is dropped as tcpflow does (spec B4).
  if (ihl < 20 || ihl > total) return (out.verdict = Verdict.NOT_PROCESSED);
  if (buf[off + 9] !== IPPROTO_TCP) return (out.verdict = Verdict.NOT_PROCESSED);
  const dgramEnd = Math.min(off + total, end);
  if (off + ihl > dgramEnd) return (out.verdict = Verdict.NOT_PROCESSED);
  out.ipVersion = 4;
  out.addrOffset = off + 12;
  out.addrLen = 4;
  // More-fragments flag or a fragment offset: a piece of a datagram (spec B30: tcpflow
  // drops later fragments and takes a first one as the whole datagram). One cut short by
  // the snapshot length can never be part of a whole datagram: it is left to tcpflow's rule.
  if (((buf[off + 6] & 0x3f) | buf[off + 7]) !== 0) {
    if (off + total > end) {
      if ((((buf[off + 6] & 0x1f) << 8) | buf[off + 7]) !== 0) return (out.verdict = Verdict.NOT_PROCESSED);
      return decodeTcp(buf, off + ihl, dgramEnd, out);
    }
    out.fragOffset = (((buf[off + 6] & 0x1f) << 8) | buf[off + 7]) * 8;
    out.fragMore = (buf[off + 6] & 0x20) !== 0;
    out.fragId = (buf[off + 4] << 8) | buf[off + 5];
    out.fragProto = IPPROTO_TCP;
    out.fragData = off + ihl;
    out.fragEnd = dgramEnd;
    out.fragHeader = -1;
    out.fragNextAt = -1;
    return (out.verdict = Verdict.FRAGMENT);
  }
  return decodeTcp(buf, off + ihl, dgramEnd, out);
}

function decodeIpv6(buf: Uint8Array, off: number, end: number, out: DecodedPacket): Verdict {
  if (end - off < 40) return (out.verdict = Verdict.NOT_PROCESSED);
  let payloadLen = (buf[off + 4] << 8) | buf[off + 5];
  let next = buf[off + 6];
  let nextAt = off + 6;
  let p = off + 40;
  // Follow the extension-header chain to TCP (spec B29; tcpflow drops these packets).
  for (let hops = 0; next !== IPPROTO_TCP; hops++) {
    if (hops > 16 || p + 8 > end) return (out.verdict = Verdict.NOT_PROCESSED);
    let len: number;
    switch (next) {
      case IPPROTO_HOPOPTS:
        len = (buf[p + 1] + 1) * 8;
        if (payloadLen === 0) payloadLen = jumboLength(buf, p, Math.min(p + len, end));
        break;
      case IPPROTO_ROUTING:
      case IPPROTO_DSTOPTS:
        len = (buf[p + 1] + 1) * 8;
        break;
      case IPPROTO_AH:
        len = (buf[p + 1] + 2) * 4;
        break;
      case IPPROTO_FRAGMENT: {
        const field = (buf[p + 2] << 8) | buf[p + 3];
        // Offset 0 without more fragments is an atomic fragment (RFC 6946): the whole datagram;
        // so is a first fragment cut short by the snapshot length (as for IPv4).
        const cut = off + 40 + payloadLen > end;
        if (field === 0 || (cut && (field & 0xfff8) === 0)) { len = 8; break; }
        if (cut) return (out.verdict = Verdict.NOT_PROCESSED);
        return ipv6Fragment(buf, off, p, nextAt, off + 40 + payloadLen, field, out);
      }
      default:
        return (out.verdict = Verdict.NOT_PROCESSED);
    }
    next = buf[p];
    nextAt = p;
    p += len;
  }
  const dgramEnd = Math.min(off + 40 + payloadLen, end);
  if (p > dgramEnd) return (out.verdict = Verdict.NOT_PROCESSED);
  out.ipVersion = 6;
  out.addrOffset = off + 8;
  out.addrLen = 16;
  return decodeTcp(buf, p, dgramEnd, out);
}

/** Headers that may follow a fragment header on the way to TCP (the fragmentable part). */
function mayLeadToTcp(next: number): boolean {
  return next === IPPROTO_TCP || next === IPPROTO_ROUTING || next === IPPROTO_DSTOPTS || next === IPPROTO_AH;
}

/** An IPv6 fragment header at `p` (`field`: offset and M flag) in a datagram ending at `dgramEnd`. */
function ipv6Fragment(buf: Uint8Array, off: number, p: number, nextAt: number, dgramEnd: number, field: number, out: DecodedPacket): Verdict {
  const next = buf[p];
  if (!mayLeadToTcp(next) || p + 8 > dgramEnd) return (out.verdict = Verdict.NOT_PROCESSED);
  out.ipVersion = 6;
  out.addrOffset = off + 8;
  out.addrLen = 16;
  out.fragOffset = field & 0xfff8;
  out.fragMore = (field & 1) !== 0;
  out.fragId = ((buf[p + 4] << 24) >>> 0) + ((buf[p + 5] << 16) | (buf[p + 6] << 8) | buf[p + 7]);
  out.fragProto = next;
  out.fragData = p + 8;
  out.fragEnd = dgramEnd;
  out.fragHeader = p;
  out.fragNextAt = nextAt;
  return (out.verdict = Verdict.FRAGMENT);
}

/** The Jumbo Payload option (RFC 2675) of a hop-by-hop header, or 0. */
function jumboLength(buf: Uint8Array, hdr: number, end: number): number {
  let p = hdr + 2;
  while (p < end) {
    const type = buf[p];
    if (type === 0) { p++; continue; } // Pad1
    if (p + 2 > end) break;
    const len = buf[p + 1];
    if (type === 0xc2 && len === 4 && p + 6 <= end) {
      // The jumbo length counts from the end of the IPv6 header, as payloadLen does.
      return ((buf[p + 2] << 24) >>> 0) + ((buf[p + 3] << 16) | (buf[p + 4] << 8) | buf[p + 5]);
    }
    p += 2 + len;
  }
  return 0;
}
