import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildNaming } from '../../src/output/naming';
import { DEFAULT_TEMPLATE, Template, NamingFlow } from '../../src/output/template';

const flow: NamingFlow = {
  src: Uint8Array.of(10, 0, 0, 1), dst: Uint8Array.of(10, 0, 0, 2), sport: 40000, dport: 80,
  vlan: -1, mac: null, startSec: 1000000000, flowId: 1234567, sessionId: 3,
};
const name = (t: string, count = 0) => new Template(t).expand(flow, count);

test('no steps: the default template', () => {
  assert.deepEqual(buildNaming([]), { template: DEFAULT_TEMPLATE, storeFiles: true, md5: false, warnings: [] });
});

test('-T replaces the template and adds %C%c when it has no %c (spec §2.4)', () => {
  assert.equal(buildNaming([{ kind: 'template', value: 'plain' }]).template, 'plain%C%c');
  assert.equal(name(buildNaming([{ kind: 'template', value: 'plain' }]).template, 1), 'plainc1');
  assert.equal(name(buildNaming([{ kind: 'template', value: 'flow-%c' }]).template, 2), 'flow-2');
  // a lone trailing % meets the appended %C and forms %%
  assert.equal(name(buildNaming([{ kind: 'template', value: 'abc%' }]).template, 1), 'abc%C1');
});

test('-F prefixes apply to the template current at that point, left to right', () => {
  assert.equal(buildNaming([{ kind: 'format', letters: 'tk' }]).template, '%K/%tT' + DEFAULT_TEMPLATE);
  assert.equal(name(buildNaming([{ kind: 'format', letters: 'k' }]).template), '234/010.000.000.001.40000-010.000.000.002.00080');
  assert.equal(name(buildNaming([{ kind: 'format', letters: 'm' }]).template), '001000-001999/001234/010.000.000.001.40000-010.000.000.002.00080');
  assert.equal(name(buildNaming([{ kind: 'format', letters: 'T' }]).template), '2001-09-09T01:46:40Z010.000.000.001.40000-010.000.000.002.00080');
  // -Fk then -T loses the binning; -T then -Fk keeps it
  assert.equal(buildNaming([{ kind: 'format', letters: 'k' }, { kind: 'template', value: '%A' }]).template, '%A%C%c');
  assert.equal(buildNaming([{ kind: 'template', value: '%A' }, { kind: 'format', letters: 'k' }]).template, '%K/%A%C%c');
});

test('-Fc puts the counter on every name, the first one too (spec B9)', () => {
  const t = buildNaming([{ kind: 'format', letters: 'c' }]).template;
  assert.equal(name(t, 0), '010.000.000.001.40000-010.000.000.002.00080c0');
  assert.equal(name(t, 2), '010.000.000.001.40000-010.000.000.002.00080c2');
  assert.equal(name(buildNaming([{ kind: 'template', value: '%c%N.flow' }, { kind: 'format', letters: 'c' }]).template, 0), '0567.flow');
});

test('-FX stores nothing, -FM asks for MD5 (spec B10), unknown letters warn', () => {
  const n = buildNaming([{ kind: 'format', letters: 'XMz' }]);
  assert.equal(n.storeFiles, false);
  assert.equal(n.md5, true);
  assert.deepEqual(n.warnings, ["-F invalid format specification 'z'"]);
});
