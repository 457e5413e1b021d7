// The worker count the agent starts with (src/bin/worker-count.ts): the config's choice, and the
// fallback to one event loop without the native addon — info for `auto`, warn for an explicit count.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { workerCountAtStart } from '../../src/bin/worker-count.js';
import { loadConfig } from '../../src/config/index.js';
import type { NativeSocketsLoad } from '../../src/sockets/index.js';

const NO_ADDON = { ok: false, reason: 'native addon not built' } as NativeSocketsLoad;
const ADDON = { ok: true, native: {} } as NativeSocketsLoad;

const CASES: ReadonlyArray<{ name: string; env: Record<string, string>; cpus: number; native: NativeSocketsLoad; count: number; level?: 'info' | 'warn'; reason: RegExp }> = [
  { name: 'auto on 8 CPUs with the addon: 2', env: {}, cpus: 8, native: ADDON, count: 2, reason: /^auto \(default\): 8 CPUs, at least 4: 2 workers, as ztunnel$/ },
  { name: 'auto on 2 CPUs: 1, no fallback to report', env: {}, cpus: 2, native: NO_ADDON, count: 1, reason: /^auto \(default\): 2 CPUs; 2 workers from 4 CPUs, one event loop below$/ },
  { name: 'auto on 8 CPUs without the addon: 1, said at info', env: {}, cpus: 8, native: NO_ADDON, count: 1, level: 'info', reason: /^auto \(default\): 8 CPUs, at least 4: 2 workers, as ztunnel; but worker threads need the native addon \(SO_REUSEPORT listeners\): native addon not built: one event loop$/ },
  { name: 'an explicit 3 without the addon: 1, warned', env: { AMBIT_WORKERS: '3' }, cpus: 8, native: NO_ADDON, count: 1, level: 'warn', reason: /^AMBIT_WORKERS=3; but worker threads need the native addon/ },
  { name: 'an explicit 3 with the addon: 3', env: { AMBIT_WORKERS: '3' }, cpus: 2, native: ADDON, count: 3, reason: /^AMBIT_WORKERS=3$/ },
  { name: 'an explicit 1 without the addon: nothing to fall back from', env: { WORKER_THREADS: '1' }, cpus: 8, native: NO_ADDON, count: 1, reason: /^WORKER_THREADS=1$/ },
];

for (const c of CASES) {
  test(`worker count at start: ${c.name}`, () => {
    const got = workerCountAtStart(loadConfig([], c.env, { cpus: c.cpus }), c.native);
    assert.equal(got.count, c.count);
    assert.equal(got.fallback?.level, c.level);
    assert.match(got.reason, c.reason);
  });
}
