import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_TEMPLATE, NamingFlow, Template } from '../../src/output/template';
import { EXIT, TcpflowError } from '../../src/errors';
import { ip4, ip6 } from '../helpers/packets';
import { Flow } from '../../src/flow/flow';

function flow(over: Partial<NamingFlow> = {}): NamingFlow {
  return {
    src: ip4('10.0.0.1'),
    dst: ip4('10.0.0.2'),
    sport: 40000,
    dport: 80,
    vlan: -1,
    mac: Uint8Array.from([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1]),
    startSec: 1000000000,
    flowId: 0,
    sessionId: 0,
    ...over,
  };
}

const x = (t: string, f: NamingFlow = flow(), count = 0) => new Template(t).expand(f, count);

test('the default template', () => {
  assert.equal(DEFAULT_TEMPLATE, '%A.%a-%B.%b%V%v%C%c');
  assert.equal(x(DEFAULT_TEMPLATE), '010.000.000.001.40000-010.000.000.002.00080');
  assert.equal(x(DEFAULT_TEMPLATE, flow(), 1), '010.000.000.001.40000-010.000.000.002.00080c1');
  assert.equal(x(DEFAULT_TEMPLATE, flow(), 12), '010.000.000.001.40000-010.000.000.002.00080c12');
  assert.equal(x(DEFAULT_TEMPLATE, flow({ vlan: 42 })), '010.000.000.001.40000-010.000.000.002.00080--42');
  assert.equal(x(DEFAULT_TEMPLATE, flow({ vlan: 0 }), 2), '010.000.000.001.40000-010.000.000.002.00080--0c2');
  assert.equal(
    x(DEFAULT_TEMPLATE, flow({ src: ip6('2001:db8::1'), dst: ip6('2001:db8::2'), sport: 1, dport: 65535 })),
    '2001:db8::1.00001-2001:db8::2.65535');
  assert.equal(
    x(DEFAULT_TEMPLATE, flow({ src: ip6('::ffff:10.0.0.1'), dst: ip6('::ffff:10.0.0.2') })),
    '::ffff:10.0.0.1.40000-::ffff:10.0.0.2.00080');
});

test('every escape', () => {
  const f = flow({ flowId: 12345678901, sessionId: 42, vlan: 7 });
  const cases: [string, string, number?][] = [
    ['%A', '010.000.000.001'],
    ['%B', '010.000.000.002'],
    ['%a', '40000'],
    ['%b', '00080'],
    ['%E', '02:00:00:00:00:01'],
    ['%e', '02:00:00:00:00:02'],
    ['%V', '--'],
    ['%v', '7'],
    ['%T', '2001-09-09T01:46:40Z'],
    ['%t', '1000000000'],
    ['%c', ''],
    ['%c', '3', 3],
    ['%C', ''],
    ['%C', 'c', 3],
    ['%#', '0'],
    ['%#', '3', 3],
    ['%N', '901'],
    ['%K', '678'],
    ['%M', '345'],
    ['%G', '012'],
    ['%S', '00000000000000000042'],
    ['%%', '%'],
  ];
  for (const [t, want, count] of cases) assert.equal(x(t, f, count ?? 0), want, t);
});

test('flow-id bins are zero-padded to 3 digits', () => {
  assert.equal(x('%G/%M/%K/%N', flow({ flowId: 0 })), '000/000/000/000');
  assert.equal(x('%G/%M/%K/%N', flow({ flowId: 7 })), '000/000/000/007');
  assert.equal(x('%G/%M/%K/%N', flow({ flowId: 1005 })), '000/000/001/005');
  assert.equal(x('%G/%M/%K/%N', flow({ flowId: 999999999999 })), '999/999/999/999');
  assert.equal(x('%G', flow({ flowId: 1234 * 1e9 })), '234');
  assert.equal(x('%S', flow({ sessionId: 1234567890123456 })), '00001234567890123456');
});

test('-F letter templates expand as in the spec', () => {
  assert.equal(x('%tT' + DEFAULT_TEMPLATE), '1000000000T010.000.000.001.40000-010.000.000.002.00080');
  assert.equal(x('%T' + DEFAULT_TEMPLATE), '2001-09-09T01:46:40Z010.000.000.001.40000-010.000.000.002.00080');
  assert.equal(x('%K/' + DEFAULT_TEMPLATE, flow({ flowId: 1999 })), '001/010.000.000.001.40000-010.000.000.002.00080');
  assert.equal(x('%M000-%M999/%M%K/%A', flow({ flowId: 5 })), '000000-000999/000000/010.000.000.001');
  assert.equal(x('%G000000-%G999999/%G%M000-%G%M999/%G%M%K/%A'),
    '000000000-000999999/000000000-000000999/000000000/010.000.000.001');
});

