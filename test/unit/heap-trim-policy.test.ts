// The heap trimmer's rule (decideHeapTrim) as a table, and HeapTrimmer driven by a fake RSS, CPU and
// clock source with a fake trim: when it trims, what it counts, the GC before a trim, start/close/destroy.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decideHeapTrim, heapTrimStateAfter, HeapTrimmer, type HeapTrimPolicy, type HeapTrimResult } from '../../src/sockets/index.js';

const MB = 1024 * 1024;
const POLICY: HeapTrimPolicy = { marginBytes: 8 * MB, activityCpuMs: 1000, quietCpuFraction: 0.05, dropRatio: 0.5 };

interface Row {
  readonly name: string;
  readonly state: { baselineBytes: number; cpuSinceTrimMs: number; msSinceTrim: number };
  readonly sample: { rssBytes: number; cpuMs: number; elapsedMs: number };
  readonly trim: 'growth' | 'after-activity' | undefined;
  readonly baselineBytes: number;
}

const rows: Row[] = [
  { name: 'idle: flat RSS, no CPU', state: { baselineBytes: 80 * MB, cpuSinceTrimMs: 5, msSinceTrim: 60_000 }, sample: { rssBytes: 80 * MB, cpuMs: 2, elapsedMs: 2000 }, trim: undefined, baselineBytes: 80 * MB },
  { name: 'RSS fell: the baseline follows it down', state: { baselineBytes: 80 * MB, cpuSinceTrimMs: 0, msSinceTrim: 2000 }, sample: { rssBytes: 75 * MB, cpuMs: 1, elapsedMs: 2000 }, trim: undefined, baselineBytes: 75 * MB },
  { name: 'during a burst: busy, no trim whatever RSS does', state: { baselineBytes: 80 * MB, cpuSinceTrimMs: 4000, msSinceTrim: 4000 }, sample: { rssBytes: 150 * MB, cpuMs: 1900, elapsedMs: 2000 }, trim: undefined, baselineBytes: 80 * MB },
  { name: 'burst over: quiet after 1 s of CPU, RSS flat', state: { baselineBytes: 80 * MB, cpuSinceTrimMs: 6000, msSinceTrim: 8000 }, sample: { rssBytes: 82 * MB, cpuMs: 20, elapsedMs: 2000 }, trim: 'after-activity', baselineBytes: 80 * MB },
  { name: 'quiet, grown by the margin, little CPU', state: { baselineBytes: 80 * MB, cpuSinceTrimMs: 100, msSinceTrim: 60_000 }, sample: { rssBytes: 88 * MB, cpuMs: 10, elapsedMs: 2000 }, trim: 'growth', baselineBytes: 80 * MB },
  { name: 'quiet, grown by less than the margin, little CPU', state: { baselineBytes: 80 * MB, cpuSinceTrimMs: 100, msSinceTrim: 60_000 }, sample: { rssBytes: 87 * MB, cpuMs: 10, elapsedMs: 2000 }, trim: undefined, baselineBytes: 80 * MB },
  { name: 'quiet, 999 ms of CPU since the trim: not yet', state: { baselineBytes: 80 * MB, cpuSinceTrimMs: 989, msSinceTrim: 60_000 }, sample: { rssBytes: 80 * MB, cpuMs: 10, elapsedMs: 2000 }, trim: undefined, baselineBytes: 80 * MB },
  { name: 'the load fell to under half its rate since the trim: quiet', state: { baselineBytes: 80 * MB, cpuSinceTrimMs: 8000, msSinceTrim: 10_000 }, sample: { rssBytes: 120 * MB, cpuMs: 300, elapsedMs: 2000 }, trim: 'after-activity', baselineBytes: 80 * MB },
  { name: 'steady load at its average rate: busy', state: { baselineBytes: 80 * MB, cpuSinceTrimMs: 3000, msSinceTrim: 20_000 }, sample: { rssBytes: 120 * MB, cpuMs: 300, elapsedMs: 2000 }, trim: undefined, baselineBytes: 80 * MB },
  { name: 'first check after a trim (no average yet): 5% of a core decides', state: { baselineBytes: 80 * MB, cpuSinceTrimMs: 0, msSinceTrim: 0 }, sample: { rssBytes: 90 * MB, cpuMs: 99, elapsedMs: 2000 }, trim: 'growth', baselineBytes: 80 * MB },
];

for (const row of rows) {
  test(`decideHeapTrim: ${row.name}`, () => {
    const d = decideHeapTrim(row.state, row.sample, POLICY);
    assert.equal(d.trim, row.trim);
    assert.equal(d.state.baselineBytes, row.baselineBytes);
    assert.equal(d.state.cpuSinceTrimMs, row.state.cpuSinceTrimMs + row.sample.cpuMs);
    assert.equal(d.state.msSinceTrim, row.state.msSinceTrim + row.sample.elapsedMs);
  });
}

