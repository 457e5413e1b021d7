// Unit tests for readiness task bookkeeping and the /logging level parser (LogLevels).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LogLevels, Readiness } from '../../src/admin/index.js';
import { createLogger, type Logger } from '../../src/common/log.js';

function quietLogger(level = 'info'): Logger {
  return createLogger({ level, destination: { write: () => undefined } });
}

test('Readiness: tasks, sorted pending, idempotent release, duplicates', async () => {
  const r = new Readiness();
  assert.equal(r.ready(), true);
  await r.whenReady();
  const relState = r.register('state manager');
  const relProxy = r.register('proxy');
  const relProxy2 = r.register('proxy');
  assert.deepEqual(r.pending(), ['proxy', 'state manager']);
  const ready = r.whenReady();
  relProxy();
  relProxy();
  assert.deepEqual(r.pending(), ['proxy', 'state manager'], 'second registration of proxy still pending');
  relProxy2();
  relState();
  assert.equal(r.ready(), true);
  assert.deepEqual(r.pending(), []);
  await ready;
});

const q = (s: string) => new URLSearchParams(s);

test('LogLevels: list, set default, per-target, reset', () => {
  const root = quietLogger('info');
  const access = root.child({ target: 'access' }, { level: 'info' });
  const others = new Map<string, string>();
  let resets = 0;
  const levels = new LogLevels({
    root,
    access,
    setLevel: (t, l) => (t === 'xds' ? (others.set(t, l), true) : false),
    resetLevels: () => {
      resets++;
      others.clear();
    },
  });
  assert.deepEqual(levels.apply(q('')), { status: 200, body: 'current log level is info\n' });
  assert.deepEqual(levels.apply(q('level=debug')), { status: 200, body: 'current log level is debug\n' });
  assert.equal(root.level, 'debug');
  assert.equal(levels.apply(q('level=access=warn,xds=trace')).body, 'current log level is debug,access=warn,xds=trace\n');
  assert.equal(access.level, 'warn');
  assert.equal(others.get('xds'), 'trace');
  assert.equal(levels.apply(q('level=off')).body, 'current log level is off,access=warn,xds=trace\n');
  assert.equal(root.level, 'silent');
  assert.equal(levels.apply(q('reset')).body, 'current log level is info\n');
  assert.equal(root.level, 'info');
  assert.equal(access.level, 'info');
  assert.equal(resets, 1);
  assert.equal(levels.apply(q('reset&level=access=debug')).body, 'current log level is info,access=debug\n');
  assert.equal(levels.apply(q('level=WARN')).status, 200);
  assert.equal(root.level, 'warn');
});

// [query, why it is rejected]
const badQueries: Array<[string, string]> = [
  ['level=loud', 'unknown level'],
  ['level=', 'empty level'],
  ['level=access:debug', "':' separator (validator requires '=')"],
  ['level==debug', 'empty target'],
  ['level=info,debug', 'two defaults'],
  ['level=nope=debug', 'target rejected by callback'],
  ['level=access=loud', 'bad target level'],
];
for (const [query, why] of badQueries) {
  test(`LogLevels rejects ${query} (${why}) without changing levels`, () => {
    const root = quietLogger('info');
    const access = root.child({}, { level: 'info' });
    const levels = new LogLevels({ root, access, setLevel: (t) => t === 'xds' });
    const res = levels.apply(q(query));
    assert.equal(res.status, 400);
    assert.match(res.body, /usage: POST \/logging/);
    assert.equal(root.level, 'info');
    assert.equal(access.level, 'info');
  });
}

test('LogLevels: targets without a handler are unknown', () => {
  const levels = new LogLevels({ root: quietLogger() });
  assert.equal(levels.apply(q('level=access=debug')).status, 400);
  assert.equal(levels.apply(q('level=xds=debug')).status, 400);
});
