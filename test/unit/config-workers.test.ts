// The data-plane worker count (--workers / AMBIT_WORKERS / ztunnel's WORKER_THREADS): the `auto`
// default against the CPU budget, precedence, auto's fallbacks, and the values and combinations refused.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { autoWorkers, describeCpuBudget, loadConfig, formatSettingsHelp, readCpuBudget } from '../../src/config/index.js';
import { isMeshError } from '../../src/common/errors.js';

const cpus = (n: number) => ({ cpus: n });

const DEFAULTS_BY_CPUS: ReadonlyArray<[number, number]> = [[1, 1], [2, 1], [3, 1], [4, 2], [8, 2], [64, 2]];
for (const [n, want] of DEFAULTS_BY_CPUS) {
  test(`default is auto: ${n} CPU(s) → ${want} worker(s)`, () => {
    const c = loadConfig([], {}, cpus(n));
    assert.equal(c.workers, want);
    assert.equal(c.workersChoice.setting, 'auto');
    assert.match(c.workersChoice.reason, /^auto \(default\): /);
  });
}

test('the reason of auto names the CPU budget and the rule', () => {
  const small = loadConfig([], {}, { cpus: 2, cpuSource: '2 CPUs (affinity set)' }).workersChoice.reason;
  assert.equal(small, 'auto (default): 2 CPUs (affinity set); 2 workers from 4 CPUs, one event loop below');
  const big = loadConfig([], { WORKER_THREADS: 'auto' }, { cpus: 8, cpuSource: '8 CPUs (affinity set)' }).workersChoice.reason;
  assert.equal(big, 'WORKER_THREADS=auto: 8 CPUs (affinity set), at least 4: 2 workers, as ztunnel');
});

test('an explicit count says where it came from', () => {
  assert.deepEqual(loadConfig(['--workers', '3'], {}, cpus(1)).workersChoice, { setting: 3, reason: '--workers=3' });
  assert.deepEqual(loadConfig([], { WORKER_THREADS: '1' }, cpus(8)).workersChoice, { setting: 1, reason: 'WORKER_THREADS=1' });
});

