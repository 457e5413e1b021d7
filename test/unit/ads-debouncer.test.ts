// The push debouncer: a burst becomes one batch after the quiet period, a steady stream is cut at the
// max delay, flushNow/cancel, and invalid timings are refused.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { Debouncer } from '../../src/controlplane/ads/debouncer.js';

function recorder(): { batches: string[][]; at: number[]; flush: (b: ReadonlySet<string>) => void } {
  const batches: string[][] = [];
  const at: number[] = [];
  return { batches, at, flush: (b) => (batches.push([...b].sort()), at.push(performance.now())) };
}

test('debouncer: a burst is one batch of the union, delivered a quiet period after the last add', async () => {
  const r = recorder();
  const d = new Debouncer<string>({ quietMs: 60, maxDelayMs: 10_000 }, r.flush);
  d.add(['a']);
  await sleep(20);
  d.add(['b', 'a']);
  await sleep(20);
  d.add(['c']);
  const last = performance.now();
  assert.equal(d.size, 3);
  await sleep(150);
  assert.deepEqual(r.batches, [['a', 'b', 'c']]);
  assert.ok(r.at[0]! - last >= 55, `flushed ${(r.at[0]! - last).toFixed(0)} ms after the last add`);
  assert.equal(d.size, 0);
});

test('debouncer: adds that never pause are still flushed at the max delay', async () => {
  const r = recorder();
  const d = new Debouncer<string>({ quietMs: 50, maxDelayMs: 120 }, r.flush);
  const start = performance.now();
  for (let i = 0; performance.now() - start < 300; i++) {
    d.add([`x${i}`]);
    await sleep(10);
  }
  d.cancel();
  assert.ok(r.batches.length >= 2, `${r.batches.length} batches in 300 ms`);
  assert.ok(r.at[0]! - start < 200, `first after ${(r.at[0]! - start).toFixed(0)} ms`);
});

test('debouncer: flushNow delivers at once, cancel drops, empty adds do nothing', async () => {
  const r = recorder();
  const d = new Debouncer<string>({ quietMs: 30, maxDelayMs: 100 }, r.flush);
  d.add([]);
  d.flushNow();
  assert.deepEqual(r.batches, []);
  d.add(['a']);
  d.flushNow();
  assert.deepEqual(r.batches, [['a']]);
  d.add(['b']);
  d.cancel();
  await sleep(80);
  assert.deepEqual(r.batches, [['a']]);
});

test('debouncer: refuses quietMs < 0 or maxDelayMs < quietMs', () => {
  assert.throws(() => new Debouncer({ quietMs: -1, maxDelayMs: 10 }, () => {}), RangeError);
  assert.throws(() => new Debouncer({ quietMs: 100, maxDelayMs: 10 }, () => {}), RangeError);
  assert.throws(() => new Debouncer({ quietMs: Number.NaN, maxDelayMs: 10 }, () => {}), RangeError);
});
