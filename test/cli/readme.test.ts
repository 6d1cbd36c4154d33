/**
 * The README's "Differences from tcpflow" section, which users reach from the quick start:
 * one row for each row of the behaviour reference's bug table (B1-B36), including every row
 * test/oracle/deviations.json cites.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { REPO_ROOT } from '../helpers/corpus';

const README = fs.readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');

function section(title: string): string {
  const start = README.indexOf(`\n## ${title}\n`);
  assert.ok(start >= 0, `no section ${title}`);
  const end = README.indexOf('\n## ', start + 1);
  return README.slice(start, end < 0 ? undefined : end);
}

test('the differences section has one row per spec row B1-B36, each with an example column', () => {
  const rows = section('Differences from tcpflow').split('\n').filter((l) => /^\| B\d+ \|/.test(l));
  assert.deepEqual(rows.map((r) => r.split(' | ')[0].slice(2)), Array.from({ length: 36 }, (_, i) => `B${i + 1}`));
  for (const r of rows) assert.equal(r.split(' | ').length, 5, r);
});

test('every row deviations.json cites is among them, and the quick start links the section', () => {
  const cited = new Set((JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'test', 'oracle', 'deviations.json'), 'utf8')) as { spec: string }[]).map((d) => d.spec));
  const diff = section('Differences from tcpflow');
  for (const row of cited) assert.match(diff, new RegExp(`^\\| ${row} \\| [^|]+ \\| (fixed|chosen)`, 'm'), row);
  assert.match(section('Quick start'), /\[Differences from tcpflow\]\(#differences-from-tcpflow\)/);
});
