import { test } from 'node:test';
import assert from 'node:assert/strict';
import { selectScanners, type ScannerCommand } from '../../src/scanners/selection';

const WORKING = new Set(['md5', 'http', 'netviz', 'js', 'tcpdemux']);
const e = (name: string): ScannerCommand => ({ op: 'enable', name });
const x = (name: string): ScannerCommand => ({ op: 'disable', name });
const E = (name: string): ScannerCommand => ({ op: 'only', name });
const a: ScannerCommand = { op: 'all' };
const sel = (...c: ScannerCommand[]) => selectScanners(c, WORKING);

test('nothing asked: no post-processing, tcpdemux on', () => {
  assert.deepEqual(sel(), { scanners: [], tcpdemux: true });
});

test('-e adds in processing order whatever the command-line order; -x removes', () => {
  assert.deepEqual(sel(e('netviz'), e('md5')).scanners, ['md5', 'netviz']);
  assert.deepEqual(sel(e('netviz'), e('md5'), x('netviz')).scanners, ['md5']);
  assert.deepEqual(sel(x('md5'), e('md5')).scanners, ['md5']);
});

test('-a and -e all: every working built-in scanner, never js; -a also queues md5 after everything', () => {
  assert.deepEqual(sel(a).scanners, ['md5', 'http', 'netviz']);
  assert.deepEqual(sel(e('all')).scanners, ['md5', 'http', 'netviz']);
  // spec §1.4: "-a -x http leaves http off, while -x http -a turns it back on"
  assert.deepEqual(sel(a, x('http')).scanners, ['md5', 'netviz']);
  assert.deepEqual(sel(x('http'), a).scanners, ['md5', 'http', 'netviz']);
  // -a's md5 comes after all the others: -a -x md5 still hashes (as tcpflow), -e all -x md5 does not
  assert.deepEqual(sel(a, x('md5')).scanners, ['md5', 'http', 'netviz']);
  assert.deepEqual(sel(e('all'), x('md5')).scanners, ['http', 'netviz']);
  // a scanner that does not work yet is not part of all
  assert.deepEqual(selectScanners([a], new Set(['md5', 'netviz'])).scanners, ['md5', 'netviz']);
  assert.deepEqual(sel(a, e('js')).scanners, ['md5', 'http', 'netviz', 'js']);
});

test('-E name: only that scanner, and tcpdemux stays on (flows are still written)', () => {
  assert.deepEqual(sel(a, E('md5')), { scanners: ['md5'], tcpdemux: true });
  assert.deepEqual(sel(e('netviz'), E('http'), e('md5')).scanners, ['md5', 'http']);
  assert.deepEqual(sel(E('tcpdemux')), { scanners: [], tcpdemux: true });
});

test('-x all turns off every post-processing scanner but not tcpdemux; -x tcpdemux turns TCP off', () => {
  assert.deepEqual(sel(e('md5'), e('netviz'), x('all')), { scanners: [], tcpdemux: true });
  assert.deepEqual(sel(x('tcpdemux'), e('netviz')), { scanners: ['netviz'], tcpdemux: false });
  assert.deepEqual(sel(x('tcpdemux'), e('tcpdemux')).tcpdemux, true);
});
