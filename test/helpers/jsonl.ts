/** The JSON Lines report (--jsonl) against report.xml: the same records, in the same order, field for field. */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { FlowRecord } from './corpus';

export type JsonLine = Record<string, unknown>;

export function readJsonl(file: string): JsonLine[] {
  if (!fs.existsSync(file)) return [];
  return fs.readFileSync(file, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as JsonLine);
}

/** report.xml's summary counters. */
export const COUNTERS = ['open_fds_at_end', 'max_open_flows', 'total_flows', 'flow_map_size', 'total_packets'];

export function reportCounters(xml: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of COUNTERS) {
    const m = new RegExp(`<${k}>(\\d+)</${k}>`).exec(xml);
    if (m) out[k] = Number(m[1]);
  }
  return out;
}

const NUMBERS = new Set(['srcport', 'dstport', 'vlan', 'packets', 'len', 'caplen', 'family', 'filesize', 'out_of_order_count', 'violations']);

/**
 * `lines` (the JSON Lines report of a run into `out`) say what report.xml says: `flows` are
 * its fileobjects in document order (normalizeReport with keepOrder), `counters` its summary.
 */
export function checkJsonlMatchesReport(lines: readonly JsonLine[], flows: readonly FlowRecord[], counters: Record<string, number>,
  out: string, what: string): void {
  const records = lines.slice(0, -1);
  const summary = lines[lines.length - 1];
  assert.ok(records.every((l) => l.type === 'flow'), `${what}: flow lines first`);
  assert.equal(summary?.type, 'summary', `${what}: a summary line last`);
  assert.equal(records.length, flows.length, `${what}: as many flow lines as fileobjects`);
  records.forEach((line, i) => {
    const x = flows[i];
    const name = typeof line.filename === 'string' ? path.relative(out, line.filename) : null;
    assert.equal(name, x.filename, `${what} record ${i}: filename`);
    assert.equal(line.filesize, Number(x.filesize), `${what} record ${i}: filesize`);
    const attrs = Object.fromEntries(Object.entries(line)
      .filter(([k]) => !['type', 'filename', 'filesize', 'vlan', 'md5', 'byte_runs', 'sha256', 'js', 'js_error'].includes(k))
      .map(([k, v]) => [k, String(v)]));
    assert.deepEqual(attrs, x.tcpflow, `${what} record ${i}: the <tcpflow> attributes`);
    assert.equal(line.vlan, x.vlan === undefined ? undefined : Number(x.vlan), `${what} record ${i}: vlan`);
    for (const [k, v] of Object.entries(line)) {
      if (NUMBERS.has(k)) assert.equal(typeof v, 'number', `${what} record ${i}: ${k} is a number`);
    }
    const digests = [
      ...(line.md5 === undefined ? [] : [{ type: 'MD5', value: line.md5 }]),
      ...(line.sha256 === undefined ? [] : [{ type: 'SHA256', value: line.sha256 }]),
    ];
    assert.deepEqual(digests, x.hashdigest ?? [], `${what} record ${i}: md5 and sha256`);
    const runs = (line.byte_runs as { file_offset: number; filename: string; filesize: number }[] | undefined ?? [])
      .map((b) => ({ file_offset: String(b.file_offset), filename: path.relative(out, b.filename), filesize: b.filesize }));
    assert.deepEqual(runs, x.byte_runs ?? [], `${what} record ${i}: byte_runs`);
  });
  assert.deepEqual(Object.keys(counters).sort(), [...COUNTERS].sort(), `${what}: report.xml's summary`);
  for (const k of COUNTERS) assert.equal(summary[k], counters[k], `${what}: summary ${k}`);
}
