import type { Flow } from '../flow/flow';
import { addrText, macText } from '../util/address';
import { isoTime } from './xml-text';

/** What scanners add to a flow's record (one field per scanner result). */
export interface ScanFields {
  /** MD5 of the flow's content (-e md5, -FM): DFXML `<hashdigest type='MD5'>`. */
  md5?: string;
}

/**
 * One flow direction as both reports give it: the file name and size, then every
 * attribute of DFXML's `<tcpflow>` element under its own name (present exactly when the
 * DFXML has it; numbers as numbers, times as the same ISO text), then scanner results.
 * Workers build it when a flow ends; it is spilled as this JSON object, which is also
 * the JSON Lines report's line for the flow, and the coordinator renders the DFXML from it.
 */
export interface FlowRecord extends ScanFields {
  type: 'flow';
  filename?: string;
  filesize: number;
  startime: string;
  endtime: string;
  mac_daddr?: string;
  mac_saddr?: string;
  family: number;
  src_ipn: string;
  dst_ipn: string;
  srcport: number;
  dstport: number;
  packets: number;
  out_of_order_count?: number;
  violations?: number;
  len: number;
  caplen?: number;
}

/** Where finished flows' records go (a worker's spill), with their place in the report's order. */
export interface RecordOutput {
  add(closePacket: number, firstPacket: number, record: FlowRecord): void;
}

/** A MAC address for the report, or undefined for all zeros (Linux loopback), as tcpflow leaves those out. */
function macField(mac: Uint8Array, off: number): string | undefined {
  for (let i = 0; i < 6; i++) if (mac[off + i] !== 0) return macText(mac, off);
  return undefined;
}

/** The record of a flow that has ended; `filename` null: no file (nothing stored, -FX). */
export function flowRecord(flow: Flow, filename: string | null, scans: readonly ScanFields[]): FlowRecord {
  // Fields are added in DFXML's order, so the JSON text reads like the XML.
  const r: FlowRecord = { type: 'flow' } as FlowRecord;
  if (filename !== null) r.filename = filename;
  r.filesize = flow.lastByte;
  r.startime = isoTime(flow.startSec, flow.startUsec);
  r.endtime = isoTime(flow.lastSec, flow.lastUsec);
  if (flow.mac !== null) {
    const d = macField(flow.mac, 0), s = macField(flow.mac, 6);
    if (d !== undefined) r.mac_daddr = d;
    if (s !== undefined) r.mac_saddr = s;
  }
  r.family = flow.family;
  r.src_ipn = addrText(flow.src);
  r.dst_ipn = addrText(flow.dst);
  r.srcport = flow.sport;
  r.dstport = flow.dport;
  r.packets = flow.packets;
  if (flow.outOfOrder > 0) r.out_of_order_count = flow.outOfOrder;
  if (flow.violations > 0) r.violations = flow.violations;
  r.len = flow.len;
  if (flow.caplen !== flow.len) r.caplen = flow.caplen;
  for (const s of scans) Object.assign(r, s);
  return r;
}
