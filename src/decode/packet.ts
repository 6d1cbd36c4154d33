/**
 * The result of decoding one captured frame down to its TCP segment. One instance is
 * reused for every packet (hot path: no allocation per packet); all positions are
 * byte offsets into the chunk the frame lives in.
 */
export const enum Verdict {
  /** A TCP segment: every field below is valid. */
  TCP = 0,
  /** Dropped silently by the link layer (not IP, runt frame): never written to -w. */
  LINK_DROP = 1,
  /** Reached the IP stage but is not a usable TCP segment (tcpflow's "not processed"). */
  NOT_PROCESSED = 2,
  /**
   * A fragment of an IP datagram that may carry TCP (IPv4 protocol 6; IPv6 fragment header
   * followed by TCP or an extension header): the address fields and the frag* fields are
   * valid, for the coordinator's reassembler (src/shard/ip-fragments.ts).
   */
  FRAGMENT = 3,
}

export interface DecodedPacket {
  verdict: Verdict;
  /** 4 or 6. */
  ipVersion: number;
  /** Offset of the source address; the destination follows it directly (4 or 16 bytes). */
  addrOffset: number;
  addrLen: number;
  sport: number;
  dport: number;
  seq: number;
  flags: number;
  payloadOffset: number;
  payloadLen: number;
  /** 12-bit VLAN id of the innermost VLAN tag (0x8100, 0x88a8 or 0x9100), or -1 if untagged. */
  vlan: number;
  /** Offset of the Ethernet header (destination MAC first), or -1 for other link types. */
  macOffset: number;
  /** Offset of the IP header (for IP fragment handling). */
  ipOffset: number;
  /** FRAGMENT: offset of the fragment's data in its datagram, in bytes (offset field × 8). */
  fragOffset: number;
  /** FRAGMENT: the more-fragments flag. */
  fragMore: boolean;
  /** FRAGMENT: the identification field (IPv4: 16 bits, IPv6: 32 bits). */
  fragId: number;
  /** FRAGMENT: IPv4 protocol, or the IPv6 fragment header's next header. */
  fragProto: number;
  /** FRAGMENT: where the fragment's data starts and ends in the buffer (end: within the captured bytes). */
  fragData: number;
  fragEnd: number;
  /** FRAGMENT, IPv6: offset of the fragment header, and of the next-header byte that names it. */
  fragHeader: number;
  fragNextAt: number;
}

export function newDecodedPacket(): DecodedPacket {
  return {
    verdict: Verdict.LINK_DROP, ipVersion: 0, addrOffset: 0, addrLen: 0, sport: 0, dport: 0,
    seq: 0, flags: 0, payloadOffset: 0, payloadLen: 0, vlan: -1, macOffset: -1, ipOffset: 0,
    fragOffset: 0, fragMore: false, fragId: 0, fragProto: 0, fragData: 0, fragEnd: 0, fragHeader: -1, fragNextAt: -1,
  };
}

export const TH_FIN = 0x01;
export const TH_SYN = 0x02;
export const TH_RST = 0x04;
export const TH_ACK = 0x10;
