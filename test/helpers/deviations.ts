/**
 * test/oracle/deviations.json and how its entries forgive differences from the oracle: a
 * port of ../shared/tools/oracle-compare's precise deviations (ROW_RULES, pairRenames,
 * judgeCase), so that a case is a pass, a deviation or a failure here exactly when it is
 * one there.
 *
 * An entry of a row with a known, narrow effect forgives only the differences that row
 * causes; anything else in the case still fails. Rows without a rule (B8, B16, B28, B29,
 * B31, B32, ...) have broad effects and forgive every difference of the cases they cover.
 * B30 has a rule here that oracle-compare (which forgives its cases whole) does not: it is
 * narrower, so a case it passes passes there too.
 */
import * as fs from 'node:fs';
import { ActualFile, ActualResult, DEVIATIONS_FILE, diffResults, Expectation, FileDigest, md5hex, OracleCase, Reason } from './corpus';

export interface Deviation {
  capture: string;
  mode: string;
  spec: string;
  reason: string;
}

/**
 * Rows whose behaviour follows from an option alone, whatever the traffic: only these may
 * name every capture ("capture": "*") for one mode. B9 -Fc naming, B10 -FM, B11 md5
 * coverage, B15 exit codes, B18 findx order, B19 report order, B21 console mode and report,
 * B27 filesize with -b, B35 %N and -Fk numbering.
 */
export const GLOBAL_SPECS: ReadonlySet<string> = new Set(['B9', 'B10', 'B11', 'B15', 'B18', 'B19', 'B21', 'B27', 'B35']);

const KEYS = ['capture', 'mode', 'spec', 'reason'] as const;

/**
 * The entries of a deviations file, checked as oracle-compare checks them (the spec is not
 * in the repository, so a row id is only checked for its form). TCPFLOW_TS_DEVIATIONS names
 * another file, to try a change before making it.
 */
export function loadDeviations(file = process.env.TCPFLOW_TS_DEVIATIONS || DEVIATIONS_FILE): Deviation[] {
  if (!fs.existsSync(file)) return [];
  return parseDeviations(JSON.parse(fs.readFileSync(file, 'utf8')) as unknown, file);
}

export function parseDeviations(list: unknown, file: string): Deviation[] {
  if (!Array.isArray(list)) throw new Error(`deviations file ${file}: must be a JSON array of objects`);
  return list.map((d: unknown, i) => {
    const where = `deviations file ${file}, entry ${i + 1}`;
    if (!d || typeof d !== 'object' || Array.isArray(d)) throw new Error(`${where}: not an object`);
    const o = d as Record<string, unknown>;
    for (const k of KEYS) {
      const v = o[k];
      if (typeof v !== 'string' || !v.trim()) throw new Error(`${where}: "${k}" must be a non-empty string`);
    }
    const unknown = Object.keys(o).filter((k) => !(KEYS as readonly string[]).includes(k));
    if (unknown.length) throw new Error(`${where}: unknown key ${unknown.map((k) => `"${k}"`).join(', ')}`);
    const e = { capture: o.capture as string, mode: o.mode as string, spec: (o.spec as string).trim(), reason: (o.reason as string).trim() };
    if (!/^B\d+$/.test(e.spec)) throw new Error(`${where}: spec "${e.spec}" is not a spec row id (B1, B2, ...)`);
    if (e.capture === '*' && e.mode === '*') {
      throw new Error(`${where}: capture "*" with mode "*" would excuse every case; name the mode or the captures`);
    }
    if (e.capture === '*' && !GLOBAL_SPECS.has(e.spec)) {
      throw new Error(`${where}: capture "*" is allowed only for spec rows whose behaviour is global ` +
        `(${[...GLOBAL_SPECS].join(', ')}); list the captures ${e.spec} affects one by one`);
    }
    return e;
  });
}

/** capture or "*", and mode or "*". */
export function deviationMatches(d: Deviation, c: { capture: string; mode: string }): boolean {
  return (d.capture === '*' || d.capture === c.capture) && (d.mode === '*' || d.mode === c.mode);
}

// ---------------------------------------------------------------- the narrow rows

interface Context {
  files: Map<string, ActualFile>;
  /** The oracle's files, by path (after the renames). */
  expected: Map<string, FileDigest>;
  /** Every difference of the case (after the renames), for rules that look at a flow's other ones. */
  reasons: readonly Reason[];
  /** The differences about a renamed file's old or new name, and the rows that explain the rename. */
  renames: Map<Reason, readonly string[]>;
}

