/**
 * -z DIR: output paths are taken inside DIR; as root the run chroots (a js plugin looks at
 * the file system from inside a worker: DIR's own path is gone), writes exactly the files
 * of a run without -z, inside DIR and nowhere else, with --workers 1 and 2.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { chrootOptions, insideRoot } from '../../src/util/chroot';
import { parseCommandLine } from '../../cli/options';
import type { Options } from '../../src/options';
import { CLI, makeTempDir, PCAP_DIR, removeDir, runCli, walkFiles } from '../helpers/corpus';

const root = process.getuid?.() === 0;
const nobody = spawnSync('id', ['-u', 'nobody'], { encoding: 'utf8' });
const nobodyUid = nobody.status === 0 ? Number(nobody.stdout.trim()) : null;
let addon: string | null = null;
try {
  require('tcpflow-ts-chroot');
} catch (e) {
  addon = `the optional tcpflow-ts-chroot addon is not built (${(e as Error).message.split('\n')[0]})`;
}
const skip = !root ? 'not root: only root can chroot' : nobodyUid === null ? 'no user nobody' : addon ?? false;
if (skip !== false) console.log(`# -z run tests skipped: ${skip}`);

function options(argv: string[]): Options {
  const p = parseCommandLine(argv);
  assert.equal(p.kind, 'run');
  return (p as { options: Options }).options;
}

test('insideRoot: a path as the new root sees it, never above its top', () => {
  assert.equal(insideRoot('out'), 'out');
  assert.equal(insideRoot('/var/flows/'), 'var/flows');
  assert.equal(insideRoot('./a/../b'), 'b');
  assert.equal(insideRoot('../../etc'), 'etc');
  assert.equal(insideRoot('/'), '.');
  assert.equal(insideRoot('.'), '.');
});

test('chrootOptions: outputs inside DIR, inputs and the plugin from the working directory', () => {
  const o = chrootOptions(options(['-U', 'nobody', '-z', 'jail', '-r', 'in.pcap', '-o', '/srv/out', '-X', 'r.xml',
    '--jsonl', '../j.jsonl', '-e', 'js', '-S', 'js_module=p.js']), '/home/a');
  assert.deepEqual(o.readFiles, ['/home/a/in.pcap']);
  assert.equal(o.outdir, 'srv/out');
  assert.equal(o.reportPath, 'r.xml');
  assert.equal(o.jsonlPath, 'j.jsonl');
  assert.equal(o.plugin?.module, '/home/a/p.js');
  const live = chrootOptions(options(['-U', 'nobody', '-z', 'jail', '-i', 'lo', '-R', 'f.pcap', '--jsonl', '-']), '/w');
  assert.deepEqual(live.finishFiles, ['/w/f.pcap']);
  assert.equal(live.outdir, '.');
  assert.equal(live.jsonlPath, '-');
});

for (const workers of ['1', '2']) {
  test(`-z jail -U nobody (--workers ${workers}): the files of a run without -z, inside jail only; the workers are inside`, { skip }, async () => {
    const dir = makeTempDir();
    try {
      fs.chmodSync(dir, 0o755);
      const jail = path.join(dir, 'jail');
      fs.mkdirSync(jail);
      // A worker tells whether the jail's own path exists where it runs: not inside the jail.
      fs.writeFileSync(path.join(dir, 'plugin.js'), `exports.look = () => ({ jail: require('fs').existsSync(${JSON.stringify(jail)}) });\n`);
      const input = path.join(PCAP_DIR, 'tcpflow__jpegs.cap');
      const args = ['-r', input, '-o', 'out', '-e', 'md5', '-e', 'http', '-e', 'js', '-S', 'js_module=plugin.js', '-S', 'js_function=look',
        '--jsonl', 'flows.jsonl', '--workers', workers];
      const jailed = await runCli(['-z', 'jail', '-U', 'nobody', ...args], { cwd: dir });
      assert.equal(jailed.code, 0, jailed.stderr);
      assert.match(jailed.stderr, /^tcpflow-ts: dropped privs to nobody$/m);
      // Outside the jail: only what the test made.
      assert.deepEqual(fs.readdirSync(dir).sort(), ['jail', 'plugin.js']);
      assert.deepEqual(fs.readdirSync(jail).sort(), ['flows.jsonl', 'out']);
      const ctl = path.join(dir, 'ctl');
      fs.mkdirSync(ctl);
      fs.copyFileSync(path.join(dir, 'plugin.js'), path.join(ctl, 'plugin.js'));
      const free = await runCli(args, { cwd: ctl });
      assert.equal(free.code, 0, free.stderr);

      const files = (d: string): Map<string, Buffer> => new Map(walkFiles(d).filter((f) => f.rel !== 'report.xml').map((f) => [f.rel, fs.readFileSync(f.abs)]));
      const inJail = files(path.join(jail, 'out'));
      assert.ok(inJail.size > 10);
      assert.deepEqual(inJail, files(path.join(ctl, 'out')));
      for (const f of walkFiles(path.join(jail, 'out'))) assert.equal(fs.statSync(f.abs).uid, nobodyUid, f.rel);
      const records = (f: string): { js: unknown; rest: string }[] => fs.readFileSync(f, 'utf8').trim().split('\n').map((l) => {
        const { js, ...rest } = JSON.parse(l) as { js?: unknown };
        return { js, rest: JSON.stringify(rest) };
      });
      const jr = records(path.join(jail, 'flows.jsonl'));
      const cr = records(path.join(ctl, 'flows.jsonl'));
      assert.deepEqual(jr.map((r) => r.rest), cr.map((r) => r.rest));
      const flows = jr.filter((r) => r.js !== undefined);
      assert.ok(flows.length > 10);
      for (const r of flows) assert.deepEqual(r.js, { jail: false });
      for (const r of cr.filter((x) => x.js !== undefined)) assert.deepEqual(r.js, { jail: true });
      assert.match(fs.readFileSync(path.join(jail, 'out', 'report.xml'), 'utf8'), /<\/dfxml>\n$/);
    } finally {
      removeDir(dir);
    }
  });
}

test('-z refused before anything is written: not root, DIR missing, a directory input', { skip }, async () => {
  const dir = makeTempDir();
  try {
    fs.chmodSync(dir, 0o777);
    fs.mkdirSync(path.join(dir, 'jail'));
    const input = path.join(PCAP_DIR, 'tcpflow__test1.pcap');
    const asNobody = spawnSync(process.execPath, [CLI, '-z', 'jail', '-U', 'nobody', '-r', input, '-o', 'out'],
      { uid: nobodyUid as number, gid: nobodyUid as number, encoding: 'utf8', cwd: dir });
    assert.equal(asNobody.status, 2);
    assert.match(asNobody.stderr, /^tcpflow-ts: -U nobody: only root can relinquish privileges/);
    const missing = await runCli(['-z', 'nowhere', '-U', 'nobody', '-r', input, '-o', 'out'], { cwd: dir });
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr, 'tcpflow-ts: -z nowhere: No such file or directory\n');
    const directory = await runCli(['-z', 'jail', '-U', 'nobody', '-r', PCAP_DIR, '-o', 'out'], { cwd: dir });
    assert.equal(directory.code, 2);
    assert.match(directory.stderr, /^tcpflow-ts: -z jail cannot be combined with a directory input/);
    assert.deepEqual(fs.readdirSync(dir), ['jail']);
    assert.deepEqual(fs.readdirSync(path.join(dir, 'jail')), []);
  } finally {
    removeDir(dir);
  }
});
