// Unit tests of LogLimiter (src/common/log-limiter.ts) on a fake clock: one line per key per
// window, the suppressed count carried by the next line, keys independent, memory bounded.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LogLimiter } from '../../src/common/log-limiter.js';

function limiter(maxKeys = 100): { l: LogLimiter; clock: { t: number } } {
  const clock = { t: 1_000 };
  return { l: new LogLimiter({ windowMs: 10_000, maxKeys, now: () => clock.t }), clock };
}

test('one line per key per window; the next line reports how many were suppressed', () => {
  const { l, clock } = limiter();
  assert.deepEqual(l.admit('10.0.0.1'), { log: true, suppressed: 0 });
  for (let i = 0; i < 4; i++) {
    clock.t += 2_000;
    assert.equal(l.admit('10.0.0.1').log, false, `event ${i + 2} at +${clock.t - 1_000} ms`);
  }
  clock.t = 1_000 + 10_000; // exactly one window after the first line
  assert.deepEqual(l.admit('10.0.0.1'), { log: true, suppressed: 4 });
  clock.t += 9_999;
  assert.equal(l.admit('10.0.0.1').log, false);
  clock.t += 1;
  assert.deepEqual(l.admit('10.0.0.1'), { log: true, suppressed: 1 });
  clock.t += 60_000;
  assert.deepEqual(l.admit('10.0.0.1'), { log: true, suppressed: 0 }, 'a quiet key starts afresh');
});

test('keys are limited independently', () => {
  const { l, clock } = limiter();
  assert.equal(l.admit('a').log, true);
  assert.equal(l.admit('b').log, true);
  assert.equal(l.admit('a').log, false);
  assert.equal(l.admit('b').log, false);
  assert.equal(l.admit('b').log, false);
  clock.t += 10_000;
  assert.deepEqual(l.admit('a'), { log: true, suppressed: 1 });
  assert.deepEqual(l.admit('b'), { log: true, suppressed: 2 });
});

test('at most maxKeys keys are remembered; the least recently logged go first', () => {
  const { l, clock } = limiter(3);
  for (const k of ['a', 'b', 'c']) assert.equal(l.admit(k).log, true);
  clock.t += 1;
  assert.equal(l.admit('a').log, false, 'a is still remembered');
  assert.equal(l.admit('d').log, true);
  assert.equal(l.size, 3);
  // 'a' was the oldest logged key, so it was forgotten (with its pending count) and logs again.
  assert.deepEqual(l.admit('a'), { log: true, suppressed: 0 });
  assert.equal(l.admit('c').log, false, 'c is still remembered');
  assert.equal(l.size, 3);
});