interface Rename { rows: string[]; distance: number }

interface RowRule {
  forgives(r: Reason, cx: Context, row: string): boolean;
  /** The rows that explain a file renamed from `exp` to `act`, or null. */
  rename?(exp: string, act: string): Rename | null;
  /** Renames only in these modes, or in the mode the entry names. */
  modes?: readonly string[];
}

const renamedBy = (r: Reason, cx: Context, row: string) => !!cx.renames.get(r)?.includes(row);

/** A file of the output whose content is not run-dependent. */
const stableFile = (cx: Context, p: string | null): ActualFile | null => {
  const f = p == null ? undefined : cx.files.get(p);
  return f && !f.volatile ? f : null;
};

/** B10, B11: a digest where the oracle has none: exactly one MD5, that of the flow's actual file. */
function digestAdded(r: Reason, cx: Context): boolean {
  if (r.kind !== 'hashdigest' || r.expected.length || r.actual.length !== 1) return false;
  const f = stableFile(cx, r.file);
  return r.actual[0].type === 'MD5' && f !== null && f.md5 === r.actual[0].value;
}

/** B5: the report's filesize is the actual file's size; or a .findx file of such a flow differs. */
function frontInsertion(r: Reason, cx: Context): boolean {
  const realSize = (x: Reason) => {
    if (x.kind !== 'filesize') return false;
    const f = stableFile(cx, x.file);
    return f !== null && f.size === x.actual;
  };
  if (realSize(r)) return true;
  if ((r.kind !== 'size' && r.kind !== 'content') || !r.path.endsWith('.findx')) return false;
  const flow = r.path.slice(0, -'.findx'.length);
  return cx.reasons.some((x) => 'name' in x && x.name === flow && realSize(x));
}

/**
 * B30: a flow file that grew because its fragmented datagrams were reassembled: the
 * oracle's file (the first fragments' bytes) is a prefix of ours. Returns that file, or null.
 */
function grownFlow(cx: Context, p: string | null): ActualFile | null {
  const a = stableFile(cx, p);
  const e = p == null ? undefined : cx.expected.get(p);
  if (!a || !a.buf || !e || e.volatile || e.content_volatile || a.size === undefined || e.size === undefined || a.size <= e.size) return null;
  return md5hex(a.buf.subarray(0, e.size)) === e.md5 ? a : null;
}

/**
 * B30: for such a flow, its size, the report's filesize (the real size), a larger wire or
 * captured length (the reassembled frame's), and its digest (the actual file's md5).
 */
function reassembled(r: Reason, cx: Context): boolean {
  switch (r.kind) {
    case 'size':
      return grownFlow(cx, r.path) !== null;
    case 'filesize':
      return grownFlow(cx, r.file)?.size === r.actual;
    case 'attr-differs':
      return (r.key === 'len' || r.key === 'caplen') && grownFlow(cx, r.name) !== null && Number(r.actual) > Number(r.expected);
    case 'hashdigest': {
      const f = grownFlow(cx, r.file);
      return f !== null && r.expected.length === 1 && r.actual.length === 1 && r.actual[0].type === 'MD5' && r.actual[0].value === f.md5;
    }
    default:
      return false;
  }
}

/** B6: NAME--T became NAME--V with V = T & 0xfff, or NAME became NAME--V (802.1ad outer tag). */
export function vlanRename(e: string, a: string): Rename | null {
  for (const m of a.matchAll(/--(\d+)/g)) {
    const head = a.slice(0, m.index);
    const tail = a.slice(m.index! + m[0].length);
    if (e === head + tail) return { rows: ['B6'], distance: 1 };
    if (e.length > head.length + 2 + tail.length && e.startsWith(`${head}--`) && e.endsWith(tail)) {
      const t = e.slice(head.length + 2, e.length - tail.length);
      if (/^\d+$/.test(t) && t !== m[1] && String(Number(t) & 0xfff) === m[1]) return { rows: ['B6'], distance: 1 };
    }
  }
  return null;
}

/** A path as its non-digit characters and the digit runs at each position of them. */
function digitRuns(p: string): { text: string; runs: Map<number, string> } {
  const parts = p.split(/(\d+)/);
  let text = '';
  const runs = new Map<number, string>();
  parts.forEach((part, i) => {
    if (i % 2) runs.set(text.length, part);
    else text += part;
  });
  return { text, runs };
}