test('a 4-CPU cgroup quota on an 8-CPU affinity set (fake /proc and /sys): auto gives 2', () => {
  const root = mkdtempSync(join(tmpdir(), 'ambit-workers-cg-'));
  try {
    mkdirSync(join(root, 'proc/self'), { recursive: true });
    mkdirSync(join(root, 'sys/fs/cgroup/kubepods/ambit'), { recursive: true });
    writeFileSync(join(root, 'proc/self/cgroup'), '0::/kubepods/ambit\n');
    writeFileSync(join(root, 'sys/fs/cgroup/kubepods/ambit/cpu.max'), '400000 100000\n');
    const budget = readCpuBudget({ root, affinity: 8 });
    const c = loadConfig([], {}, { cpus: budget.cpus, cpuSource: describeCpuBudget(budget) });
    assert.equal(c.workers, 2);
    assert.match(c.workersChoice.reason, /4 CPUs \(cgroup quota 4 CPUs in .*kubepods\/ambit\/cpu\.max; affinity 8\), at least 4: 2 workers/);
    // The same tree at 3.5 CPUs: below the rule's 4, one event loop.
    writeFileSync(join(root, 'sys/fs/cgroup/kubepods/ambit/cpu.max'), '350000 100000\n');
    const tight = readCpuBudget({ root, affinity: 8 });
    assert.equal(loadConfig([], {}, { cpus: tight.cpus }).workers, 1);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

const FALLBACKS: ReadonlyArray<{ name: string; env: Record<string, string>; origin: RegExp }> = [
  { name: 'HBONE port 0', env: { AMBIT_INBOUND_BIND: 'workloads', AMBIT_PORT_HBONE: '0' }, origin: /AMBIT_PORT_HBONE=0 with AMBIT_INBOUND_BIND=workloads/ },
  { name: 'inbound plaintext port 0', env: { AMBIT_INBOUND_BIND: 'workloads', AMBIT_PORT_INBOUND: '0' }, origin: /AMBIT_PORT_INBOUND=0 with AMBIT_INBOUND_BIND=workloads/ },
  { name: 'explicit auto, HBONE port 0', env: { AMBIT_WORKERS: 'auto', AMBIT_INBOUND_BIND: 'workloads', AMBIT_PORT_HBONE: '0' }, origin: /^AMBIT_WORKERS=auto: .*AMBIT_PORT_HBONE=0/ },
];
for (const f of FALLBACKS) {
  test(`auto falls back to 1 instead of failing: ${f.name} with per-workload inbound listeners`, () => {
    const c = loadConfig([], f.env, cpus(8));
    assert.equal(c.workers, 1);
    assert.equal(c.workersChoice.setting, 'auto');
    assert.match(c.workersChoice.reason, f.origin);
    assert.match(c.workersChoice.reason, /would give 2 workers, but .*: one event loop$/);
  });
}

test('port 0 with inboundBind=workloads and auto on a small node: 1, by the CPU rule', () => {
  const c = loadConfig([], { AMBIT_INBOUND_BIND: 'workloads', AMBIT_PORT_HBONE: '0' }, cpus(2));
  assert.equal(c.workers, 1);
  assert.doesNotMatch(c.workersChoice.reason, /would give/);
});

const CASES: ReadonlyArray<{ name: string; argv?: string[]; env?: Record<string, string>; cpus: number; want: number }> = [
  { name: 'AMBIT_WORKERS', env: { AMBIT_WORKERS: '3' }, cpus: 8, want: 3 },
  { name: "ztunnel's WORKER_THREADS is accepted", env: { WORKER_THREADS: '2' }, cpus: 8, want: 2 },
  { name: 'AMBIT_WORKERS wins over WORKER_THREADS', env: { AMBIT_WORKERS: '4', WORKER_THREADS: '2' }, cpus: 8, want: 4 },
  { name: 'the flag wins over the environment', argv: ['--workers', '2'], env: { AMBIT_WORKERS: '4' }, cpus: 8, want: 2 },
  { name: '--workers=N form', argv: ['--workers=5'], cpus: 8, want: 5 },
  { name: 'auto on 8 CPUs = 2, as ztunnel', env: { AMBIT_WORKERS: 'auto' }, cpus: 8, want: 2 },
  { name: 'auto on 1 CPU = 1, never more than the CPUs', env: { WORKER_THREADS: 'auto' }, cpus: 1, want: 1 },
  { name: 'AUTO in capitals', argv: ['--workers', 'AUTO'], cpus: 4, want: 2 },
  { name: 'auto on 3 CPUs = 1 (a second worker needs 4)', env: { AMBIT_WORKERS: 'auto' }, cpus: 3, want: 1 },
  { name: 'an explicit 1 on a big node stays 1', env: { AMBIT_WORKERS: '1' }, cpus: 64, want: 1 },
  { name: 'an explicit count above the CPUs is honoured (the agent warns)', env: { AMBIT_WORKERS: '4' }, cpus: 2, want: 4 },
];

for (const c of CASES) {
  test(`workers: ${c.name}`, () => {
    assert.equal(loadConfig(c.argv ?? [], c.env ?? {}, cpus(c.cpus)).workers, c.want);
  });
}

test('autoWorkers: 2 (ztunnel) from 4 CPUs, else 1', () => {
  assert.deepEqual([0, 1, 2, 3, 4, 5, 64].map(autoWorkers), [1, 1, 1, 1, 2, 2, 2]);
});

const BAD: ReadonlyArray<{ name: string; argv?: string[]; env?: Record<string, string>; expect: RegExp[] }> = [
  { name: 'zero', env: { AMBIT_WORKERS: '0' }, expect: [/AMBIT_WORKERS="0"/, /auto or an integer in 1\.\.256/] },
  { name: 'not a number', env: { WORKER_THREADS: 'many' }, expect: [/WORKER_THREADS="many"/] },
  { name: 'too many', argv: ['--workers', '257'], expect: [/--workers="257"/] },
  { name: 'a fraction', env: { AMBIT_WORKERS: '1.5' }, expect: [/AMBIT_WORKERS="1.5"/] },
  {
    name: 'port 0 for per-workload inbound listeners with several workers',
    env: { AMBIT_WORKERS: '2', AMBIT_INBOUND_BIND: 'workloads', AMBIT_PORT_HBONE: '0' },
    expect: [/AMBIT_WORKERS=2: several workers need fixed inbound ports with AMBIT_INBOUND_BIND=workloads/],
  },
];

for (const c of BAD) {
  test(`workers refused: ${c.name}`, () => {
    assert.throws(
      () => loadConfig(c.argv ?? [], c.env ?? {}, cpus(8)),
      (err: unknown) => isMeshError(err, 'CONFIG_INVALID') && c.expect.every((re) => re.test((err as Error).message)),
    );
  });
}

test('port 0 is fine with several workers for the fixed listeners and inbound on the bind address', () => {
  const c = loadConfig([], { AMBIT_WORKERS: '2', AMBIT_PORT_HBONE: '0', AMBIT_PORT_OUTBOUND: '0' }, cpus(2));
  assert.equal(c.workers, 2);
  assert.equal(c.ports.hbone, 0);
});

test('--help lists --workers with both variables', () => {
  const line = formatSettingsHelp().split('\n').find((l) => l.trimStart().startsWith('--workers'));
  assert.ok(line, 'a --workers line');
  assert.match(line, /AMBIT_WORKERS \| WORKER_THREADS/);
  assert.match(line, /\(default: auto\)$/);
});
