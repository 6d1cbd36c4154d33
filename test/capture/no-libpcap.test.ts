/**
 * Without the optional `pcap` package (hidden here by a preloaded module that makes it
 * unresolvable, as on a machine where its build failed): files are still read, and live
 * capture or a filter expression stops the run with one line saying what to install.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CLI, makeTempDir, PCAP_DIR, removeDir } from '../helpers/corpus';

const HIDE = `const M = require('module'); const r = M._resolveFilename;
M._resolveFilename = function (req, ...rest) {
  if (req === 'pcap' || req.startsWith('pcap/')) { const e = new Error("Cannot find module '" + req + "'"); e.code = 'MODULE_NOT_FOUND'; throw e; }
  return r.call(this, req, ...rest);
};`;

test('without the pcap package: files work; -i and an expression say what to install', () => {
  const dir = makeTempDir();
  try {
    const hide = path.join(dir, 'hide-pcap.js');
    fs.writeFileSync(hide, HIDE);
    const cli = (args: string[]) => spawnSync(process.execPath, ['--require', hide, CLI, ...args], { encoding: 'utf8', cwd: dir });
    const capture = path.join(PCAP_DIR, 'tcpflow__jpegs.cap');
    const files = cli(['-r', capture, '-o', 'plain']);
    assert.equal(files.status, 0, files.stderr);
    assert.ok(fs.readdirSync(path.join(dir, 'plain')).length > 10);
    const hint = "needs libpcap through the optional 'pcap' package, which is not available (Cannot find module 'pcap/package.json'): " +
      "install libpcap (Debian: apt-get install libpcap-dev) and rebuild the optional 'pcap' package (npm ci, or npm rebuild pcap)\n";
    const live = cli(['-i', 'lo', '-o', 'live']);
    assert.equal(live.status, 2);
    assert.equal(live.stderr, `tcpflow-ts: live capture (-i) ${hint}`);
    const filtered = cli(['-r', capture, '-o', 'filtered', 'port', '80']);
    assert.equal(filtered.status, 2);
    assert.equal(filtered.stderr, `tcpflow-ts: a filter expression ${hint}`);
    assert.equal(fs.existsSync(path.join(dir, 'live')), false);
    assert.equal(fs.existsSync(path.join(dir, 'filtered')), false);
  } finally {
    removeDir(dir);
  }
});