/**
 * B9, B35: only digit runs changed (addresses and ports are digits too, so the pairing also
 * needs the same md5 and size). Per changed run: the same width (a %N/%K/%M/%G field
 * renumbered) needs B35; a 0 added before or after it (the -Fc counter of a first
 * connection, for which the oracle writes nothing) needs B9; a 0 added and the rest
 * renumbered, both. A later connection ("c" in the oracle's name) changes the non-digit
 * text: not paired.
 */
export function digitRename(e: string, a: string): Rename | null {
  const de = digitRuns(e);
  const da = digitRuns(a);
  if (de.text !== da.text) return null;
  const rows = new Set<string>();
  let distance = 0;
  for (const k of new Set([...de.runs.keys(), ...da.runs.keys()])) {
    const x = de.runs.get(k) || '';
    const y = da.runs.get(k) || '';
    if (x === y) continue;
    distance++;
    if (y.length === x.length) rows.add('B35');
    else if (y === `0${x}` || y === `${x}0`) rows.add('B9');
    else if (x && y.length === x.length + 1 && (y[0] === '0' || y[y.length - 1] === '0')) rows.add('B9').add('B35');
    else return null;
  }
  return distance ? { rows: ['B9', 'B35'].filter((r) => rows.has(r)), distance } : null;
}

/** Rows with a rule here that oracle-compare forgives whole: narrower here, so never a pass here that fails there. */
export const NARROWER_HERE: ReadonlySet<string> = new Set(['B30']);

export const ROW_RULES: Readonly<Record<string, RowRule>> = {
  // front insertion: the report's filesize is the real size; findx offsets of those flows
  B5: { forgives: frontInsertion },
  // 12-bit VLAN id in the name suffix, and a suffix for 802.1ad outer tags
  B6: { rename: vlanRename, forgives: renamedBy },
  // IP fragments reassembled: a flow's file grows past the first fragment's bytes, which stay its prefix
  B30: { forgives: reassembled },
  // no MAC attributes for non-Ethernet link types (missing, never different values)
  B7: { forgives: (r) => r.kind === 'attr-missing' && (r.key === 'mac_daddr' || r.key === 'mac_saddr') },
  // -Fc: the connection counter (%#) in every name
  B9: { rename: digitRename, modes: ['template'], forgives: renamedBy },
  // MD5 of every flow (-FM alone; files the scanners skipped)
  B10: { forgives: digestAdded },
  B11: { forgives: digestAdded },
  // %N/%K/%M/%G and the -Fk/-Fm/-Fg bins numbered by the first packet's global index
  B35: { rename: digitRename, modes: ['template'], forgives: renamedBy },
};

// ---------------------------------------------------------------- renames

interface RenamePair { to: string; rows: string[] }

/**
 * Pairs the expected files missing from the output with extra output files that the rename
 * rows given explain: same md5 and size, one to one; of several candidates the one whose
 * name changed least, then the first in path order. Returns expected path -> pair.
 */
function pairRenames(exp: { files: readonly FileDigest[] }, act: { files: readonly ActualFile[] }, rows: ReadonlySet<string>): Map<string, RenamePair> {
  const fns = new Set([...rows].map((s) => ROW_RULES[s]?.rename).filter((f) => f !== undefined));
  const expPaths = new Set(exp.files.map((f) => f.path));
  const actPaths = new Set(act.files.map((f) => f.path));
  const extra = act.files.filter((f) => !f.volatile && !expPaths.has(f.path));
  const used = new Set<ActualFile>();
  const pairs = new Map<string, RenamePair>();
  for (const e of exp.files) {
    if (e.volatile || e.content_volatile || actPaths.has(e.path)) continue;
    let best: (Rename & { a: ActualFile }) | null = null;
    for (const a of extra) {
      if (used.has(a) || a.md5 !== e.md5 || a.size !== e.size) continue;
      for (const fn of fns) {
        const how = fn(e.path, a.path);
        if (how && how.rows.every((s) => rows.has(s)) && (!best || how.distance < best.distance)) best = { ...how, a };
      }
    }
    if (best) {
      used.add(best.a);
      pairs.set(e.path, { to: best.a.path, rows: best.rows });
    }
  }
  return pairs;
}

