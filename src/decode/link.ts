import { DecodedPacket, Verdict } from './packet';
import { decodeIp } from './ip';

/** Link types (LINKTYPE_/DLT_ values) this decoder understands. */
export const LINKTYPE = {
  NULL: 0,
  EN10MB: 1,
  IEEE802: 6,
  PPP: 9,
  RAW: 101,
  RAW_BSD12: 12,
  RAW_BSD14: 14,
  PPP_ETHER: 51,
  LOOP: 108,
  LINUX_SLL: 113,
  IPV4: 228,
  IPV6: 229,
  LINUX_SLL2: 276,
} as const;

const SUPPORTED = new Set<number>(Object.values(LINKTYPE));

export function isSupportedLinkType(dlt: number): boolean {
  return SUPPORTED.has(dlt);
}

const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_IPV6 = 0x86dd;
const ETHERTYPE_VLAN = 0x8100;
const ETHERTYPE_QINQ = 0x88a8;
const ETHERTYPE_QINQ_OLD = 0x9100;
const ETHERTYPE_MPLS = 0x8847;

/**
 * Decode the link layer of one frame (buf[off, off+caplen)) and hand the network
 * layer to decodeIp. Fills `out`; returns out.verdict.
 */
export function decodeFrame(buf: Uint8Array, off: number, caplen: number, dlt: number, out: DecodedPacket): Verdict {
  out.vlan = -1;
  out.macOffset = -1;
  const end = off + caplen;
  switch (dlt) {
    case LINKTYPE.EN10MB:
    case LINKTYPE.IEEE802:
      return decodeEthernet(buf, off, end, out);
    case LINKTYPE.RAW:
    case LINKTYPE.RAW_BSD12:
    case LINKTYPE.RAW_BSD14:
    case LINKTYPE.IPV4:
    case LINKTYPE.IPV6:
      return decodeIp(buf, off, end, out);
    case LINKTYPE.NULL:
    case LINKTYPE.LOOP:
      return decodeNull(buf, off, end, out);
    case LINKTYPE.LINUX_SLL:
      return decodeSll(buf, off, end, out);
    case LINKTYPE.LINUX_SLL2: {
      if (caplen < 20) return (out.verdict = Verdict.LINK_DROP);
      // The protocol is not checked (as tcpflow does for SLL), but VLAN tags after the header are read.
      const p = skipVlanTags(buf, (buf[off] << 8) | buf[off + 1], off + 20, end, out);
      return p < 0 ? (out.verdict = Verdict.LINK_DROP) : decodeIp(buf, p, end, out);
    }
    case LINKTYPE.PPP:
      // tcpflow skips the 4-byte PPP header without looking at the protocol; the IP
      // version nibble then decides.
      if (caplen < 4) return (out.verdict = Verdict.LINK_DROP);
      return decodeIp(buf, off + 4, end, out);
    case LINKTYPE.PPP_ETHER: {
      // PPPoE session header (6 bytes) followed by the 2-byte PPP protocol.
      if (caplen < 8) return (out.verdict = Verdict.LINK_DROP);
      const proto = (buf[off + 6] << 8) | buf[off + 7];
      if (proto !== 0x0021 && proto !== 0x0057) return (out.verdict = Verdict.LINK_DROP);
      return decodeIp(buf, off + 8, end, out);
    }
    default:
      return (out.verdict = Verdict.LINK_DROP);
  }
}

function decodeEthernet(buf: Uint8Array, off: number, end: number, out: DecodedPacket): Verdict {
  if (end - off < 14) return (out.verdict = Verdict.LINK_DROP);
  const p = skipVlanTags(buf, (buf[off + 12] << 8) | buf[off + 13], off + 14, end, out);
  if (p < 0) return (out.verdict = Verdict.LINK_DROP);
  const type = (buf[p - 2] << 8) | buf[p - 1];
  if (type !== ETHERTYPE_IPV4 && type !== ETHERTYPE_IPV6) return (out.verdict = Verdict.LINK_DROP);
  out.macOffset = off;
  return decodeIp(buf, p, end, out);
}

/**
 * Skip the VLAN tags (0x8100, 0x88a8, 0x9100, any number) that start at `p` when the
 * protocol field before them says `type`: each is a TCI and the next protocol. Returns
 * where the payload starts (the final protocol is the 2 bytes before it when there were
 * tags), or -1 when a tag is cut by the capture.
 */
function skipVlanTags(buf: Uint8Array, type: number, p: number, end: number, out: DecodedPacket): number {
  while (type === ETHERTYPE_VLAN || type === ETHERTYPE_QINQ || type === ETHERTYPE_QINQ_OLD) {
    if (p + 4 > end) return -1;
    // The innermost tag names the flow, whatever its TPID: in a QinQ stack (802.1ad or
    // 0x9100 outer tags) that is the customer's 802.1Q VLAN, the one its hosts are on;
    // tcpflow named only a first 0x8100 tag. The id is the 12-bit VID, not the whole TCI
    // with its priority bits (spec B6).
    out.vlan = ((buf[p] << 8) | buf[p + 1]) & 0x0fff;
    type = (buf[p + 2] << 8) | buf[p + 3];
    p += 4;
  }
  return p;
}

function decodeNull(buf: Uint8Array, off: number, end: number, out: DecodedPacket): Verdict {
  if (end - off < 4) return (out.verdict = Verdict.LINK_DROP);
  // The family word is in the capturing host's byte order (DLT_NULL) or network order
  // (DLT_LOOP); accept either, and every platform's AF_INET6 value (spec B8).
  const le = buf[off] | (buf[off + 1] << 8) | (buf[off + 2] << 16) | (buf[off + 3] << 24);
  const be = (buf[off] << 24) | (buf[off + 1] << 16) | (buf[off + 2] << 8) | buf[off + 3];
  const fam = isAf(le) ? le : be;
  if (!isAf(fam)) return (out.verdict = Verdict.LINK_DROP);
  return decodeIp(buf, off + 4, end, out);
}

function isAf(v: number): boolean {
  return v === 2 || v === 10 || v === 24 || v === 28 || v === 30;
}

function decodeSll(buf: Uint8Array, off: number, end: number, out: DecodedPacket): Verdict {
  if (end - off < 16) return (out.verdict = Verdict.LINK_DROP);
  // The protocol is not checked (as in tcpflow), but VLAN tags after the header are read.
  let p = skipVlanTags(buf, (buf[off + 14] << 8) | buf[off + 15], off + 16, end, out);
  if (p < 0) return (out.verdict = Verdict.LINK_DROP);
  const proto = (buf[p - 2] << 8) | buf[p - 1];
  if (proto === ETHERTYPE_MPLS) {
    // Skip MPLS labels up to the bottom of the stack.
    for (;;) {
      if (p + 4 > end) return (out.verdict = Verdict.LINK_DROP);
      const bos = buf[p + 2] & 1;
      p += 4;
      if (bos) break;
    }
  }
  return decodeIp(buf, p, end, out);
}
