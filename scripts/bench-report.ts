/**
 * The coordinator's report merge alone: two workers' spill files of many small flows'
 * records (as many.pcap gives: 400,000 records), merged in packet order and rendered into
 * report.xml (and --jsonl), timed in CPU time. `node dist/scripts/bench-report.js [DIST]
 * [--jsonl] [--records N]`: DIST is the dist/ of the build to time (default: this one), so
 * that two builds can be compared on the same spill files, in alternating runs.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type * as Spill from '../src/report/record-spill';
import type * as Files from '../src/report/report-files';
import type * as Dfxml from '../src/report/dfxml';
import type * as Jsonl from '../src/report/jsonl';
import type * as Record from '../src/report/flow-record';

const args = process.argv.slice(2);
const dist = path.resolve(args.find((a) => !a.startsWith('--') && !/^\d+$/.test(a)) ?? path.join(__dirname, '..'));
const jsonl = args.includes('--jsonl');
const n = Number(args[args.indexOf('--records') + 1]) || 400_000;
const load = <T>(m: string): T => require(path.join(dist, 'src/report', m)) as T;
const { RecordSpill } = load<typeof Spill>('record-spill');
const { ReportFile, ReportMerge } = load<typeof Files>('report-files');
const { dfxmlFormat } = load<typeof Dfxml>('dfxml');
const { jsonlFormat } = load<typeof Jsonl>('jsonl');
const { encodeRecord } = load<typeof Record>('flow-record');

const dir = fs.mkdtempSync(path.join(fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir(), 'bench-report-'));
const ip = (i: number) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
const pad = (v: number, w: number) => String(v).padStart(w, '0');
const spills = [0, 1].map((w) => new RecordSpill(path.join(dir, `spill${w}`)));
for (let i = 0; i < n; i++) {
  const sec = 1_700_000_000 + (i >> 6);
  const r: Record.FlowRecord = {
    type: 'flow', filename: `out/${ip(i).split('.').map((x) => pad(Number(x), 3)).join('.')}.${pad(1024 + (i % 60000), 5)}-010.000.000.001.00080`,
    filesize: 1000 + (i * 37) % 5000, startime: `2023-11-14T22:13:${pad(sec % 60, 2)}.${pad((i * 7919) % 1e6, 6)}Z`,
    endtime: `2023-11-14T22:13:${pad((sec + 1) % 60, 2)}.${pad((i * 104729) % 1e6, 6)}Z`, mac_daddr: '00:11:22:33:44:55', mac_saddr: '66:77:88:99:aa:bb',
    family: 2, src_ipn: ip(i), dst_ipn: '10.0.0.1', srcport: 1024 + (i % 60000), dstport: 80, packets: 3 + (i % 10), len: 2000 + (i % 3000),
  };
  spills[i & 1].add(i, i - 5, encodeRecord(r));
}
for (const s of spills) s.close();

const info = { commandLine: 'bench', startTime: new Date(0), config: {}, tdelta: 0 };
const files = [ReportFile.open(path.join(dir, 'report.xml'), dfxmlFormat(info, process.hrtime.bigint()))];
if (jsonl) files.push(ReportFile.open(path.join(dir, 'report.jsonl'), jsonlFormat()));
const summary = {
  openFdsAtEnd: 0, maxOpenFlows: 0, totalFlows: n, flowMapSize: 0, totalPackets: 0, flowsPurged: 0, maxFlows: 0, flowsTimedOut: 0,
  tcpTimeout: 0, fragments: { fragments: 0, datagrams: 0, dropped: 0, overlapping: 0, timedOut: 0, bytesHeld: 0 } as unknown as Dfxml.ReportSummary['fragments'], error: null,
};
const cpu = process.cpuUsage();
const t0 = process.hrtime.bigint();
const merge = new ReportMerge(files, [], spills.map((s) => s.path));
merge.finish([], [], n, summary, []);
const us = process.cpuUsage(cpu);
const wall = Number(process.hrtime.bigint() - t0) / 1e6;
const size = fs.statSync(path.join(dir, 'report.xml')).size;
fs.rmSync(dir, { recursive: true, force: true });
console.log(`${dist}: ${n} records${jsonl ? ' (+jsonl)' : ''}: cpu ${((us.user + us.system) / 1000).toFixed(0)} ms ` +
  `(${((us.user + us.system) / n).toFixed(2)} us a record), wall ${wall.toFixed(0)} ms, report.xml ${size} bytes`);
