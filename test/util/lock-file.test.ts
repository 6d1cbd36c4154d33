import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { once } from 'node:events';
import {
  FOREIGN_STALE_MS,
  isStale,
  LockFile,
  LockFileError,
  lockPath,
  ownerText,
  parseOwner,
  pidAlive,
  UNREADABLE_STALE_MS,
} from '../../src/util/lock-file';
import { EXIT } from '../../src/errors';
import { makeTempDir, removeDir } from '../helpers/corpus';

/** The compiled module, for child processes. */
const LOCK_MODULE = path.join(__dirname, '../../src/util/lock-file.js');
const HOST = os.hostname();

interface Child {
  pid: number;
  /** Resolves once the child has printed the line `marker`. */
  printed(marker: string): Promise<void>;
  /** Resolves with the exit status and everything the child printed. */
  done: Promise<{ code: number | null; out: string }>;
  kill(signal: NodeJS.Signals): void;
}

/**
 * A node process running `body` with `lock` (a LockFile on the given path), `fs`, `sleep(ms)`
 * and `args` in scope.
 */
function child(lockFile: string, body: string, args: string[] = []): Child {
  const script = `
    const { LockFile } = require(${JSON.stringify(LOCK_MODULE)});
    const fs = require('node:fs');
    const lock = new LockFile(process.argv[1]);
    const args = process.argv.slice(2);
    const cell = new Int32Array(new SharedArrayBuffer(4));
    const sleep = (ms) => Atomics.wait(cell, 0, 0, ms);
    ${body}`;
  const proc = spawn(process.execPath, ['-e', script, lockFile, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  proc.stdout.on('data', (d: Buffer) => { out += d.toString(); proc.emit('printed'); });
  // 'close', not 'exit': stdout is fully read, and the process reaped (its pid is gone).
  const done = once(proc, 'close').then(([code]) => ({ code: code as number | null, out }));
  return {
    pid: proc.pid as number,
    printed: (marker) => new Promise((resolve, reject) => {
      const check = () => { if (out.split('\n').includes(marker)) resolve(); };
      proc.on('printed', check);
      void done.then(() => reject(new Error(`child ended before printing '${marker}': ${out}`)));
      check();
    }),
    done,
    kill: (signal) => { proc.kill(signal); },
  };
}

/** The pid of a process that has exited (and been reaped). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  const pid = Number(r.stdout.toString());
  assert.ok(pid > 0 && !pidAlive(pid));
  return pid;
}

function withDir(fn: (dir: string) => Promise<void> | void): () => Promise<void> {
  return async () => {
    const dir = makeTempDir('tcpflow-ts-lock-');
    try {
      await fn(dir);
    } finally {
      removeDir(dir);
    }
  };
}

test('lockPath: a name goes into the temp directory, a path is used as given', () => {
  assert.equal(lockPath('tcpflow', '/t'), '/t/tcpflow-ts-tcpflow.lock');
  assert.equal(lockPath('a.b_c-1', '/t'), '/t/tcpflow-ts-a.b_c-1.lock');
  assert.equal(lockPath('/sem', '/t'), '/t/tcpflow-ts-sem.lock'); // a POSIX semaphore name
  assert.equal(lockPath('/var/lock/x', '/t'), '/var/lock/x');
  assert.equal(lockPath('./x.lock', '/t'), './x.lock');
  assert.equal(lockPath('../x', '/t'), '../x');
  assert.equal(lockPath('', '/t'), '/t/tcpflow-ts-.lock');
  assert.equal(lockPath(path.join(os.tmpdir(), 'q')), path.join(os.tmpdir(), 'q'));
  assert.equal(lockPath('n'), path.join(os.tmpdir(), 'tcpflow-ts-n.lock'));
});

test('lockPath: a name cannot leave the directory, and distinct names stay distinct', () => {
  const names = ['..', '.', 'a b', 'a%20b', 'a_b', 'é', '%', '\0', '\\..\\x', 'a\nb', '*', '~'];
  const paths = names.map((n) => lockPath(n, '/t'));
  for (const [i, p] of paths.entries()) {
    assert.equal(path.dirname(p), '/t', names[i]);
    assert.match(path.basename(p), /^tcpflow-ts-[A-Za-z0-9._%-]*\.lock$/, names[i]);
  }
  assert.equal(new Set(paths).size, names.length);
  assert.equal(lockPath('a b%', '/t'), '/t/tcpflow-ts-a%20b%25.lock');
  assert.equal(lockPath('é', '/t'), '/t/tcpflow-ts-%C3%A9.lock');
});

test('owner text: pid and host, anything else is unreadable', () => {
  assert.equal(ownerText({ pid: 42, host: 'h' }), '42\nh\n');
  assert.deepEqual(parseOwner(ownerText({ pid: 4194304, host: 'my-host.example' })), { pid: 4194304, host: 'my-host.example' });
  assert.deepEqual(parseOwner('7\n\n'), { pid: 7, host: '' });
  for (const bad of ['', '42', '42\n', '42\nh', '0\nh\n', '-1\nh\n', '042\nh\n', 'x\nh\n', '42\nh\nmore\n', '12345678901\nh\n']) {
    assert.equal(parseOwner(bad), null, JSON.stringify(bad));
  }
});

test('isStale: dead local owners, our own pid, old unreadable or foreign files', () => {
  const self = { pid: 100, host: 'here' };
  const alive = (pid: number) => pid === 200;
  assert.equal(isStale({ pid: 200, host: 'here' }, 10 * FOREIGN_STALE_MS, self, alive), false); // alive: waited for
  assert.equal(isStale({ pid: 300, host: 'here' }, 0, self, alive), true); // dead
  assert.equal(isStale({ pid: 100, host: 'here' }, 0, self, alive), true); // an earlier process with our pid
  assert.equal(isStale(null, UNREADABLE_STALE_MS - 1, self, alive), false); // being written
  assert.equal(isStale(null, UNREADABLE_STALE_MS + 1, self, alive), true);
  assert.equal(isStale({ pid: 300, host: 'there' }, FOREIGN_STALE_MS - 1, self, alive), false); // pid not checkable
  assert.equal(isStale({ pid: 200, host: 'there' }, FOREIGN_STALE_MS + 1, self, alive), true);
});

test('acquire writes our pid and host, release removes the file; hold releases on a throw', withDir((dir) => {
  const p = path.join(dir, 'l');
  const lock = new LockFile(p);
  lock.acquire();
  assert.equal(fs.readFileSync(p, 'latin1'), `${process.pid}\n${HOST}\n`);
  assert.throws(() => lock.acquire(), /internal: lock .* acquired twice/);
  assert.throws(() => new LockFile(p).acquire(), /internal: lock .* acquired twice/); // same path, same process
  lock.release();
  assert.equal(fs.existsSync(p), false);
  lock.release(); // idempotent
  assert.throws(() => lock.hold(() => { assert.ok(fs.existsSync(p)); throw new Error('boom'); }), /boom/);
  assert.equal(fs.existsSync(p), false);
  assert.equal(lock.hold(() => 7), 7);
  lock.probe();
  assert.deepEqual(fs.readdirSync(dir), []);
}));

test('release leaves alone a lock file that is not ours any more', withDir((dir) => {
  const p = path.join(dir, 'l');
  const lock = new LockFile(p);
  lock.acquire();
  fs.rmSync(p);
  fs.writeFileSync(p, ownerText({ pid: process.ppid, host: HOST }));
  lock.release();
  assert.equal(fs.readFileSync(p, 'latin1'), ownerText({ pid: process.ppid, host: HOST }));
}));

test('a second process waits until the holder releases', withDir(async (dir) => {
  const p = path.join(dir, 'l');
  const go = path.join(dir, 'go');
  // The holder keeps the lock 300 ms after we start waiting (the 'go' file), however slowly
  // either process is scheduled.
  const holder = child(p, `
    lock.acquire();
    console.log('held');
    while (!fs.existsSync(args[0])) sleep(5);
    sleep(300);
    console.log('releasing ' + Date.now());
    lock.release();`, [go]);
  await holder.printed('held');
  assert.equal(parseOwner(fs.readFileSync(p, 'latin1'))?.pid, holder.pid);
  // Taken before the holder can see 'go': its 300 ms start after this, however late this
  // thread is scheduled.
  const asked = Date.now();
  fs.writeFileSync(go, '');
  const lock = new LockFile(p);
  lock.acquire(); // blocks this thread until the child lets go
  const got = Date.now();
  lock.release();
  const { code, out } = await holder.done;
  assert.equal(code, 0);
  const released = Number(/^releasing (\d+)$/m.exec(out)?.[1]);
  assert.ok(Number.isFinite(released), `no release time in ${JSON.stringify(out)}`);
  assert.ok(got >= released, `acquired at ${got}, before the holder released at ${released}`);
  assert.ok(got - asked >= 299, `waited only ${got - asked} ms for a 300 ms hold`);
}));

test('holders in several processes never overlap', withDir(async (dir) => {
  const p = path.join(dir, 'l');
  const log = path.join(dir, 'log');
  const startAt = Date.now() + 500; // every child spins until then, so they start together
  const children = ['A', 'B', 'C'].map((id) => child(p, `
    while (Date.now() < ${startAt});
    for (let i = 0; i < 30; i++) {
      lock.hold(() => {
        fs.appendFileSync(args[0], args[1] + '<\\n');
        sleep(2);
        fs.appendFileSync(args[0], args[1] + '>\\n');
      });
    }`, [log, id]));
  for (const c of children) assert.equal((await c.done).code, 0);
  const lines = fs.readFileSync(log, 'latin1').trimEnd().split('\n');
  assert.equal(lines.length, 3 * 30 * 2);
  for (let i = 0; i < lines.length; i += 2) {
    assert.match(lines[i], /^[ABC]<$/);
    assert.equal(lines[i + 1], `${lines[i][0]}>`, `line ${i + 1}: another holder inside ${lines[i][0]}'s hold`);
  }
  assert.equal(fs.existsSync(p), false);
}));

test('the lock of a killed holder (SIGKILL) is broken', withDir(async (dir) => {
  const p = path.join(dir, 'l');
  const holder = child(p, `lock.acquire(); console.log('held'); sleep(60000);`);
  await holder.printed('held');
  holder.kill('SIGKILL');
  await holder.done; // reaped: its pid is really gone, not a zombie
  assert.ok(fs.existsSync(p), 'the killed holder left its lock file');
  // Broken at the first look, without waiting: each look at a lock someone holds asks
  // whether its owner lives, so one question means no backoff round (a time bound would
  // fail on a loaded machine).
  const asked: number[] = [];
  const lock = new LockFile(p, (pid) => { asked.push(pid); return pidAlive(pid); });
  lock.acquire();
  assert.deepEqual(asked, [holder.pid]);
  assert.equal(fs.readFileSync(p, 'latin1'), ownerText({ pid: process.pid, host: HOST }));
  lock.release();
  assert.deepEqual(fs.readdirSync(dir), []); // nothing left aside
}));

test('stale lock files are broken: a dead pid, an old unreadable file', withDir((dir) => {
  const p = path.join(dir, 'l');
  for (const content of [ownerText({ pid: deadPid(), host: HOST }), '', 'garbage']) {
    fs.writeFileSync(p, content);
    if (!parseOwner(content)) {
      const old = (Date.now() - 2 * UNREADABLE_STALE_MS) / 1000;
      fs.utimesSync(p, old, old);
    }
    new LockFile(p).probe();
    assert.deepEqual(fs.readdirSync(dir), [], JSON.stringify(content));
  }
}));

test('several waiters breaking one stale lock: one holder at a time', withDir(async (dir) => {
  // Rounds of six waiters that all find the same stale lock: the old rename-and-link-back
  // break let two of them hold the lock at once in about one round of three.
  for (let round = 0; round < 4; round++) {
    const p = path.join(dir, 'l');
    const log = path.join(dir, 'log');
    fs.writeFileSync(p, ownerText({ pid: deadPid(), host: HOST }));
    const startAt = Date.now() + 500;
    const children = ['A', 'B', 'C', 'D', 'E', 'F'].map((id) => child(p, `
      while (Date.now() < ${startAt});
      lock.hold(() => {
        fs.appendFileSync(args[0], args[1] + '<\\n');
        sleep(20);
        fs.appendFileSync(args[0], args[1] + '>\\n');
      });`, [log, id]));
    for (const c of children) assert.equal((await c.done).code, 0);
    const lines = fs.readFileSync(log, 'latin1').trimEnd().split('\n');
    assert.equal(lines.length, 12);
    for (let i = 0; i < lines.length; i += 2) assert.equal(lines[i + 1], `${lines[i][0]}>`, `round ${round}: ${lines.join(' ')}`);
    assert.deepEqual(fs.readdirSync(dir), ['log']);
    fs.rmSync(log);
  }
}));

test('a stale lock is broken by one waiter at a time: a live breaker is waited for, a dead one cleared', withDir(async (dir) => {
  const p = path.join(dir, 'l');
  const breaker = `${p}.break`;
  // A breaker file left by a waiter that died while breaking: cleared, and the lock taken.
  fs.writeFileSync(p, ownerText({ pid: deadPid(), host: HOST }));
  fs.writeFileSync(breaker, ownerText({ pid: deadPid(), host: HOST }));
  new LockFile(p).probe();
  assert.deepEqual(fs.readdirSync(dir), []);
  // A live process's breaker: the waiter neither breaks the stale lock nor takes it until the
  // breaker file is gone (that process's break done).
  const other = child(p, `console.log('up'); sleep(60000);`);
  await other.printed('up');
  fs.writeFileSync(p, ownerText({ pid: deadPid(), host: HOST }));
  fs.writeFileSync(breaker, ownerText({ pid: other.pid, host: HOST }));
  const waiter = child(p, `lock.acquire(); console.log('got'); lock.release();`);
  let got = false;
  void waiter.printed('got').then(() => { got = true; }, () => undefined);
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal(got, false, 'took the lock while another waiter was breaking it');
  assert.ok(fs.existsSync(p) && fs.existsSync(breaker));
  fs.rmSync(breaker);
  assert.equal((await waiter.done).code, 0);
  assert.equal(got, true);
  other.kill('SIGKILL');
  await other.done;
  assert.deepEqual(fs.readdirSync(dir), []);
}));

test('an unusable location is a LOCK error naming the path, exit status 3', withDir((dir) => {
  const cases: [string, string][] = [
    [path.join(dir, 'missing', 'l'), 'No such file or directory'],
    [path.join(dir, 'file', 'l'), 'Not a directory'],
    [path.join(dir, 'dir'), 'not a regular file'],
    [path.join(dir, 'link'), 'is a symbolic link, not a lock file'],
    [path.join(dir, 'fifo'), 'not a regular file'],
  ];
  fs.writeFileSync(path.join(dir, 'file'), '');
  fs.mkdirSync(path.join(dir, 'dir'));
  fs.symlinkSync(path.join(dir, 'nowhere'), path.join(dir, 'link'));
  assert.equal(spawnSync('mkfifo', [path.join(dir, 'fifo')]).status, 0);
  for (const [p, reason] of cases) {
    assert.throws(() => new LockFile(p).probe(), (e: unknown) => {
      assert.ok(e instanceof LockFileError, String(e));
      assert.equal(e.code, 'LOCK');
      assert.equal(e.message, `lock file ${p}: ${reason}`);
      assert.equal(e.exitCode, EXIT.OUTPUT);
      assert.equal(e.path, p);
      return true;
    });
  }
}));
