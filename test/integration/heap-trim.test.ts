// The native trimHeap (glibc malloc_trim(0) on the threadpool) for real: it resolves, gives back a
// fragmented C heap, and HeapTrimmer runs it from its timer; start/close/destroy; the no-addon fallback.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HeapTrimMetrics, createRegistry } from '../../src/metrics/index.js';
import { fullGc, HeapTrimmer, loadNativeSockets, trimHeap, type HeapTrimOutcome } from '../../src/sockets/index.js';

const MB = 1024 * 1024;

function native() {
  const load = loadNativeSockets();
  assert.ok(load.ok, load.ok ? '' : load.reason);
  return load.native;
}

/** Allocates `mb` MB of 64 KB Buffers (malloc'd, below the mmap threshold), touches them, keeps 1 in 8. */
function fragmentHeap(mb: number): Buffer[] {
  const kept: Buffer[] = [];
  for (let i = 0; i < (mb * MB) / 65536; i++) {
    const b = Buffer.allocUnsafeSlow(65536).fill(1);
    if (i % 8 === 0) kept.push(b);
  }
  return kept;
}

test('trimHeap runs malloc_trim on the threadpool and gives a fragmented heap back', async () => {
  const gc = fullGc();
  assert.equal(typeof gc, 'function', 'a full GC is available without --expose-gc');
  const kept = fragmentHeap(40);
  gc!();
  const before = process.memoryUsage.rss();
  let loopTurned = false;
  setImmediate(() => (loopTurned = true));
  const res = await trimHeap(native());
  const after = process.memoryUsage.rss();
  assert.equal(res.supported, true);
  assert.equal(res.glibc, true);
  assert.equal(res.released, true);
  assert.ok(res.durationMs >= 0 && res.durationMs < 5000, `durationMs ${res.durationMs}`);
  assert.ok((res.arenaBytesBefore ?? 0) > 0 && (res.freeBytesBefore ?? 0) > 0, 'mallinfo2 figures');
  assert.ok(before - after > 10 * MB, `RSS ${before / MB} → ${after / MB} MB`);
  assert.ok(loopTurned, 'the event loop ran while the trim was queued');
  assert.ok(kept.length > 0);
});

test('trimHeap without the addon resolves released=false, supported=false', async () => {
  assert.deepEqual(await trimHeap(undefined), { released: false, glibc: false, durationMs: 0, supported: false });
});

test('trimHeap: a non-function callback is a TypeError', () => {
  assert.throws(() => (native().trimHeap as unknown as (x: unknown) => void)(42), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' });
});

test('HeapTrimmer trims from its (unref\'d) timer, counts in the metrics, then close and destroy stop it', async (t) => {
  const n = native();
  const registry = createRegistry({ tag: 'test' });
  const metrics = new HeapTrimMetrics(registry);
  const outcomes: HeapTrimOutcome[] = [];
  let first!: () => void;
  const trimmed = new Promise<void>((resolve) => (first = resolve));
  // Every interval counts as quiet and after activity: it trims at each tick.
  const trimmer = new HeapTrimmer({
    intervalMs: 20,
    policy: { marginBytes: 8 * MB, activityCpuMs: 0, quietCpuFraction: 1e9, dropRatio: 0.5 },
    trim: () => trimHeap(n),
    collectGarbage: fullGc(),
    onTrim: (o) => {
      outcomes.push(o);
      metrics.record(o.releasedBytes);
      first();
    },
  });
  // The trimmer's timer is unref'd (it never keeps a process alive): hold the loop open meanwhile.
  const hold = setInterval(() => undefined, 1000);
  t.after(() => clearInterval(hold));
  trimmer.start();
  trimmer.start(); // idempotent
  await trimmed;
  await trimmer.close();
  const count = outcomes.length;
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(outcomes.length, count, 'no trims after close');
  assert.equal(trimmer.trims, count);
  assert.equal(outcomes[0]!.reason, 'after-activity');
  assert.equal(outcomes[0]!.supported, true);
  const text = await registry.metrics();
  assert.match(text, new RegExp(`^ambit_heap_trims_total ${count}$`, 'm'));
  assert.match(text, /^ambit_heap_trim_released_bytes_total \d+$/m);
  trimmer.destroy();
  trimmer.start();
  await new Promise((r) => setTimeout(r, 60));
  assert.equal(outcomes.length, count, 'a destroyed trimmer does not restart');
});

test('HeapTrimmer with interval 0 arms no timer', async () => {
  let trims = 0;
  const trimmer = new HeapTrimmer({
    intervalMs: 0,
    policy: { marginBytes: 0, activityCpuMs: 0, quietCpuFraction: 1e9, dropRatio: 0.5 },
    trim: async () => {
      trims++;
      return { released: false, glibc: true, durationMs: 0, supported: true };
    },
  });
  trimmer.start();
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(trims, 0);
  trimmer.destroy();
});
