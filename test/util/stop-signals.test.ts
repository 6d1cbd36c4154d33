import { test } from 'node:test';
import assert from 'node:assert/strict';
import { signalStatus, StopSignals } from '../../src/util/stop-signals';
import { EXIT } from '../../src/errors';

/** A signal sent to this process, once its listeners have run. */
async function raise(s: NodeJS.Signals): Promise<void> {
  // Signal watchers do not keep the event loop alive: a timer does, until the signal comes.
  const keep = setTimeout(() => assert.fail(`${s} never came`), 10_000);
  const ran = new Promise<void>((resolve) => process.once(s, () => resolve()));
  process.kill(process.pid, s);
  await ran;
  clearTimeout(keep);
}

test('a signal before handle() is held and handed to the handler when it is set', async () => {
  const second: NodeJS.Signals[] = [];
  const signals = new StopSignals((s) => second.push(s));
  try {
    await raise('SIGHUP');
    const got: NodeJS.Signals[] = [];
    signals.handle((s) => got.push(s));
    assert.deepEqual(got, ['SIGHUP']);
    await raise('SIGTERM');
    assert.deepEqual(got, ['SIGHUP', 'SIGTERM']);
    assert.deepEqual(second, []);
  } finally {
    signals.dispose();
  }
});

test('a second signal before handle() goes to the early handler; the first is still handed over once, and cuts a wait short at once', async () => {
  const second: NodeJS.Signals[] = [];
  const first: NodeJS.Signals[] = [];
  const signals = new StopSignals((s) => second.push(s), (s) => first.push(s));
  try {
    await raise('SIGINT');
    // The first one's early handler (src/run.ts: a wait for standard input's first bytes ends).
    assert.deepEqual(first, ['SIGINT']);
    await raise('SIGTERM');
    assert.deepEqual(second, ['SIGTERM']);
    assert.deepEqual(first, ['SIGINT']);
    const got: NodeJS.Signals[] = [];
    signals.handle((s) => got.push(s));
    signals.handle((s) => got.push(s));
    assert.deepEqual(got, ['SIGINT']);
  } finally {
    signals.dispose();
  }
});

test('without a signal, handle() calls nothing; dispose() gives the signals back to Node', () => {
  const before = ['SIGINT', 'SIGTERM', 'SIGHUP'].map((s) => process.listenerCount(s));
  const signals = new StopSignals(() => assert.fail('no signal was sent'));
  assert.deepEqual(['SIGINT', 'SIGTERM', 'SIGHUP'].map((s) => process.listenerCount(s)), before.map((n) => n + 1));
  signals.handle(() => assert.fail('no signal was sent'));
  signals.dispose();
  assert.deepEqual(['SIGINT', 'SIGTERM', 'SIGHUP'].map((s) => process.listenerCount(s)), before);
});

test('exit statuses: 128 + the signal number', () => {
  assert.deepEqual([signalStatus('SIGHUP'), signalStatus('SIGINT'), signalStatus('SIGTERM')], [EXIT.SIGHUP, EXIT.SIGINT, EXIT.SIGTERM]);
  assert.deepEqual([EXIT.SIGHUP, EXIT.SIGINT, EXIT.SIGTERM], [129, 130, 143]);
});
