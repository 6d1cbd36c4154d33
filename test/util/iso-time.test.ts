import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isoSeconds } from '../../src/util/iso-time';
import { isoTime } from '../../src/report/xml-text';
import { Template } from '../../src/output/template';
import type { NamingFlow } from '../../src/output/template';
import { Rng } from '../flow/rng';

test('isoSeconds: the same text as Date.toISOString over the whole Date range', () => {
  const r = new Rng(11);
  const max = 8.64e12; // seconds: the JS Date limit
  const cases = [0, -1, 59, 86399, 86400, 951782400, 253402300799, 253402300800, -62135596800, -62167219200, -62167219201, max, -max];
  for (let i = 0; i < 20000; i++) cases.push(Math.floor((r.next() * 2 - 1) * (r.chance(0.5) ? 4e9 : max)));
  for (const s of cases) {
    assert.equal(isoSeconds(s), new Date(s * 1000).toISOString().replace(/\.000Z$/, ''), `${s}`);
  }
});

test('isoSeconds: times past the Date range (hostile pcapng timestamps) still render', () => {
  // 2^63 s: 64-bit ticks at one tick per second; the date is the proleptic Gregorian one.
  assert.equal(isoSeconds(2 ** 63), '+292277026596-12-04T15:30:08');
  assert.equal(isoSeconds(-(2 ** 63)), '-292277022657-01-27T08:29:52');
  assert.equal(isoSeconds(1.8e13), '+572367-04-18T08:00:00');
  assert.equal(isoSeconds(8.64e12 + 86400), '+275760-09-14T00:00:00');
  // Day arithmetic stays exact: one second before and after midnight.
  const day = Math.floor(1.8e13 / 86400) * 86400;
  assert.equal(isoSeconds(day - 1).slice(-8), '23:59:59');
  assert.equal(isoSeconds(day).slice(-8), '00:00:00');
});

test('report times and %T file names past the Date range do not throw (a worker used to die on them)', () => {
  assert.equal(isoTime(1.8e13, 5), '+572367-04-18T08:00:00.000005Z');
  // The year-10000 case used to lose its seconds (toISOString().slice(0, 19) of '+010000-...').
  assert.equal(isoTime(253402300800, 0), '+010000-01-01T00:00:00Z');
  const flow: NamingFlow = {
    src: Uint8Array.from([10, 0, 0, 1]), dst: Uint8Array.from([10, 0, 0, 2]), sport: 1, dport: 2, vlan: -1, mac: null,
    startSec: 2 ** 63, flowId: 0, sessionId: 0,
  };
  assert.equal(new Template('%T').expand(flow, 0), '+292277026596-12-04T15:30:08Z');
});
