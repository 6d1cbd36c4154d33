import * as os from 'node:os';
import { renderElement, type XmlElement } from './xml-text';
import { isoSeconds } from '../util/iso-time';
import { FILEOBJECT_LINE, renderFileobject, type PluginNames } from './fileobject';
import type { ReportFormat } from './report-files';
import type { RecordRoom } from './record-spill';

import { PROGRAM_NAME, VERSION } from '../version';
import { fragmentFields, type FragmentCounts } from '../shard/ip-fragments';
import type { CaptureStats } from '../capture/live';
import { dfxmlShardLine, SHARD_NS, SHARD_PREFIX, type ShardInfo } from './shard-info';

export interface RunInfo {
  commandLine: string;
  startTime: Date;
  /** Echoed in the first <configuration> element. */
  config: Record<string, string | number>;
  tdelta: number;
  /** --shard runs: what merge-reports needs (null: a normal run, tcpflow's layout). */
  shard?: ShardInfo | null;
}

export interface ReportSummary {
  openFdsAtEnd: number;
  maxOpenFlows: number;
  totalFlows: number;
  flowMapSize: number;
  totalPackets: number;
  /** Flows closed early by the open-flow cap, and the cap (-S max_flows). */
  flowsPurged: number;
  maxFlows: number;
  /** Flows closed idle, and -S tcp_timeout (0: no idle timeout). */
  flowsTimedOut: number;
  tcpTimeout: number;
  /** What the IP fragment reassembler did. */
  fragments: FragmentCounts;
  /** Set when the run ended early; written as a comment-free element for tools to see. */
  error: string | null;
  /** Live capture: what libpcap saw and what was lost (tcpflow reports none of it). */
  capture?: CaptureStats | null;
  /** merge-reports of live --shard runs: each shard's capture (each one captured the interface itself). */
  shardCaptures?: ShardCapture[];
}

export interface ShardCapture {
  shard: number;
  capture: CaptureStats;
}

/** A capture's counts under their report names (DFXML attributes, JSON Lines fields), in report order. */
export function captureFields(c: CaptureStats): { interface: string; captured: number; received: number; kernel_dropped: number; interface_dropped: number; backlog_dropped: number } {
  return { interface: c.interface, captured: c.captured, received: c.received, kernel_dropped: c.dropped, interface_dropped: c.ifdropped, backlog_dropped: c.backlogDropped };
}

/** The report fields back to counts (merge-reports reads them); null when one is missing or not a count. */
export function captureFromFields(f: Record<string, unknown>): CaptureStats | null {
  const n = (k: string): number => (typeof f[k] === 'number' && Number.isSafeInteger(f[k]) ? f[k] as number : NaN);
  const c = { interface: f.interface as string, captured: n('captured'), received: n('received'), dropped: n('kernel_dropped'), ifdropped: n('interface_dropped'), backlogDropped: n('backlog_dropped') };
  return typeof c.interface === 'string' && [c.captured, c.received, c.dropped, c.ifdropped, c.backlogDropped].every((x) => x >= 0) ? c : null;
}

/** An element with text. */
const el = (name: string, text: string): XmlElement => ({ name, text });

/**
 * The report up to the opening of the <configuration> that holds the fileobjects
 * (layout of tcpflow's report, spec §4.1); the fileobjects themselves are rendered from
 * the records (fileobject.ts).
 */
export function dfxmlHeader(info: RunInfo): string {
  const metadata: XmlElement = {
    name: 'metadata',
    attrs: {
      xmlns: 'http://afflib.org/tcpflow/',
      'xmlns:xsi': 'http://www.w3.org/2001/XMLSchema-instance',
      'xmlns:dc': 'http://purl.org/dc/elements/1.1/',
    },
    children: [el('dc:type', 'Feature Extraction')],
  };
  const user = safeUserInfo();
  const creator: XmlElement = {
    name: 'creator',
    attrs: { version: '1.0' },
    children: [
      el('program', PROGRAM_NAME), // as -V names it (tcpflow: TCPFLOW, its -V's word)
      el('version', VERSION),
      { name: 'build_environment', children: [el('compiler', `node ${process.versions.node} (v8 ${process.versions.v8})`)] },
      {
        name: 'execution_environment',
        children: [
          el('os_sysname', os.type()),
          el('os_release', os.release()),
          el('os_version', os.version()),
          el('host', os.hostname()),
          el('arch', os.arch()),
          el('command_line', info.commandLine),
          el('uid', String(user.uid)),
          el('username', user.username),
          // Not toISOString(): its first call costs a run ~0.2 ms (V8 sets up its date cache).
          el('start_time', `${isoSeconds(Math.floor(info.startTime.getTime() / 1000))}Z`),
        ],
      },
    ],
  };
  const config: XmlElement = { name: 'configuration', children: Object.entries(info.config).map(([k, v]) => el(k, String(v))) };
  return "<?xml version='1.0' encoding='UTF-8'?>\n" +
    (info.shard == null ? "<dfxml xmloutputversion='1.0'>\n" : `<dfxml xmloutputversion='1.0' xmlns:${SHARD_PREFIX}='${SHARD_NS}'>\n`) +
    renderElement(metadata) + '\n' +
    renderElement(creator) + '\n' +
    renderElement(config) + '\n' +
    (info.shard == null ? '' : dfxmlShardLine(info.shard)) +
    `  <tdelta>${info.tdelta}</tdelta>\n` +
    '  <configuration>\n';
}