test('heapTrimStateAfter: the RSS after the trim is the baseline, counters from zero', () => {
  assert.deepEqual(heapTrimStateAfter(70 * MB), { baselineBytes: 70 * MB, cpuSinceTrimMs: 0, msSinceTrim: 0 });
});

/** A process whose RSS, CPU and clock the test sets; trims drop RSS to `rssAfterTrim`. */
function fakeProcess() {
  const p = { rss: 80 * MB, cpu: 0, now: 0, arrayBuffers: 0, rssAfterTrim: 75 * MB, trims: 0, gcs: 0, fail: false };
  const trim = async (): Promise<HeapTrimResult> => {
    if (p.fail) throw new Error('boom');
    p.trims++;
    p.rss = p.rssAfterTrim;
    return { released: true, glibc: true, durationMs: 1, supported: true };
  };
  const step = (cpuMs: number, rss = p.rss): void => {
    p.now += 2000;
    p.cpu += cpuMs;
    p.rss = rss;
  };
  return { p, trim, step, seams: { rssBytes: () => p.rss, cpuMs: () => p.cpu, nowMs: () => p.now, arrayBufferBytes: () => p.arrayBuffers } };
}

test('HeapTrimmer: idle → no trim; burst → none while busy, one once quiet; idle again → none', async () => {
  const f = fakeProcess();
  const outcomes: unknown[] = [];
  const trimmer = new HeapTrimmer({ intervalMs: 0, policy: POLICY, trim: f.trim, ...f.seams, onTrim: (o) => outcomes.push(o) });
  trimmer.start();
  for (let i = 0; i < 5; i++) {
    f.step(5);
    assert.equal(await trimmer.check(), undefined, 'idle');
  }
  f.step(1900, 120 * MB);
  assert.equal(await trimmer.check(), undefined, 'busy');
  f.step(1900, 150 * MB);
  assert.equal(await trimmer.check(), undefined, 'busy');
  f.step(10, 150 * MB);
  const o = await trimmer.check();
  assert.ok(o);
  assert.equal(o.reason, 'after-activity');
  assert.equal(o.rssBeforeBytes, 150 * MB);
  assert.equal(o.rssAfterBytes, 75 * MB);
  assert.equal(o.releasedBytes, 75 * MB);
  assert.equal(o.collected, false);
  for (let i = 0; i < 5; i++) {
    f.step(5);
    assert.equal(await trimmer.check(), undefined, 'idle after the trim');
  }
  assert.equal(f.p.trims, 1);
  assert.equal(trimmer.trims, 1);
  assert.equal(outcomes.length, 1);
  await trimmer.close();
});

test('HeapTrimmer: a full GC runs first when ArrayBuffers hold the margin or more', async () => {
  const f = fakeProcess();
  let gcs = 0;
  const trimmer = new HeapTrimmer({ intervalMs: 0, policy: POLICY, trim: f.trim, ...f.seams, collectGarbage: () => gcs++ });
  trimmer.start();
  f.p.arrayBuffers = 7 * MB;
  f.step(10, 90 * MB);
  assert.equal((await trimmer.check())?.collected, false);
  f.p.arrayBuffers = 8 * MB;
  f.step(10, 90 * MB);
  const o = await trimmer.check();
  assert.equal(o?.collected, true);
  assert.equal(gcs, 1);
  trimmer.destroy();
});

test('HeapTrimmer: a failed trim is not retried at every check; close/destroy stop it', async () => {
  const f = fakeProcess();
  const trimmer = new HeapTrimmer({ intervalMs: 0, policy: POLICY, trim: f.trim, ...f.seams });
  trimmer.start();
  f.p.fail = true;
  f.step(10, 90 * MB);
  assert.equal(await trimmer.check(), undefined);
  f.step(10, 90 * MB);
  assert.equal(await trimmer.check(), undefined);
  f.p.fail = false;
  f.step(10, 90 * MB);
  assert.equal(await trimmer.check(), undefined, 'the baseline moved to the RSS of the failed attempt');
  f.step(10, 98 * MB);
  assert.equal((await trimmer.check())?.reason, 'growth');
  await trimmer.close();
  f.step(10, 200 * MB);
  assert.equal(await trimmer.check(), undefined, 'closed');
  trimmer.destroy();
  assert.equal(f.p.trims, 1);
});

test('HeapTrimmer: one trim at a time', async () => {
  const f = fakeProcess();
  let release!: () => void;
  const slow = (): Promise<HeapTrimResult> =>
    new Promise((resolve) => (release = () => resolve({ released: true, glibc: true, durationMs: 1, supported: true })));
  const trimmer = new HeapTrimmer({ intervalMs: 0, policy: POLICY, trim: slow, ...f.seams });
  trimmer.start();
  f.step(10, 100 * MB);
  const first = trimmer.check();
  f.step(10, 120 * MB);
  assert.equal(await trimmer.check(), undefined, 'in flight');
  release();
  assert.equal((await first)?.reason, 'growth');
  const closing = trimmer.close();
  await closing;
});
