/**
 * man/tcpflow-ts.1 (cli/manpage.ts): the committed file is what the option table renders,
 * it lists exactly what -hh lists, and man(1) and groff format it without a warning.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { manPage, roff } from '../../cli/manpage';
import { FEATURES, parseCommandLine } from '../../cli/options';
import { OPTION_SECTIONS } from '../../cli/usage';
import { VERSION } from '../../src/version';
import { REPO_ROOT } from '../helpers/corpus';
import { helpListing, manListing } from '../helpers/usage-text';

const MAN_PAGE = path.join(REPO_ROOT, 'man', 'tcpflow-ts.1');

/** Whether `tool` is on PATH. */
function have(tool: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status === 0;
}

test('man/tcpflow-ts.1 is what `npm run man` writes from the option table', () => {
  assert.equal(fs.readFileSync(MAN_PAGE, 'utf8'), manPage(FEATURES), 'man/tcpflow-ts.1 is stale: run `npm run man`');
});

test('package.json installs the man page', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { man?: string[] };
  assert.deepEqual(pkg.man, ['./man/tcpflow-ts.1']);
});

test('the man page lists exactly the options, parameters, -F letters, escapes and exit statuses of -hh', () => {
  const parsed = parseCommandLine(['-hh']);
  assert.ok(parsed.kind === 'help');
  const help = helpListing(parsed.text);
  const man = manListing(fs.readFileSync(MAN_PAGE, 'utf8'));
  for (const part of ['options', 'params', 'letters', 'escapes', 'statuses'] as const) {
    assert.ok(help[part].size > 0, part);
    assert.deepEqual([...man[part]].sort(), [...help[part]].sort(), `${part}: man page vs -hh`);
  }
});

test('the listing comparison notices an option missing on either side', () => {
  const page = fs.readFileSync(MAN_PAGE, 'utf8');
  const withoutB = page.replace(/\.TP\n\\fB\\-b\\fR[^\n]*\n[^\n]*\n/, '');
  assert.notEqual(withoutB, page);
  assert.equal(manListing(withoutB).options.has('-b'), false);
  assert.equal(manListing(page).options.has('-b'), true);
  assert.equal(manListing(page).options.has('--workers'), true);
  const parsed = parseCommandLine(['-hh']);
  assert.ok(parsed.kind === 'help');
  const helpWithoutB = parsed.text.replace(/\n {3}-b max_bytes[^\n]*(\n {4,}\S[^\n]*)*/, '');
  assert.equal(helpListing(helpWithoutB).options.has('-b'), false);
  assert.equal(helpListing(parsed.text).options.has('-b'), true);
});

test('roff: hyphens, backslashes and leading control characters are escaped', () => {
  assert.equal(roff('-b a\\b'), '\\-b a\\eb');
  assert.equal(roff(".x\n'y\nz."), "\\&.x\n\\&'y\nz.");
});

test('man -l renders the page without warnings', (t) => {
  if (!have('man')) {
    t.skip('man is not installed (Debian package man-db)');
    return;
  }
  const r = spawnSync('man', ['--warnings', '-l', MAN_PAGE], { encoding: 'utf8', env: { ...process.env, MANWIDTH: '80', MANPAGER: 'cat', PAGER: 'cat' } });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '');
  const text = r.stdout.replace(/.\x08/g, ''); // overstrike bold/underline, where man keeps it
  assert.match(text, /^TCPFLOW-TS\(1\) +User Commands +TCPFLOW-TS\(1\)$/m);
  assert.match(text, new RegExp(`^tcpflow-ts ${VERSION.replace(/\./g, '\\.')} +TCPFLOW-TS\\(1\\)$`, 'm'));
  for (const o of OPTION_SECTIONS.flatMap((s) => s.options)) {
    const tag = o.flags.length === 0 ? o.arg ?? '' : o.flags.join(', ') + (o.arg === undefined ? '' : ` ${o.arg}`);
    assert.match(text, new RegExp(`^ {7}${tag.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}( |$)`, 'm'), tag);
  }
});

test('groff formats the page without warnings', (t) => {
  if (!have('groff')) {
    t.skip('groff is not installed (Debian package groff-base)');
    return;
  }
  const r = spawnSync('groff', ['-man', '-ww', '-z', '-Tutf8', MAN_PAGE], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '');
});
