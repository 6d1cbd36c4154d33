import * as os from 'node:os';
import type * as XB from 'xmlbuilder2';
import { builderText } from './xml-text';
import { renderFileobject, type PluginNames } from './fileobject';
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
  /** What the IP fragment reassembler did. */
  fragments: FragmentCounts;
  /** Set when the run ended early; written as a comment-free element for tools to see. */
  error: string | null;
  /** Live capture: what libpcap saw and what was lost (tcpflow reports none of it). */
  capture?: CaptureStats | null;
}

const FRAGMENT_OPTS = { prettyPrint: true, indent: '  ', offset: 1 } as const;

/** xmlbuilder2 takes ~80 ms to load: only pay for it when a report is written. */
function fragment(): ReturnType<typeof XB.fragment> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('xmlbuilder2') as typeof XB).fragment();
}

/**
 * The report up to the opening of the <configuration> that holds the fileobjects
 * (layout of tcpflow's report, spec §4.1). Built with xmlbuilder2; the fileobjects
 * themselves are rendered by the workers (see fileobject.ts).
 */
export function dfxmlHeader(info: RunInfo): string {
  const metadata = fragment()
    .ele('metadata', {
      xmlns: 'http://afflib.org/tcpflow/',
      'xmlns:xsi': 'http://www.w3.org/2001/XMLSchema-instance',
      'xmlns:dc': 'http://purl.org/dc/elements/1.1/',
    })
    .ele('dc:type').txt('Feature Extraction').up()
    .up();
  const user = safeUserInfo();
  const creator = fragment()
    .ele('creator', { version: '1.0' })
    .ele('program').txt(PROGRAM_NAME).up() // as -V names it (tcpflow: TCPFLOW, its -V's word)
    .ele('version').txt(VERSION).up()
    .ele('build_environment')
    .ele('compiler').txt(`node ${process.versions.node} (v8 ${process.versions.v8})`).up()
    .up()
    .ele('execution_environment')
    .ele('os_sysname').txt(builderText(os.type())).up()
    .ele('os_release').txt(builderText(os.release())).up()
    .ele('os_version').txt(builderText(os.version())).up()
    .ele('host').txt(builderText(os.hostname())).up()
    .ele('arch').txt(os.arch()).up()
    .ele('command_line').txt(builderText(info.commandLine)).up()
    .ele('uid').txt(String(user.uid)).up()
    .ele('username').txt(builderText(user.username)).up()
    .ele('start_time').txt(info.startTime.toISOString().replace(/\.\d{3}Z$/, 'Z')).up()
    .up()
    .up();
  const config = fragment().ele('configuration');
  for (const [k, v] of Object.entries(info.config)) config.ele(k).txt(builderText(String(v)));
  return "<?xml version='1.0' encoding='UTF-8'?>\n" +
    (info.shard == null ? "<dfxml xmloutputversion='1.0'>\n" : `<dfxml xmloutputversion='1.0' xmlns:${SHARD_PREFIX}='${SHARD_NS}'>\n`) +
    metadata.end(FRAGMENT_OPTS) + '\n' +
    creator.end(FRAGMENT_OPTS) + '\n' +
    config.up().end(FRAGMENT_OPTS) + '\n' +
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
  const f = fragment();
  if (s.error !== null) f.ele('error').txt(builderText(s.error));
  f.ele('summary');
  f.ele('open_fds_at_end').txt(String(s.openFdsAtEnd));
  f.ele('max_open_flows').txt(String(s.maxOpenFlows));
  f.ele('total_flows').txt(String(s.totalFlows));
  f.ele('flow_map_size').txt(String(s.flowMapSize));
  f.ele('total_packets').txt(String(s.totalPackets));
  // Only when the cap was hit: otherwise the summary stays tcpflow's.
  if (s.flowsPurged > 0) f.ele('flows_purged', { reason: 'max_flows', max_flows: String(s.maxFlows) }).txt(String(s.flowsPurged));
  // Only when the input had IP fragments (tcpflow reassembles none, spec B30).
  if (s.fragments.fragments > 0) {
    f.ele('ip_fragments', Object.fromEntries(Object.entries(fragmentFields(s.fragments)).map(([k, v]) => [k, String(v)])));
  }
  // Live capture only: pcap_stats(3) of the interface, and packets dropped because the workers fell behind.
  if (s.capture) {
    const c = s.capture;
    f.ele('capture_stats', {
      interface: builderText(c.interface),
      captured: String(c.captured),
      received: String(c.received),
      kernel_dropped: String(c.dropped),
      interface_dropped: String(c.ifdropped),
      backlog_dropped: String(c.backlogDropped),
    });
  }
  const rusage = f.ele('rusage');
  for (const k of RUSAGE_FIELDS) rusage.ele(k).txt(RUSAGE_SECONDS.has(k) ? ru[k].toFixed(6) : String(ru[k]));
  return '  </configuration>\n' + f.end(FRAGMENT_OPTS) + '\n</dfxml>\n';
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
    render: (record) => Buffer.from(renderFileobject(record, plugin)),
    footer: (summary) => dfxmlFooter(summary, startedAt),
  };
}
