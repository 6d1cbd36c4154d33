/**
 * -h / -hh (cli/help.ts): complete (every option getopt knows, and nothing else), accurate
 * (what is not implemented says so, ranges are the enforced ones), and readable (79 columns).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FEATURES, NOT_IMPLEMENTED, parseCommandLine } from '../../cli/options';
import { TCPFLOW_LONGOPTS, TCPFLOW_OPTSTRING } from '../../cli/getopt';
import { EXIT_STATUSES, FORMAT_LETTERS, OPTION_SECTIONS, PARAMS, TEMPLATE_ESCAPES } from '../../cli/usage';
import { MAX_FLOWS_RANGE, WHOLE_NUMBER_OPTIONS } from '../../cli/values';
import { EXIT } from '../../src/errors';
import { VERSION_LINE } from '../../src/version';
import { helpListing } from '../helpers/usage-text';

function help(argv: string[]): string {
  const parsed = parseCommandLine(argv);
  if (parsed.kind !== 'help') throw new Error(`${argv}: not help`);
  return parsed.text;
}

/**
 * The entry whose tag is `tag` (or starts with it, for a tag ending in '='), continuation lines
 * included, blanks collapsed.
 */
function entry(text: string, tag: string): string {
  const lines = text.split('\n');
  const at = lines.findIndex((l) => l.startsWith(`   ${tag}`) && (tag.endsWith('=') || /^([ ,]|$)/.test(l.slice(3 + tag.length))));
  assert.ok(at >= 0, `no entry ${tag}`);
  let end = at + 1;
  while (end < lines.length && /^ {4,}\S/.test(lines[end])) end++;
  return lines.slice(at, end).join(' ').replace(/\s+/g, ' ').trim();
}

const ALL_OPTIONS = OPTION_SECTIONS.flatMap((s) => s.options);

test('-h, -hh, -hhh, --help: level = count; -hh adds parameters, -F letters, template escapes', () => {
  for (const [argv, level] of [[['-h'], 1], [['-hh'], 2], [['-h', '--help', '-h'], 3]] as const) {
    const parsed = parseCommandLine([...argv]);
    assert.ok(parsed.kind === 'help' && parsed.level === level);
    assert.ok(parsed.text.startsWith(`${VERSION_LINE}\n\nusage: tcpflow-ts [-0aBcCDghHIJKlpPqsvVZ] [-A x] [-b max_bytes]`));
    const listing = helpListing(parsed.text);
    assert.equal(listing.params.size > 0, level >= 2);
    assert.equal(listing.letters.size > 0, level >= 2);
    assert.equal(listing.escapes.size > 0, level >= 2);
    assert.ok(parsed.text.endsWith('See the man page (man tcpflow-ts) for more, and for what differs from tcpflow.\n'));
  }
  // help wins over options not implemented yet, bad values and a missing input
  assert.equal(parseCommandLine(['-c', '-a', '-b', 'x', '-h']).kind, 'help');
});

test('-h lists every option getopt accepts, and no other', () => {
  const expected = new Set([
    ...[...TCPFLOW_OPTSTRING.replace(/:/g, '')].map((l) => `-${l}`),
    ...TCPFLOW_LONGOPTS.map((l) => `--${l.name}`),
    'expression',
  ]);
  assert.deepEqual([...helpListing(help(['-h'])).options].sort(), [...expected].sort());
});

test('the usage line names every option', () => {
  const text = help(['-h']);
  const usage = text.slice(text.indexOf('usage:'), text.indexOf('\n\n', text.indexOf('usage:')));
  const bundle = /\[-(\w+)\]/.exec(usage)?.[1] ?? '';
  for (const o of ALL_OPTIONS) {
    if (o.flags.length === 0) assert.ok(usage.includes(`[${o.arg}]`));
    else if (o.arg === undefined && o.flags[0].startsWith('--')) assert.ok(usage.includes(`[${o.flags[0]}]`), o.flags[0]);
    else if (o.arg === undefined) assert.ok(bundle.includes(o.flags[0].slice(1)), o.flags[0]);
    else assert.ok(usage.replace(/\s+/g, ' ').includes(`[${o.flags[0]} ${o.arg}]`), o.flags[0]);
  }
});

test('what is not implemented yet says so, and only that', () => {
  const text = help(['-hh']);
  for (const o of ALL_OPTIONS) {
    const tag = o.flags[0] ?? o.arg ?? '';
    assert.equal(entry(text, tag).includes('(not implemented yet)'), NOT_IMPLEMENTED.has(o.key), tag);
  }
  for (const p of PARAMS) {
    assert.equal(entry(text, `-S ${p.name}=`).includes('(not implemented yet)'), FEATURES.notImplementedParams.has(p.name), p.name);
  }
  assert.equal(entry(text, '-e md5'), '-e md5');
  assert.equal(entry(text, '-e http'), '-e http');
  assert.equal(entry(text, '-e netviz'), '-e netviz');
  assert.equal(entry(text, '-e wifiviz'), '-e wifiviz (not implemented yet)');
  assert.match(entry(text, '-e scanner'), /\(working: http, js, md5, netviz;/);
});

test('ranges: the values each whole-number option accepts, as enforced', () => {
  const text = help(['-hh']);
  for (const [key, { min, max }] of Object.entries(WHOLE_NUMBER_OPTIONS)) {
    assert.ok(entry(text, key.length === 1 ? `-${key}` : `--${key}`).includes(`(${min} to ${max};`), key);
  }
  assert.ok(entry(text, '-S max_flows=').includes(`(${MAX_FLOWS_RANGE.min} to ${MAX_FLOWS_RANGE.max})`));
});

test('-c says that it writes no report, unlike tcpflow 1.6.1, and how to get one', () => {
  assert.match(entry(help(['-h']), '-c'), /no flow files, and no report unless -S enable_report=YES \(tcpflow 1\.6\.1 writes outdir\/report\.xml\)/);
});

test('-hh lists every parameter, -F letter and template escape; exit statuses are every EXIT value', () => {
  const listing = helpListing(help(['-hh']));
  assert.deepEqual([...listing.params], PARAMS.map((p) => p.name));
  assert.deepEqual([...listing.letters], FORMAT_LETTERS.map(([l]) => l));
  assert.deepEqual([...listing.letters].sort(), [...'cgkmMtTX'].sort());
  assert.deepEqual([...listing.escapes], TEMPLATE_ESCAPES.map(([e]) => e));
  assert.deepEqual([...listing.statuses], EXIT_STATUSES.map(([s]) => s));
  const statuses = [...listing.statuses].flatMap((s) => s.split('/').map(Number)).sort((a, b) => a - b);
  assert.deepEqual(statuses, Object.values(EXIT).sort((a, b) => a - b));
});

test('-L, -P and -A are described as they work', () => {
  const text = help(['-h']);
  assert.equal(entry(text, '-L'), '-L semlock lock console writes against other runs using the same semlock (a lock file)');
  assert.equal(entry(text, '-P'), '-P no purge: accepted and ignored (closed flows are always purged from memory)');
  assert.equal(entry(text, '-A'), '-A x deprecated (in tcpflow too): a warning, no other effect');
});

test('every line fits 79 columns and has no trailing blanks', () => {
  for (const line of help(['-hh']).split('\n')) {
    assert.ok(line.length <= 79, line);
    assert.equal(line, line.trimEnd());
  }
});
