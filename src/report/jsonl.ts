import { captureFields, type ReportSummary } from './dfxml';
import type { ReportFormat } from './report-files';
import type { RecordRoom } from './record-spill';
import { fragmentFields } from '../shard/ip-fragments';
import { jsonlShardLine, type ShardInfo } from './shard-info';
import { Field, LineTemplate } from './spill-line';

/** Room a record takes in the JSON Lines report at most (see DFXML_RECORD_ROOM): about 250 characters of keys and quotes. */
export const JSONL_RECORD_ROOM: RecordRoom = { perChar: 2, perRecord: 320 };

/**
 * The JSON Lines report (--jsonl): each flow's record as a JSON object (FlowRecord:
 * "type":"flow", then the DFXML fileobject's fields under their DFXML names, absent ones
 * left out), then one summary line with the run's totals. Only what does not depend on the machine or the moment is in it, so
 * the same input gives the same file.
 */
export function jsonlFormat(shard: ShardInfo | null = null): ReportFormat {
  return {
    // --shard runs: a first line saying which shard of which run (merge-reports reads it).
    header: shard === null ? '' : jsonlShardLine(shard),
    render: (record) => JSON.stringify(record) + '\n',
    line: JSON_LINE,
    footer: (s) => JSON.stringify(jsonlSummary(s)) + '\n',
  };
}

export interface JsonlSummary {
  type: 'summary';
  total_flows: number;
  total_packets: number;
  flow_map_size: number;
  max_open_flows: number;
  open_fds_at_end: number;
  flows_purged: number;
  max_flows: number;
  /** Only with -S tcp_timeout: flows closed idle, and the timeout. */
  flows_timed_out?: number;
  tcp_timeout?: number;
  /** Only when the input had IP fragments: what the reassembler did (README, "IP fragments"). */
  ip_fragments?: Record<string, number>;
  error?: string;
  capture?: ReturnType<typeof captureFields>;
  /** merge-reports of live --shard runs: each shard's capture, by shard. */
  captures?: ({ shard: number } & ReturnType<typeof captureFields>)[];
}

function jsonlSummary(s: ReportSummary): JsonlSummary {
  const out: JsonlSummary = {
    type: 'summary',
    total_flows: s.totalFlows,
    total_packets: s.totalPackets,
    flow_map_size: s.flowMapSize,
    max_open_flows: s.maxOpenFlows,
    open_fds_at_end: s.openFdsAtEnd,
    flows_purged: s.flowsPurged,
    max_flows: s.maxFlows,
  };
  if (s.tcpTimeout > 0) {
    out.flows_timed_out = s.flowsTimedOut;
    out.tcp_timeout = s.tcpTimeout;
  }
  if (s.fragments.fragments > 0) out.ip_fragments = fragmentFields(s.fragments);
  if (s.error !== null) out.error = s.error;
  if (s.capture) out.capture = captureFields(s.capture);
  if (s.shardCaptures !== undefined && s.shardCaptures.length > 0) out.captures = s.shardCaptures.map((c) => ({ shard: c.shard, ...captureFields(c.capture) }));
  return out;
}

/**
 * JSON.stringify(line.record()) and a line end, as UTF-8, from a plain line (SpillLine):
 * the keys in the record's order, absent fields left out, strings in quotes (a plain
 * line's need no escaping), numbers as they are.
 */
export const JSON_LINE = new LineTemplate([
  { field: Field.filename, optional: true, before: '{"type":"flow","filename":"', after: '",', absent: '{"type":"flow",' },
  { field: Field.filesize, before: '"filesize":' },
  { field: Field.startime, before: ',"startime":"', after: '"' },
  { field: Field.endtime, before: ',"endtime":"', after: '"' },
  { field: Field.mac_daddr, optional: true, before: ',"mac_daddr":"', after: '"' },
  { field: Field.mac_saddr, optional: true, before: ',"mac_saddr":"', after: '"' },
  { field: Field.family, before: ',"family":' },
  { field: Field.src_ipn, before: ',"src_ipn":"', after: '"' },
  { field: Field.dst_ipn, before: ',"dst_ipn":"', after: '"' },
  { field: Field.srcport, before: ',"srcport":' },
  { field: Field.dstport, before: ',"dstport":' },
  { field: Field.vlan, optional: true, before: ',"vlan":' },
  { field: Field.packets, before: ',"packets":' },
  { field: Field.out_of_order_count, optional: true, before: ',"out_of_order_count":' },
  { field: Field.violations, optional: true, before: ',"violations":' },
  { field: Field.len, before: ',"len":' },
  { field: Field.caplen, optional: true, before: ',"caplen":' },
  { field: Field.md5, optional: true, before: ',"md5":"', after: '"' },
  { field: Field.sha256, optional: true, before: ',"sha256":"', after: '"' },
], '}\n');
