import { decodeFrame } from '../../src/decode/link';
import { DecodedPacket, newDecodedPacket, Verdict } from '../../src/decode/packet';

export const JUNK = 0xee;
export const LEAD = 7;

export interface Decoded {
  verdict: Verdict;
  /** The raw packet record (offsets into `buf`). */
  d: DecodedPacket;
  buf: Uint8Array;
  /** Offsets relative to the start of the frame. */
  ipOffset: number;
  addrOffset: number;
  payloadOffset: number;
  macOffset: number;
  payload: string;
  src: number[];
  dst: number[];
}

/**
 * Decode `frame` placed at offset LEAD inside a larger buffer surrounded by JUNK bytes,
 * with caplen = frame.length (or `caplen`), so a decoder that reads outside the
 * captured bytes shows it.
 */
export function decode(frame: Uint8Array, dlt: number, caplen = frame.length, out: DecodedPacket = newDecodedPacket()): Decoded {
  const buf = new Uint8Array(LEAD + frame.length + 64).fill(JUNK);
  buf.set(frame, LEAD);
  const verdict = decodeFrame(buf, LEAD, caplen, dlt, out);
  const rel = (o: number) => o - LEAD;
  const d = out;
  return {
    verdict, d, buf,
    ipOffset: rel(d.ipOffset),
    addrOffset: rel(d.addrOffset),
    payloadOffset: rel(d.payloadOffset),
    macOffset: d.macOffset < 0 ? d.macOffset : rel(d.macOffset),
    payload: verdict === Verdict.TCP ? Buffer.from(buf.subarray(d.payloadOffset, d.payloadOffset + d.payloadLen)).toString('latin1') : '',
    src: verdict === Verdict.TCP ? [...buf.subarray(d.addrOffset, d.addrOffset + d.addrLen)] : [],
    dst: verdict === Verdict.TCP ? [...buf.subarray(d.addrOffset + d.addrLen, d.addrOffset + 2 * d.addrLen)] : [],
  };
}
