/**
 * The http scanner's own cost, apart from reading, reassembly and flow files: replays the
 * flow files of a finished run (request flow, then response flow, in 1448-byte pieces as
 * packets bring them) through httpScanner in this thread, writing the bodies to OUTDIR,
 * and prints the CPU time (user + system) of the fastest of ROUNDS passes. On a shared
 * machine this is far steadier than timing whole runs; compare two builds by running
 * their copies of this script in alternation.
 *
 * usage: node dist/scripts/bench-http-scanner.js FLOWDIR OUTDIR [ROUNDS] [CONCURRENCY]
 *   FLOWDIR: the output of `tcpflow-ts -r CAPTURE -o FLOWDIR` (no -e http), e.g. of the first
 *   300,000 packets of http-many-60k.pcap (`editcap -r http-many-60k.pcap cut.pcap 1-300000`).
 *   CONCURRENCY: connections open at once (default 500: one worker's share of that capture).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Flow } from '../src/flow/flow';
import { flowKeyOf } from '../src/flow/key';
import type { FlowScan, StoredContent } from '../src/scanners/scanner';
import { httpScanner } from '../src/scanners/http/http-scanner';
import { DEFAULT_INFLATE_LIMITS } from '../src/scanners/http/inflate';

const PIECE = 1448;
const RESPONSE = Buffer.from('HTTP/1.');
const NAME = /^(\d{3}\.\d{3}\.\d{3}\.\d{3})\.(\d{5})-(\d{3}\.\d{3}\.\d{3}\.\d{3})\.(\d{5})$/;

interface FlowFile {
  name: string;
  data: Buffer;
  flow: Flow;
}

function load(dir: string): FlowFile[] {
  const files: FlowFile[] = [];
  for (const name of fs.readdirSync(dir).sort()) {
    const m = NAME.exec(name);
    if (m === null) continue;
    const src = Uint8Array.from(m[1].split('.').map(Number)), dst = Uint8Array.from(m[3].split('.').map(Number));
    const sport = Number(m[2]), dport = Number(m[4]);
    // The scanner reads only the endpoints, the key and the VLAN tag of a flow.
    const flow = { key: flowKeyOf(src, dst, sport, dport), src, dst, sport, dport, tag: -1 } as unknown as Flow;
    files.push({ name, data: fs.readFileSync(path.join(dir, name)), flow });
  }
  return files;
}

const NOTHING: StoredContent = { read: () => new Uint8Array(0) };

/** One connection being replayed: its flows' sessions and how far each has been fed. */
interface Replay {
  flows: FlowFile[];
  scans: FlowScan[];
  /** Next flow to feed (request first, then response) and the offset in it. */
  flow: number;
  offset: number;
}

/**
 * `concurrency` connections are open at once and fed a piece each in turn, as a worker
 * sees them in a capture (http-many-60k.pcap keeps 1,000 open over 2 workers): per-flow
 * state then lives across many other flows' packets, as it does in a run, and is promoted
 * out of V8's young generation, which a connection replayed whole never is.
 */
function pass(files: readonly FlowFile[], outDir: string, concurrency: number): { cpu: number; bodies: number } {
  const byKey = new Map(files.map((f) => [f.flow.key, f]));
  const scanner = httpScanner({ decompress: true, limits: DEFAULT_INFLATE_LIMITS, listener: { opened() {}, closed() {} } });
  // Pieces come from one reused buffer, as packets come from the worker's chunks.
  const piece = Buffer.alloc(PIECE);
  let bodies = 0;
  const connections: FlowFile[][] = [];
  for (const request of files) {
    // Each connection once, from its client side (a response without its request is left out).
    if (request.data.subarray(0, RESPONSE.length).equals(RESPONSE)) continue;
    const f = request.flow;
    const response = byKey.get(flowKeyOf(f.dst, f.src, f.dport, f.sport));
    connections.push(response === undefined ? [request] : [request, response]);
  }
  const start = process.cpuUsage();
  const open: Replay[] = [];
  let next = 0;
  const start1 = (): Replay | null => {
    if (next === connections.length) return null;
    const flows = connections[next++];
    return { flows, scans: flows.map((x) => scanner.open(x.flow, path.join(outDir, x.name))), flow: 0, offset: 0 };
  };
  for (let i = 0; i < concurrency; i++) {
    const r = start1();
    if (r !== null) open.push(r);
  }
  while (open.length > 0) {
    for (let i = 0; i < open.length; i++) {
      const r = open[i];
      const x = r.flows[r.flow];
      const n = x.data.copy(piece, 0, r.offset, Math.min(r.offset + PIECE, x.data.length));
      r.scans[r.flow].onData?.(r.offset, piece.subarray(0, n));
      r.offset += n;
      if (r.offset < x.data.length) continue;
      r.flow++;
      r.offset = 0;
      if (r.flow < r.flows.length) continue;
      for (const scan of r.scans) bodies += scan.onClose(NOTHING, true)?.byte_runs?.length ?? 0;
      const fresh = start1();
      if (fresh !== null) open[i] = fresh;
      else {
        open.splice(i, 1);
        i--;
      }
    }
  }
  const t = process.cpuUsage(start);
  return { cpu: (t.user + t.system) / 1e6, bodies };
}

const [flowDir, outDir, roundsText, concurrencyText] = process.argv.slice(2);
if (flowDir === undefined || outDir === undefined) {
  process.stderr.write('usage: bench-http-scanner FLOWDIR OUTDIR [ROUNDS] [CONCURRENCY]\n');
  process.exit(2);
}
const files = load(flowDir);
fs.mkdirSync(outDir, { recursive: true });
let best = Infinity, bodies = 0;
for (let r = 0; r < Number(roundsText ?? 3); r++) {
  const result = pass(files, outDir, Number(concurrencyText ?? 500));
  best = Math.min(best, result.cpu);
  bodies = result.bodies;
}
process.stdout.write(`http scanner: ${best.toFixed(3)} s CPU (fastest pass), ${files.length} flow files, ${bodies} bodies\n`);