/** The report's <rusage> values (times in seconds). */
export interface Rusage {
  utime: number;
  stime: number;
  maxrss: number;
  minflt: number;
  majflt: number;
  nswap: number;
  inblock: number;
  oublock: number;
  clocktime: number;
}

export const RUSAGE_FIELDS: readonly (keyof Rusage)[] = ['utime', 'stime', 'maxrss', 'minflt', 'majflt', 'nswap', 'inblock', 'oublock', 'clocktime'];
const RUSAGE_SECONDS: ReadonlySet<keyof Rusage> = new Set(['utime', 'stime', 'clocktime']);

/** This process's resource usage, and the wall time since `startedAt`. */
function currentRusage(startedAt: bigint): Rusage {
  const ru = process.resourceUsage();
  return {
    utime: ru.userCPUTime / 1e6, stime: ru.systemCPUTime / 1e6, maxrss: ru.maxRSS, minflt: ru.minorPageFault,
    majflt: ru.majorPageFault, nswap: ru.swappedOut, inblock: ru.fsRead, oublock: ru.fsWrite,
    clocktime: Number(process.hrtime.bigint() - startedAt) / 1e9,
  };
}

/** Everything after the last fileobject. */
export function dfxmlFooter(s: ReportSummary, startedAt: bigint): string {
  return dfxmlFooterWith(s, currentRusage(startedAt));
}

/** Everything after the last fileobject, with the given resource usage (merge-reports adds up the shards'). */
export function dfxmlFooterWith(s: ReportSummary, ru: Rusage): string {
  const f: XmlElement[] = [];
  if (s.error !== null) f.push(el('error', s.error));
  f.push({ name: 'summary' });
  f.push(el('open_fds_at_end', String(s.openFdsAtEnd)));
  f.push(el('max_open_flows', String(s.maxOpenFlows)));
  f.push(el('total_flows', String(s.totalFlows)));
  f.push(el('flow_map_size', String(s.flowMapSize)));
  f.push(el('total_packets', String(s.totalPackets)));
  // Only when the cap was hit: otherwise the summary stays tcpflow's.
  if (s.flowsPurged > 0) f.push({ name: 'flows_purged', attrs: { reason: 'max_flows', max_flows: String(s.maxFlows) }, text: String(s.flowsPurged) });
  // Only with -S tcp_timeout: otherwise the summary stays tcpflow's (which counts none).
  if (s.tcpTimeout > 0) f.push({ name: 'flows_timed_out', attrs: { tcp_timeout: String(s.tcpTimeout) }, text: String(s.flowsTimedOut) });
  // Only when the input had IP fragments (tcpflow reassembles none, spec B30).
  if (s.fragments.fragments > 0) {
    f.push({ name: 'ip_fragments', attrs: Object.fromEntries(Object.entries(fragmentFields(s.fragments)).map(([k, v]) => [k, String(v)])) });
  }
  // Live capture only: pcap_stats(3) of the interface, and packets dropped because the workers fell behind.
  const attributes = (c: CaptureStats, shard: Record<string, string> = {}): Record<string, string> =>
    ({ ...shard, ...Object.fromEntries(Object.entries(captureFields(c)).map(([k, v]) => [k, String(v)])) });
  if (s.capture) f.push({ name: 'capture_stats', attrs: attributes(s.capture) });
  for (const c of s.shardCaptures ?? []) f.push({ name: 'capture_stats', attrs: attributes(c.capture, { shard: String(c.shard) }) });
  f.push({ name: 'rusage', children: RUSAGE_FIELDS.map((k) => el(k, RUSAGE_SECONDS.has(k) ? ru[k].toFixed(6) : String(ru[k]))) });
  return '  </configuration>\n' + f.map((e) => renderElement(e)).join('\n') + '\n</dfxml>\n';
}

function safeUserInfo(): { uid: number; username: string } {
  try {
    const u = os.userInfo();
    return { uid: u.uid, username: u.username };
  } catch {
    return { uid: process.getuid?.() ?? -1, username: '' };
  }
}

/**
 * Room a record takes in report.xml at most: about 330 characters of markup and names,
 * plus its values, which its spill line holds too (escaping a file name can double it).
 */
export const DFXML_RECORD_ROOM: RecordRoom = { perChar: 2, perRecord: 400 };

/** tcpflow's DFXML report (report.xml, -X): records become <fileobject> elements. */
export function dfxmlFormat(info: RunInfo, startedAt: bigint, plugin: PluginNames | null = null): ReportFormat {
  return {
    header: dfxmlHeader(info),
    render: (record) => renderFileobject(record, plugin),
    line: FILEOBJECT_LINE,
    footer: (summary) => dfxmlFooter(summary, startedAt),
  };
}