/** The oracle record with the paired files (and their fileobjects) under their new names. */
function renameExpectation(exp: Expectation, pairs: ReadonlyMap<string, RenamePair>): Expectation {
  const to = (p: string) => pairs.get(p)?.to ?? p;
  return {
    ...exp,
    files: exp.files.map((f) => ({ ...f, path: to(f.path) })),
    report: exp.report && {
      ...exp.report,
      flows: exp.report.flows.map((f) => ({
        ...f,
        filename: f.filename === null ? null : to(f.filename),
        ...(f.byte_runs ? { byte_runs: f.byte_runs.map((b) => (typeof b.filename === 'string' ? { ...b, filename: to(b.filename) } : b)) } : {}),
      })),
    },
  };
}

// ---------------------------------------------------------------- judging a case

export interface Judgement {
  /** The differences no covering entry forgives: the case fails unless this is empty. */
  unforgiven: Reason[];
  forgiven: number;
  /** The rows that forgave something, in entry order. */
  rows: string[];
  /** How many differences each covering entry forgave (an entry that forgives none anywhere is stale). */
  credit: Map<Deviation, number>;
  /** Rename rows not cited that would pair more files, e.g. "renames need B35 too". */
  hint?: string;
}

/**
 * Which differences of a failing case the covering entries forgive. With a rename row
 * cited, the files it explains are paired and the comparison is repeated under the new
 * names (so their fileobjects are compared with each other); the differences about the
 * pairs' old and new names are forgiven by that row. Every other difference is offered to
 * the narrow rows' rules, and only if none forgives it, to the broad rows.
 */
export function judgeCase(c: OracleCase, act: ActualResult | null, reasons: readonly Reason[], covering: readonly Deviation[],
  opts: { mtime?: boolean } = {}): Judgement {
  const applies = (row: string, d?: Deviation) => {
    const rule = ROW_RULES[row];
    return !rule || !rule.modes || rule.modes.includes(c.mode) || (!!d && d.mode === c.mode);
  };
  const active = covering.filter((d) => applies(d.spec, d));
  const renameRows = new Set(active.filter((d) => ROW_RULES[d.spec]?.rename).map((d) => d.spec));
  const renamed = new Map<Reason, readonly string[]>();
  let all: readonly Reason[] = reasons;
  const pairs = act && renameRows.size ? pairRenames(c, act, renameRows) : new Map<string, RenamePair>();
  if (pairs.size) {
    const byNew = new Map([...pairs.values()].map((p) => [p.to, p]));
    for (const x of reasons) {
      const old = x.kind === 'missing-file' ? x.path : x.kind === 'no-fileobject' ? x.name : null;
      const now = x.kind === 'extra-file' ? x.path : x.kind === 'extra-fileobject' ? x.name : null;
      const p = old != null ? pairs.get(old) : now != null ? byNew.get(now) : undefined;
      if (p) renamed.set(x, p.rows);
    }
    all = [...renamed.keys(), ...diffResults(renameExpectation(c, pairs), act!, opts)];
  }
  const expected = pairs.size ? renameExpectation(c, pairs).files : c.files;
  const cx: Context = {
    files: new Map(act ? act.files.map((f) => [f.path, f]) : []), expected: new Map(expected.map((f) => [f.path, f])), reasons: all, renames: renamed,
  };
  const narrow = active.filter((d) => ROW_RULES[d.spec]);
  const broad = active.filter((d) => !ROW_RULES[d.spec]);
  const credit = new Map<Deviation, number>();
  const unforgiven: Reason[] = [];
  for (const x of all) {
    let by = narrow.filter((d) => ROW_RULES[d.spec].forgives(x, cx, d.spec));
    if (!by.length) by = broad;
    if (!by.length) unforgiven.push(x);
    for (const d of by) credit.set(d, (credit.get(d) || 0) + 1);
  }
  const j: Judgement = {
    unforgiven,
    forgiven: all.length - unforgiven.length,
    rows: [...new Set(covering.filter((d) => credit.has(d)).map((d) => d.spec))],
    credit,
  };
  if (act && renameRows.size && unforgiven.some((x) => x.kind === 'missing-file')) {
    const candidates = new Set(Object.keys(ROW_RULES).filter((s) => ROW_RULES[s].rename && (renameRows.has(s) || applies(s))));
    const more = new Set<string>();
    for (const p of pairRenames(c, act, candidates).values()) for (const s of p.rows) if (!renameRows.has(s)) more.add(s);
    if (more.size) j.hint = `renames need ${[...more].join(',')} too`;
  }
  return j;
}
