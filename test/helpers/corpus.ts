/**
 * The conformance corpus copied into fixtures/corpus/ (scripts/copy-corpus.sh) and the
 * comparison of a tcpflow-ts run with what the oracle tcpflow wrote. The comparison mirrors
 * ../shared/tools/oracle-compare (collectResult, normalizeReport, diffResults; its deviation
 * rules are in ./deviations.ts), so a case passes here exactly when it passes there; the
 * format of the oracle files is described in fixtures/corpus/ORIGIN.md, "Oracle file format".
 *
 * Everything here works from a fresh clone: nothing outside the repository is read.
 */
import { spawn } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { checkWellFormed } from '../report/xml-check';

// ---------------------------------------------------------------- paths

/** The repository root: compiled helpers live in dist/test/helpers/. */
export const REPO_ROOT = findRepoRoot(__dirname);
/** The compiled CLI the tests run. */
export const CLI = path.join(REPO_ROOT, 'dist', 'cli', 'main.js');
export const CORPUS_DIR = path.join(REPO_ROOT, 'fixtures', 'corpus');
export const PCAP_DIR = path.join(CORPUS_DIR, 'pcaps');
export const EXPECTED_DIR = path.join(CORPUS_DIR, 'expected');
export const DEVIATIONS_FILE = path.join(REPO_ROOT, 'test', 'oracle', 'deviations.json');

