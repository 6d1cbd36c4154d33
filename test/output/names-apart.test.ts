import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildNaming, namesKeepConnectionsApart } from '../../src/output/naming';
import { DEFAULT_TEMPLATE, Template } from '../../src/output/template';

const apart = (t: string) => namesKeepConnectionsApart(new Template(t));
/** The template -T/-F steps build, as the command line does. */
const built = (...letters: string[]) => buildNaming(letters.map((l) => ({ kind: 'format' as const, letters: l }))).template;

test("tcpflow's own names keep connections apart, with every -F prefix and -Fc", () => {
  assert.ok(apart(DEFAULT_TEMPLATE));
  for (const f of [['k'], ['m'], ['g'], ['t'], ['T'], ['c'], ['k', 'c'], ['T', 'g', 'c'], ['t', 'm']]) {
    assert.ok(apart(built(...f)), `-F${f.join('')}: ${built(...f)}`);
  }
  assert.ok(apart('%A.%a-%B.%b.flow%V%v%C%c'));
});

test('templates where each of %A %a %B %b is a whole path component keep connections apart', () => {
  assert.ok(apart('%A/%a/%B/%b/%c%N.flow'));
  assert.ok(apart('%A/%B/%a/%b/x%C%c'));
  assert.ok(apart('x/%T/%A/%a/%B/%b/data%C%c'));
});

test('templates that can give different connections one name do not', () => {
  // Missing a part of the connection, or IPv6 text run together ('::1' + '1::' = '::' + '11::').
  for (const t of ['%A', '%t-%#', '%T', '%A.%a', '%A.%a-%B', '%%A.%a-%B.%b', '%A%a%B%b', '%A%B/%a/%b']) {
    assert.ok(!apart(t), t);
  }
});

test('the rule is conservative: other shapes count as sharing names, even where they cannot', () => {
  for (const t of ['%A-%B-%a-%b', '%B.%b-%A.%a-%A', '%A.%a-%B.%b-%A', 'p%A/%a/%B/%b', '%A/%a/%B/%b%C%c', '%A/%a/%B/%bx']) {
    assert.ok(!apart(t), t);
  }
});