test('MAC escapes are empty without a MAC (non-Ethernet, B7)', () => {
  assert.equal(x('[%E][%e]', flow({ mac: null })), '[][]');
});

test('%T and %t use the flow start time in UTC', () => {
  assert.equal(x('%T', flow({ startSec: 0 })), '1970-01-01T00:00:00Z');
  assert.equal(x('%T|%t', flow({ startSec: 1700000000 })), '2023-11-14T22:13:20Z|1700000000');
});

test('%% is a literal percent, also before an escape letter', () => {
  assert.equal(x('100%%'), '100%');
  assert.equal(x('%%%%'), '%%');
  assert.equal(x('%%A'), '%A');
  assert.equal(x('%%%A'), '%010.000.000.001');
  assert.equal(x('a%%c%c', flow(), 2), 'a%c2');
});

test('literal text, slashes and an empty template', () => {
  assert.equal(x(''), '');
  assert.equal(x('plain'), 'plain');
  assert.equal(x('dir/sub/%a.bin'), 'dir/sub/40000.bin');
  assert.equal(new Template('a%Ab').source, 'a%Ab');
});

function expectUsage(t: string, message: string) {
  assert.throws(() => new Template(t), (e: unknown) => {
    assert.ok(e instanceof TcpflowError);
    assert.equal(e.code, 'USAGE');
    assert.equal(e.exitCode, EXIT.USAGE);
    assert.equal(e.message, message);
    return true;
  });
}

test('a trailing % is an error at construction (B25)', () => {
  expectUsage('abc%', 'Invalid filename_template: abc% cannot end with a %');
  expectUsage('%', 'Invalid filename_template: % cannot end with a %');
  expectUsage('%%%', 'Invalid filename_template: %%% cannot end with a %');
});

test('an unknown escape is an error at construction', () => {
  expectUsage('%x', 'Invalid filename_template: %x unknown escape: %x');
  expectUsage('%A.%a-%Z', 'Invalid filename_template: %A.%a-%Z unknown escape: %Z');
  for (const ch of 'DdFfHhIiJjkLlmnOoPpQqRrsUuWwXxYyz0123456789 -/.') {
    assert.throws(() => new Template(`%${ch}`), TcpflowError, `%${ch}`);
  }
});

test('%A and %B: names of IPv4 addresses made once are the same as made afresh, whatever the table slots hold', () => {
  const t = new Template('%A-%B');
  for (let i = 0; i < 50000; i += 7) {
    const a = [i & 255, (i >> 8) & 255, 3, 4], b = [250, (i >> 8) & 255, i & 255, 9];
    const name = t.expand(flow({ src: Uint8Array.from(a), dst: Uint8Array.from(b) }), 0);
    const pad = (x: number[]) => x.map((v) => String(v).padStart(3, '0')).join('.');
    assert.equal(name, `${pad(a)}-${pad(b)}`);
  }
  assert.equal(t.expand(flow({ src: ip6('2001:db8::1'), dst: ip4('10.0.0.2') }), 0), '2001:db8::1-010.000.000.002');
});

test('%A and %B of a Flow (named from its address words) are those of its address arrays, IPv4 and IPv6', () => {
  const t = new Template(DEFAULT_TEMPLATE);
  for (let i = 0; i < 40000; i += 13) {
    // Top bits set and clear (negative words), and addresses whose slots collide.
    const a = Uint8Array.from([(i * 7) & 255, i & 255, (i >> 8) & 255, 1]), b = Uint8Array.from([128 + (i & 127), 0, (i >> 5) & 255, 2]);
    const f = new Flow(a, b, 1 + (i & 1023), 80, -1, null, i);
    assert.equal(t.expand(f, 0), x(DEFAULT_TEMPLATE, flow({ src: a, dst: b, sport: f.sport, dport: 80 })));
  }
  const v6 = new Flow(ip6('2001:db8::1'), ip6('::ffff:10.0.0.2'), 1, 2, -1, null, 0);
  assert.equal(t.expand(v6, 0), '2001:db8::1.00001-::ffff:10.0.0.2.00002');
});