function findRepoRoot(start: string): string {
  for (let dir = start; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(path.join(dir, 'fixtures'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no repository root above ${start}`);
  }
}

export const REPORT = 'report.xml';

// ---------------------------------------------------------------- oracle files

/** size + md5 of some bytes, and either the bytes (small) or per-chunk md5 prefixes. */
export interface Digest {
  volatile?: boolean;
  content_volatile?: boolean;
  size?: number;
  md5?: string;
  b64?: string;
  chunk_size?: number;
  chunks?: string[];
  mtime_us?: number | null;
}

export interface FileDigest extends Digest {
  path: string;
}

export interface HashDigest { type: string; value: string }

export interface FlowRecord {
  filename: string | null;
  filesize: number | string | null;
  tcpflow: Record<string, string> | null;
  hashdigest?: HashDigest[];
  hashdigest_volatile?: boolean;
  byte_runs?: Record<string, unknown>[];
  /** tcpflow-ts's <tcpflow-ts:vlan id='N'/> (tcpflow has none: not compared with the oracle). */
  vlan?: string;
}

export interface NormalReport {
  root: string | null;
  flows: FlowRecord[];
  summary: Record<string, number | string | null>;
}

export interface OracleCase {
  format: number;
  capture: string;
  mode: string;
  args: string[];
  inputs?: string[];
  inputs_sha256?: string[];
  capture_sha256?: string;
  exit_code: number | null;
  signal?: string | null;
  files: FileDigest[];
  stdout?: Digest;
  report: NormalReport | null;
  stderr_sample?: string[];
  /** The oracle file's name, for messages. */
  file: string;
}

/**
 * The modes whose oracle files fixtures/corpus holds (scripts/copy-corpus.sh): every mode
 * of the corpus the CLI implements, i.e. all but http and filter.
 */
export const CORPUS_MODES = ['default', 'FM', 'md5', 'http', 'template', 'findx', 'b100', 'm1000', 'console', 'multi', 'continue'] as const;

/** Oracle cases of the given modes, in file name order. */
export function loadCases(modes: readonly string[] = CORPUS_MODES, dir = EXPECTED_DIR): OracleCase[] {
  const want = new Set(modes);
  const cases: OracleCase[] = [];
  for (const name of fs.readdirSync(dir).sort()) {
    if (!name.endsWith('.json')) continue;
    const j = JSON.parse(fs.readFileSync(path.join(dir, name), 'utf8')) as OracleCase;
    if (!j || j.format !== 1 || !j.capture || !j.mode || !Array.isArray(j.args)) continue;
    if (!want.has(j.mode)) continue;
    cases.push({ ...j, file: name });
  }
  return cases;
}

/** Absolute paths of the files a case reads: [capture] or its input set. */
export function caseInputs(c: OracleCase, pcapDir = PCAP_DIR): string[] {
  return (c.inputs ?? [c.capture]).map((f) => path.join(pcapDir, f));
}

/**
 * {pcap}: the capture; {part1}, {part2}, ...: the files of an input set in command-line
 * order; {out}: the output directory (as oracle-compare's substArgs).
 */
export function substArgs(c: OracleCase, out: string, pcapDir = PCAP_DIR): string[] {
  const inputs = c.inputs ? c.inputs.map((f) => path.join(pcapDir, f)) : [];
  const pcap = c.inputs ? null : path.join(pcapDir, c.capture);
  return c.args.map((a) => (pcap === null ? a : a.split('{pcap}').join(pcap)).split('{out}').join(out)
    .replace(/\{part([1-9][0-9]*)\}/g, (m, n: string) => inputs[Number(n) - 1] ?? m));
}

export function sha256File(p: string): string {
  return crypto.createHash('sha256').update(fs.readFileSync(p)).digest('hex');
}

/** Problems with the copied captures: missing, or not the bytes the oracle read. */
export function checkInputs(c: OracleCase, pcapDir = PCAP_DIR): string[] {
  const files = caseInputs(c, pcapDir);
  const sums = c.inputs ? c.inputs_sha256 ?? [] : [c.capture_sha256];
  const problems: string[] = [];
  files.forEach((f, i) => {
    if (!fs.existsSync(f)) problems.push(`capture ${path.basename(f)} not found in ${pcapDir}`);
    else if (sums[i] && sha256File(f) !== sums[i]) {
      problems.push(`capture file ${path.basename(f)} differs from the one the oracle was made from (sha256)`);
    }
  });
  return problems;
}

// ---------------------------------------------------------------- running the CLI

export interface RunResult {
  code: number | null;
  signal: string | null;
  stdout: Buffer;
  stderr: string;
  timedOut: boolean;
  /** Wall-clock start and end (ms since the epoch). */
  start: number;
  end: number;
}

/**
 * Runs `node dist/cli/main.js ARGS` in its own process group, killed after timeoutMs.
 * `stdin`: a file for its standard input, as the open file itself, or through a pipe
 * from `cat` (a shell's pipe: a FIFO, where Node's own stdio pipes are sockets).
 */
export function runCli(args: readonly string[], opts: { timeoutMs?: number; cwd?: string; env?: NodeJS.ProcessEnv;
  stdin?: { file: string; pipe: boolean } } = {}): Promise<RunResult> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  return new Promise((resolve) => {
    const start = Date.now();
    const stdinFd = opts.stdin !== undefined && !opts.stdin.pipe ? fs.openSync(opts.stdin.file, 'r') : null;
    const [command, argv] = opts.stdin?.pipe === true
      ? ['sh', ['-c', 'f=$1; shift; cat "$f" | exec "$@"', 'sh', opts.stdin.file, process.execPath, CLI, ...args]]
      : [process.execPath, [CLI, ...args]];
    const child = spawn(command, argv, {
      cwd: opts.cwd ?? REPO_ROOT,
      stdio: [stdinFd ?? 'ignore', 'pipe', 'pipe'],
      detached: true,
      env: { ...childEnv(), ...opts.env },
    });
    if (stdinFd !== null) fs.closeSync(stdinFd);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const killGroup = () => {
      try { if (child.pid) process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ }
    };
    let threads = '';
    const timer = setTimeout(() => {
      timedOut = true;
      threads = child.pid === undefined ? '' : threadStates(child.pid);
      killGroup();
    }, timeoutMs);
    child.stdout?.on('data', (d: Buffer) => out.push(d));
    child.stderr?.on('data', (d: Buffer) => err.push(d));
    let spawnError: string | null = null;
    child.on('error', (e) => { spawnError = e.message; });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      killGroup(); // leftovers of the group, if any
      const stderr = Buffer.concat(err).toString('utf8') + (spawnError ? `\n(spawn error: ${spawnError})` : '') +
        (timedOut ? `\n(timed out after ${timeoutMs} ms; its threads then: ${threads || 'unknown'})` : '');
      resolve({ code, signal, stdout: Buffer.concat(out), stderr, timedOut, start, end: Date.now() });
    });
  });
}

/**
 * What each thread of process group `pgid` was doing (Linux /proc): the process, each
 * thread's name, state and the kernel function it waits in, so that a run that timed out
 * says where it hung.
 */
function threadStates(pgid: number): string {
  const read = (f: string) => { try { return fs.readFileSync(f, 'utf8').trim(); } catch { return '?'; } };
  const fields = (stat: string) => stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  try {
    const pids = fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p) && fields(read(`/proc/${p}/stat`))[2] === String(pgid));
    return pids.map((pid) => `[${pid} ${read(`/proc/${pid}/comm`)}] ` + fs.readdirSync(`/proc/${pid}/task`).map((tid) => {
      const t = `/proc/${pid}/task/${tid}`;
      return `${read(`${t}/comm`)}:${fields(read(`${t}/stat`))[0]}:${read(`${t}/wchan`)}`;
    }).join(' ')).join('; ');
  } catch {
    return '';
  }
}

/** The environment of the CLI: the test runner's own variables left out. */
export function childEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.NODE_TEST_CONTEXT;
  return env;
}

/** A fresh temporary directory; the output directory is `<it>/out` (absent before the run). */
export function makeTempDir(prefix = 'tcpflow-ts-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function removeDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

/** Runs fn over items, at most `limit` at a time; results in item order. */
export async function pool<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return results;
}

/** Parallel runs per test file: node --test already runs two test files at once. */
export const POOL_SIZE = Math.max(2, Math.min(4, os.availableParallelism()));

// ---------------------------------------------------------------- digests

const INLINE_MAX = 512;
const MIN_CHUNK = 256;
const MAX_CHUNKS = 64;
/** An mtime this close to the run is "now" (run time), not a packet time. */
const VOLATILE_MTIME_MS = 5 * 60 * 1000;

export function md5hex(buf: Buffer): string {
  return crypto.createHash('md5').update(buf).digest('hex');
}

function chunkSizeFor(size: number): number {
  let cs = MIN_CHUNK;
  while (cs * MAX_CHUNKS < size) cs *= 2;
  return cs;
}

export function digestBuffer(buf: Buffer): Digest {
  const d: Digest = { size: buf.length, md5: md5hex(buf) };
  if (buf.length <= INLINE_MAX) {
    d.b64 = buf.toString('base64');
  } else {
    const cs = chunkSizeFor(buf.length);
    d.chunk_size = cs;
    d.chunks = [];
    for (let off = 0; off < buf.length; off += cs) {
      d.chunks.push(md5hex(buf.subarray(off, Math.min(off + cs, buf.length))).slice(0, 8));
    }
  }
  return d;
}

/** Where an actual content differs from an oracle digest. */
export function locateDifference(exp: Digest, buf: Buffer): string {
  if (exp.b64 !== undefined) {
    const e = Buffer.from(exp.b64, 'base64');
    const n = Math.min(e.length, buf.length);
    for (let i = 0; i < n; i++) if (e[i] !== buf[i]) return `content differs at byte ${i}`;
    return e.length === buf.length ? 'content differs' : `content differs at byte ${n}`;
  }
  if (Array.isArray(exp.chunks) && exp.chunk_size && exp.size !== undefined) {
    const cs = exp.chunk_size;
    for (let i = 0; i < exp.chunks.length; i++) {
      const start = i * cs;
      const end = Math.min(start + cs, exp.size);
      if (buf.length < end) {
        return buf.length <= start ? `content differs at byte ${start}`
          : `content differs at byte ${start}..${end - 1} (actual ends at ${buf.length})`;
      }
      if (md5hex(buf.subarray(start, end)).slice(0, 8) !== exp.chunks[i]) return `content differs at byte ${start}..${end - 1}`;
    }
    return `content differs at byte ${exp.size}`;
  }
  return 'content differs';
}

// ---------------------------------------------------------------- files

export function walkFiles(root: string): { rel: string; abs: string }[] {
  const out: { rel: string; abs: string }[] = [];
  const visit = (dir: string, rel: string) => {
    let ents: fs.Dirent[];
    try { ents = fs.readdirSync(dir, { withFileTypes: true }); } catch { return; }
    for (const e of ents) {
      const abs = path.join(dir, e.name);
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) visit(abs, r);
      else if (e.isFile() || e.isSymbolicLink()) out.push({ rel: r, abs });
    }
  };
  visit(root, '');
  out.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
  return out;
}

// ---------------------------------------------------------------- report (tolerant, as oracle-compare)

interface XmlEl { name: string; attrs: Record<string, string>; children: XmlEl[]; text: string }

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-zA-Z]+);/g, (m, e: string) => {
    if (e[0] === '#') {
      const n = e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
      try { return String.fromCodePoint(n); } catch { return m; }
    }
    return ENTITIES[e] ?? m;
  });
}

/** oracle-compare's tolerant parser (the normalisation must match it, not be stricter). */
function parseXmlTolerant(text: string): XmlEl {
  const root: XmlEl = { name: '#root', attrs: {}, children: [], text: '' };
  const stack = [root];
  const token = /<!--[\s\S]*?-->|<\?[\s\S]*?\?>|<!\[CDATA\[([\s\S]*?)\]\]>|<![^>]*>|<\/\s*([^\s>]+)\s*>|<([A-Za-z_:][^\s/>]*)((?:\s+[^\s=/>]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(\/?)>/g;
  const attrRe = /([^\s=/>]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g;
  let last = 0;
  let m: RegExpExecArray | null;
  while ((m = token.exec(text)) !== null) {
    const top = stack[stack.length - 1];
    if (m.index > last) top.text += decodeEntities(text.slice(last, m.index));
    last = token.lastIndex;
    if (m[1] !== undefined) { top.text += m[1]; continue; }
    if (m[2] !== undefined) {
      for (let k = stack.length - 1; k > 0; k--) {
        if (stack[k].name === m[2]) { stack.length = k; break; }
      }
      continue;
    }
    if (m[3] !== undefined) {
      const el: XmlEl = { name: m[3], attrs: {}, children: [], text: '' };
      let a: RegExpExecArray | null;
      attrRe.lastIndex = 0;
      while ((a = attrRe.exec(m[4] || '')) !== null) el.attrs[a[1]] = decodeEntities(a[2] !== undefined ? a[2] : a[3]);
      top.children.push(el);
      if (!m[5]) stack.push(el);
    }
  }
  if (last < text.length) stack[stack.length - 1].text += decodeEntities(text.slice(last));
  return root;
}

const child = (el: XmlEl, name: string) => el.children.find((c) => c.name === name);
const children = (el: XmlEl, name: string) => el.children.filter((c) => c.name === name);
const textOf = (el: XmlEl | undefined | null) => (el ? el.text.trim() : null);

function sortedObject<T>(o: Record<string, T>): Record<string, T> {
  const r: Record<string, T> = {};
  for (const k of Object.keys(o).sort()) r[k] = o[k];
  return r;
}

function normName(name: string | null, outDir: string): string | null {
  if (name == null) return null;
  let n = name.trim();
  for (const prefix of [`${outDir}/`, `${outDir.replace(/\/+$/, '')}/`]) {
    if (n.startsWith(prefix)) { n = n.slice(prefix.length); break; }
  }
  while (n.startsWith('./')) n = n.slice(2);
  return n;
}

function toNumber(s: string | null): number | string | null {
  if (s == null || s === '') return null;
  const n = Number(s);
  return Number.isFinite(n) ? n : s;
}

function normalizeFileobject(fo: XmlEl, outDir: string): FlowRecord {
  const rec: FlowRecord = { filename: normName(textOf(child(fo, 'filename')), outDir), filesize: null, tcpflow: null };
  const fsz = child(fo, 'filesize');
  rec.filesize = fsz ? toNumber(textOf(fsz)) : null;
  const tf = child(fo, 'tcpflow');
  rec.tcpflow = tf ? sortedObject(tf.attrs) : null;
  const vlan = child(fo, 'tcpflow-ts:vlan');
  if (vlan) rec.vlan = vlan.attrs.id;
  const hashes = children(fo, 'hashdigest');
  if (hashes.length) rec.hashdigest = hashes.map((h) => ({ type: h.attrs.type || '', value: (textOf(h) ?? '').toLowerCase() }));
  const runs: Record<string, unknown>[] = [];
  for (const br of children(fo, 'byte_runs')) {
    for (const r of children(br, 'byte_run')) {
      const x: Record<string, unknown> = sortedObject(r.attrs);
      const inner = child(r, 'fileobject');
      if (inner) {
        x.filename = normName(textOf(child(inner, 'filename')), outDir);
        const isz = child(inner, 'filesize');
        x.filesize = isz ? toNumber(textOf(isz)) : null;
      }
      runs.push(x);
    }
  }
  if (runs.length) rec.byte_runs = runs;
  return rec;
}

/**
 * The deterministic part of report.xml (oracle-compare's normalizeReport): one record per
 * top-level fileobject, sorted, and total_flows/total_packets. With `keepOrder` the flows
 * stay in document order (for checks that the order itself is reproducible).
 */
export function normalizeReport(xmlText: string, outDir: string, keepOrder = false): NormalReport {
  const doc = parseXmlTolerant(xmlText);
  const flows: FlowRecord[] = [];
  const visit = (el: XmlEl) => {
    for (const c of el.children) {
      if (c.name === 'fileobject') flows.push(normalizeFileobject(c, outDir));
      else visit(c);
    }
  };
  visit(doc);
  const sortKey = (f: FlowRecord) => [f.filename || '', ...['startime', 'src_ipn', 'srcport', 'dst_ipn', 'dstport', 'endtime']
    .map((k) => (f.tcpflow && f.tcpflow[k]) || '')].join('\u0000');
  if (!keepOrder) {
    flows.sort((a, b) => {
      const ka = sortKey(a);
      const kb = sortKey(b);
      return ka < kb ? -1 : ka > kb ? 1 : 0;
    });
  }
  const find = (el: XmlEl, name: string): XmlEl | null => {
    for (const c of el.children) {
      if (c.name === name) return c;
      const r = find(c, name);
      if (r) return r;
    }
    return null;
  };
  const summary: Record<string, number | string | null> = {};
  for (const k of ['total_flows', 'total_packets']) {
    const e = find(doc, k);
    if (e) summary[k] = toNumber(textOf(e));
  }
  return { root: find(doc, 'dfxml') ? 'dfxml' : null, flows, summary };
}

// ---------------------------------------------------------------- strict well-formedness

/** Throws unless `bytes` is valid UTF-8 and a well-formed XML document (test/report/xml-check.ts). */
export function assertWellFormedXml(bytes: Buffer | string): void {
  let text: string;
  if (typeof bytes === 'string') text = bytes;
  else {
    try { text = new TextDecoder('utf-8', { fatal: true }).decode(bytes); } catch {
      throw new Error('not valid UTF-8');
    }
  }
  checkWellFormed(text);
}

// ---------------------------------------------------------------- one run's result

export interface ActualFile extends FileDigest {
  buf?: Buffer;
}

export interface ActualResult {
  exit_code: number | null;
  signal: string | null;
  files: ActualFile[];
  report: NormalReport | null;
  /** report.xml's bytes, when there is one. */
  reportText: Buffer | null;
  /** Console output with the output directory replaced by `{out}` (when asked for). */
  stdout?: Digest;
  stdoutBuf?: Buffer;
}

/** Every occurrence of `from` in `buf` replaced by `to`. */
export function replaceAll(buf: Buffer, from: Buffer, to: Buffer): Buffer {
  if (!from.length) return buf;
  const parts: Buffer[] = [];
  let i = 0;
  for (let j = buf.indexOf(from, i); j !== -1; j = buf.indexOf(from, i)) {
    parts.push(buf.subarray(i, j), to);
    i = j + from.length;
  }
  if (i === 0) return buf;
  parts.push(buf.subarray(i));
  return Buffer.concat(parts);
}

/**
 * What a run left behind, in the oracle's form (oracle-compare's collectResult); with
 * `stdout`, also the console output, as the oracle records it for the console modes.
 */
export function collectResult(outDir: string, run: RunResult, opts: { keepOrder?: boolean; stdout?: boolean } = {}): ActualResult {
  const res: ActualResult = { exit_code: run.code, signal: run.signal, files: [], report: null, reportText: null };
  for (const f of fs.existsSync(outDir) ? walkFiles(outDir) : []) {
    if (f.rel === REPORT) {
      res.files.push({ path: REPORT, volatile: true });
      continue;
    }
    let buf: Buffer;
    try { buf = fs.readFileSync(f.abs); } catch { buf = Buffer.alloc(0); }
    const entry: ActualFile = { path: f.rel, ...digestBuffer(buf), buf };
    try {
      const st = fs.statSync(f.abs, { bigint: true });
      const ms = Number(st.mtimeNs / 1000000n);
      const volatile = ms >= run.start - VOLATILE_MTIME_MS && ms <= run.end + VOLATILE_MTIME_MS;
      entry.mtime_us = volatile ? null : Number(st.mtimeNs / 1000n);
    } catch { entry.mtime_us = null; }
    res.files.push(entry);
  }
  const rp = path.join(outDir, REPORT);
  if (fs.existsSync(rp)) {
    res.reportText = fs.readFileSync(rp);
    res.report = normalizeReport(res.reportText.toString('latin1'), outDir, opts.keepOrder);
  }
  if (opts.stdout) {
    res.stdoutBuf = replaceAll(run.stdout, Buffer.from(outDir), Buffer.from('{out}'));
    res.stdout = digestBuffer(res.stdoutBuf);
  }
  return res;
}

// ---------------------------------------------------------------- comparison

/**
 * A difference between the oracle and a run (oracle-compare's reason()): `text` is what is
 * printed, the other fields are what the deviation rules (test/helpers/deviations.ts) look
 * at. `name` is a fileobject's label (its file name, or its addresses when it has none);
 * `file` the actual fileobject's file name.
 */
export type Reason =
  | { kind: 'exit' | 'console' | 'report' | 'run'; text: string }
  | { kind: 'missing-file' | 'extra-file' | 'content' | 'mtime'; text: string; path: string }
  | { kind: 'size'; text: string; path: string; expected?: number; actual?: number }
  | { kind: 'no-fileobject' | 'extra-fileobject' | 'fileobject-count' | 'no-tcpflow' | 'byte_runs'; text: string; name: string }
  | { kind: 'attr-missing' | 'attr-extra' | 'attr-differs'; text: string; name: string; key: string; expected?: string; actual?: string }
  | { kind: 'filesize'; text: string; name: string; file: string | null; expected: FlowRecord['filesize']; actual: FlowRecord['filesize'] }
  | { kind: 'hashdigest'; text: string; name: string; file: string | null; expected: HashDigest[]; actual: HashDigest[] }
  | { kind: 'summary'; text: string; key: string; expected: unknown; actual: unknown };

const SIGNALS = new Map(Object.entries(os.constants.signals).map(([name, n]) => [n as number, name]));

export function describeExit(code: number | null | undefined, signal?: string | null): string {
  if (signal) return `killed by ${signal}`;
  if (code === null || code === undefined) return 'no exit status';
  if (code > 128 && code < 160) return `${code} (${SIGNALS.get(code - 128) ?? `signal ${code - 128}`})`;
  if (code === 127) return '127 (command not found)';
  if (code === 126) return '126 (command not executable)';
  return String(code);
}

const fmt = (v: unknown) => (v === undefined ? '(absent)' : JSON.stringify(v));

function usToIso(us: number): string {
  const ms = Math.floor(us / 1000);
  const frac = String(((us % 1000000) + 1000000) % 1000000).padStart(6, '0');
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, `.${frac}Z`);
}

export function flowLabel(f: FlowRecord): string {
  if (f.filename) return f.filename;
  const t = f.tcpflow || {};
  return `(no file: ${t.src_ipn}:${t.srcport}->${t.dst_ipn}:${t.dstport})`;
}

function groupBy<T>(list: readonly T[], key: (x: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const x of list) {
    const k = key(x);
    if (!m.has(k)) m.set(k, []);
    m.get(k)!.push(x);
  }
  return m;
}

function compareFlow(e: FlowRecord, a: FlowRecord, reasons: Reason[]): void {
  const name = flowLabel(e);
  if (e.filesize !== a.filesize) {
    reasons.push({ kind: 'filesize', text: `report: filesize differs for ${name} (expected ${fmt(e.filesize)}, got ${fmt(a.filesize)})`,
      name, file: a.filename, expected: e.filesize, actual: a.filesize });
  }
  const et = e.tcpflow || {};
  const at = a.tcpflow || {};
  if (e.tcpflow && !a.tcpflow) reasons.push({ kind: 'no-tcpflow', text: `report: no <tcpflow> element for ${name}`, name });
  else {
    for (const key of [...new Set([...Object.keys(et), ...Object.keys(at)])].sort()) {
      if (et[key] === at[key]) continue;
      const x = { name, key, expected: et[key], actual: at[key] };
      if (!(key in at)) reasons.push({ kind: 'attr-missing', text: `report: attribute ${key} missing for ${name} (expected ${fmt(et[key])})`, ...x });
      else if (!(key in et)) reasons.push({ kind: 'attr-extra', text: `report: unexpected attribute ${key}=${fmt(at[key])} for ${name}`, ...x });
      else reasons.push({ kind: 'attr-differs', text: `report: attribute ${key} differs for ${name} (expected ${fmt(et[key])}, got ${fmt(at[key])})`, ...x });
    }
  }
  const hv = (h: FlowRecord['hashdigest']) => (e.hashdigest_volatile ? (h || []).map((x) => x.type) : h || []);
  const eh = JSON.stringify(hv(e.hashdigest));
  const ah = JSON.stringify(hv(a.hashdigest));
  if (eh !== ah) {
    reasons.push({ kind: 'hashdigest', text: `report: hashdigest differs for ${name} (expected ${eh}, got ${ah})`,
      name, file: a.filename, expected: e.hashdigest || [], actual: a.hashdigest || [] });
  }
  const eb = JSON.stringify(e.byte_runs || []);
  const ab = JSON.stringify(a.byte_runs || []);
  if (eb !== ab) reasons.push({ kind: 'byte_runs', text: `report: byte_runs differ for ${name} (expected ${eb}, got ${ab})`, name });
}

function compareFlows(expFlows: FlowRecord[], actFlows: FlowRecord[], reasons: Reason[]): void {
  const eg = groupBy(expFlows, flowLabel);
  const ag = groupBy(actFlows, flowLabel);
  for (const [name, es] of eg) {
    const as = ag.get(name) || [];
    if (as.length < es.length) {
      reasons.push(as.length === 0 ? { kind: 'no-fileobject', text: `report: no fileobject for ${name}`, name }
        : { kind: 'fileobject-count', text: `report: ${es.length} fileobjects for ${name} expected, got ${as.length}`, name });
    }
    for (let i = 0; i < Math.min(es.length, as.length); i++) compareFlow(es[i], as[i], reasons);
  }
  for (const [name, as] of ag) {
    const n = (eg.get(name) || []).length;
    if (as.length > n) {
      reasons.push(n === 0 ? { kind: 'extra-fileobject', text: `report: extra fileobject for ${name}`, name }
        : { kind: 'fileobject-count', text: `report: extra fileobject for ${name} (x${as.length - n})`, name });
    }
  }
}

/** The parts of an oracle record the comparison reads (a renamed expectation is one too). */
export type Expectation = Pick<OracleCase, 'exit_code' | 'signal' | 'files' | 'stdout' | 'report'>;

/**
 * oracle-compare's diffResults: exit status, file list, size and md5 of every file
 * (report.xml: presence; with `mtime`, the modification times tcpflow set from packet
 * times, as oracle-compare --mtime), console output where the oracle recorded it, and the
 * normalised report. Returns the differences.
 */
export function diffResults(exp: Expectation, act: ActualResult, opts: { mtime?: boolean } = {}): Reason[] {
  const reasons: Reason[] = [];
  if (exp.exit_code !== act.exit_code || (exp.signal || null) !== (act.signal || null)) {
    reasons.push({ kind: 'exit', text: `exit status differs (expected ${describeExit(exp.exit_code, exp.signal)}, got ${describeExit(act.exit_code, act.signal)})` });
  }
  const expFiles = new Map(exp.files.map((f) => [f.path, f]));
  const actFiles = new Map(act.files.map((f) => [f.path, f]));
  for (const [p] of expFiles) if (!actFiles.has(p)) reasons.push({ kind: 'missing-file', text: `missing file ${p}`, path: p });
  for (const [p] of actFiles) if (!expFiles.has(p)) reasons.push({ kind: 'extra-file', text: `extra file ${p}`, path: p });
  for (const [p, e] of expFiles) {
    const a = actFiles.get(p);
    if (!a || e.volatile) continue;
    const sizes = { path: p, expected: e.size, actual: a.size };
    if (e.content_volatile) {
      if (a.size !== e.size) reasons.push({ kind: 'size', text: `size differs for ${p} (expected ${e.size}, got ${a.size})`, ...sizes });
      continue;
    }
    if (a.md5 === e.md5 && a.size === e.size) {
      if (opts.mtime && e.mtime_us != null && a.mtime_us !== e.mtime_us) {
        reasons.push({ kind: 'mtime', path: p,
          text: `mtime differs for ${p} (expected ${usToIso(e.mtime_us)}, got ${a.mtime_us == null ? 'run time' : usToIso(a.mtime_us)})` });
      }
      continue;
    }
    const where = a.buf ? locateDifference(e, a.buf) : 'content differs';
    if (a.size !== e.size) reasons.push({ kind: 'size', text: `size differs for ${p} (expected ${e.size}, got ${a.size}; ${where})`, ...sizes });
    else reasons.push({ kind: 'content', text: `${where} in ${p}`, path: p });
  }
  if (exp.stdout) {
    const a = act.stdout;
    if (!a) reasons.push({ kind: 'console', text: 'no console output captured' });
    else if (exp.stdout.content_volatile) {
      if (a.size !== exp.stdout.size) reasons.push({ kind: 'console', text: `console output size differs (expected ${exp.stdout.size}, got ${a.size})` });
    } else if (a.md5 !== exp.stdout.md5 || a.size !== exp.stdout.size) {
      const where = act.stdoutBuf ? locateDifference(exp.stdout, act.stdoutBuf) : 'content differs';
      reasons.push({ kind: 'console', text: a.size !== exp.stdout.size
        ? `console output size differs (expected ${exp.stdout.size}, got ${a.size}; ${where})`
        : `console output ${where}` });
    }
  }
  if (exp.report && !act.report) {
    if (expFiles.has(REPORT) && actFiles.has(REPORT)) reasons.push({ kind: 'report', text: 'report.xml unreadable' });
  } else if (exp.report && act.report) {
    if (exp.report.root && !act.report.root) reasons.push({ kind: 'report', text: 'report.xml has no <dfxml> element' });
    compareFlows(exp.report.flows, act.report.flows, reasons);
    for (const key of Object.keys(exp.report.summary || {})) {
      const ev = exp.report.summary[key];
      const av = (act.report.summary || {})[key];
      if (ev !== av) reasons.push({ kind: 'summary', text: `report ${key} differs (expected ${fmt(ev)}, got ${fmt(av)})`, key, expected: ev, actual: av });
    }
  }
  return reasons;
}

// ---------------------------------------------------------------- stderr

/** Lines of a JavaScript stack trace ("    at fn (file:line:col)"), also behind the program's prefix. */
export function stackFrames(stderr: string): string[] {
  return stderr.split('\n').filter((l) => /^(tcpflow-ts: )?\s+at \S/.test(l));
}

/** Non-empty stderr lines that do not start with the program's prefix. */
export function unprefixedLines(stderr: string): string[] {
  return stderr.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('tcpflow-ts: '));
}
