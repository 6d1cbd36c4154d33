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
}

export function newDecodedPacket(): DecodedPacket {
  return {
    verdict: Verdict.LINK_DROP, ipVersion: 0, addrOffset: 0, addrLen: 0, sport: 0, dport: 0,
    seq: 0, flags: 0, payloadOffset: 0, payloadLen: 0, vlan: -1, macOffset: -1, ipOffset: 0,
  };
}

export const TH_FIN = 0x01;
export const TH_SYN = 0x02;
export const TH_RST = 0x04;
export const TH_ACK = 0x10;
