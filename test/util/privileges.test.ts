/**
 * -U USER: as root, the run becomes USER once the first input is open (its flow files are
 * USER's, the report and the output directory it made are given to USER); as anyone else it
 * is refused before anything is written; an unknown user is refused too.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CLI, makeTempDir, PCAP_DIR, removeDir, runCli, walkFiles } from '../helpers/corpus';

const root = process.getuid?.() === 0;
const nobody = spawnSync('id', ['-u', 'nobody'], { encoding: 'utf8' });
const nobodyUid = nobody.status === 0 ? Number(nobody.stdout.trim()) : null;
const skip = !root ? 'not root' : nobodyUid === null ? 'no user nobody' : false;

test('-U nobody: flow files, report and outdir belong to nobody; "dropped privs to nobody"', { skip }, async () => {
  const dir = makeTempDir();
  try {
    fs.chmodSync(dir, 0o755);
    const out = path.join(dir, 'out');
    const r = await runCli(['-U', 'nobody', '-r', path.join(PCAP_DIR, 'tcpflow__jpegs.cap'), '-o', out, '--workers', '2']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^tcpflow-ts: dropped privs to nobody$/m);
    const files = walkFiles(out);
    assert.ok(files.length > 10);
    for (const f of files) assert.equal(fs.statSync(f.abs).uid, nobodyUid, `${f.rel} not owned by nobody`);
    assert.equal(fs.statSync(out).uid, nobodyUid);
    assert.match(fs.readFileSync(path.join(out, 'report.xml'), 'utf8'), /<\/dfxml>\n$/);
  } finally {
    removeDir(dir);
  }
});

test('-U refused when not root, and for an unknown user; nothing written', { skip }, async () => {
  const dir = makeTempDir();
  try {
    fs.chmodSync(dir, 0o777);
    const out = path.join(dir, 'out');
    const asNobody = spawnSync(process.execPath, [CLI, '-U', 'root', '-r', path.join(PCAP_DIR, 'tcpflow__jpegs.cap'), '-o', out],
      { uid: nobodyUid as number, gid: nobodyUid as number, encoding: 'utf8', cwd: dir });
    assert.equal(asNobody.status, 2);
    assert.match(asNobody.stderr, /^tcpflow-ts: -U root: only root can relinquish privileges to another user \(running as uid \d+\); run without -U\n$/);
    const unknown = await runCli(['-U', 'no-such-user-x', '-r', path.join(PCAP_DIR, 'tcpflow__jpegs.cap'), '-o', out]);
    assert.equal(unknown.code, 1);
    assert.equal(unknown.stderr, "tcpflow-ts: Couldn't find user 'no-such-user-x'\n");
    assert.equal(fs.existsSync(out), false);
  } finally {
    removeDir(dir);
  }
});
