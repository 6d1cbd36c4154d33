import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { REPO_ROOT } from './corpus';

/** What tcpflow 1.6.1 writes with -w and -K (scripts/record-pcap-outputs.sh). */
export interface RecordedPcapOutputs {
  captures: Record<string, { w: string; K: Record<string, string> | 'failed' }>;
}

export const TCPFLOW_PCAP_OUTPUTS = JSON.parse(
  fs.readFileSync(path.join(REPO_ROOT, 'fixtures', 'pcap-outputs', 'tcpflow.json'), 'utf8')) as RecordedPcapOutputs;

/**
 * Which input records (1-based) tcpflow 1.6.1 writes with -w, for every corpus capture, the
 * ones it aborts on included (test/output/record-unprocessed.sh); null for a file that is
 * not a capture.
 */
export const TCPFLOW_UNPROCESSED_RECORDS = (JSON.parse(
  fs.readFileSync(path.join(REPO_ROOT, 'test', 'output', 'unprocessed-records.json'), 'utf8')) as {
  captures: Record<string, number[] | null>;
}).captures;

/**
 * Captures whose -w file differs from tcpflow's on purpose: the records of tcpflow's -w file
 * (1-based input record numbers) that a fix leaves out, and why.
 */
export const UNPROCESSED_FIXED: Readonly<Record<string, { records: readonly number[]; why: string }>> = {
  'derived__pcapplusplus__one_ipv6_http_stream__destopts.pcap': {
    records: [2, 5, 7, 10, 11, 13, 16, 18], why: 'B29: IPv6 destination options are followed to TCP, so these segments are processed',
  },
  'tcpdump__bigtcp-ipv6-hbh.pcap': { records: [1], why: 'B29: IPv6 hop-by-hop/jumbo headers are followed to TCP, so the segment is processed' },
  'tcpflow__bug5.pcap': {
    records: [5, 6, 18], why: 'B16: a SYN with a new ISN starts a new connection instead of being ignored ("SYN TO IGNORE"), so it is processed',
  },
  'pcapplusplus__many_interfaces-1.pcapng': {
    records: [3, 4],
    why: 'B32: every interface is decoded (tcpflow refuses the file); a pcap has one link type, the first interface\'s (Ethernet), ' +
      'so the two UDP records of the DLT_NULL interface are left out, with a warning',
  },
};

/** Whether tcpdump and tshark are installed (the pcap output tests use them as oracles). */
export function haveExternalReaders(): boolean {
  const has = (tool: string) => spawnSync(tool, ['--version'], { stdio: 'ignore' }).status === 0;
  return has('tcpdump') && has('tshark');
}

/** null if tcpdump and tshark both read `file` with exit 0, no warning and `records` packets; else what is wrong. */
export function externalReadersProblem(file: string, records: number): string | null {
  for (const [tool, args, noise] of [
    ['tcpdump', ['-nr', file], /^reading from file/],
    ['tshark', ['-r', file, '-T', 'fields', '-e', 'frame.number'], /^Running as user/],
  ] as const) {
    const p = spawnSync(tool, args, { encoding: 'utf8' });
    const warn = p.stderr.split('\n').filter((l) => l !== '' && !noise.test(l));
    if (p.status !== 0 || warn.length > 0) return `${tool}: exit ${p.status} ${warn.join(' | ')}`;
    const n = p.stdout.split('\n').filter(Boolean).length;
    if (n !== records) return `${tool}: ${n} packets, not ${records}`;
  }
  return null;
}
