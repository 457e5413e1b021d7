// The CPU budget (src/config/cpu-budget.ts) read from fake /proc and /sys trees in a temp dir:
// cgroup v2 cpu.max and v1 CFS quota over the process's cgroup and its ancestors, capped by affinity.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describeCpuBudget, readCpuBudget } from '../../src/config/index.js';
import { parseCfsQuota, parseCpuMax } from '../../src/config/cpu-budget.js';

const base = mkdtempSync(join(tmpdir(), 'ambit-cpu-budget-'));
after(() => rmSync(base, { recursive: true, force: true }));

let n = 0;
/** A fresh fake root holding `files` (paths relative to `/`). */
function fakeRoot(files: Record<string, string>): string {
  const root = join(base, String(n++));
  mkdirSync(root);
  for (const [path, body] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), body);
  }
  return root;
}

const V2 = 'sys/fs/cgroup';
const V1 = 'sys/fs/cgroup/cpu,cpuacct';
const V1_SELF = '11:cpu,cpuacct:/kubepods/pod1/ctr\n4:memory:/kubepods/pod1/ctr\n';

interface Case {
  readonly name: string;
  readonly files: Record<string, string>;
  readonly affinity: number;
  readonly cpus: number;
  /** The quota file expected to bind (relative to the fake root), or undefined when none is below affinity. */
  readonly quotaFile?: string;
  readonly quotaCpus?: number;
}

const CASES: readonly Case[] = [
  { name: 'no /proc/self/cgroup: the affinity set', files: {}, affinity: 6, cpus: 6 },
  { name: 'v2, no cpu.max anywhere (root cgroup)', files: { 'proc/self/cgroup': '0::/\n' }, affinity: 4, cpus: 4 },
  { name: 'v2, "max" = unlimited', files: { 'proc/self/cgroup': '0::/pod\n', [`${V2}/pod/cpu.max`]: 'max 100000\n' }, affinity: 8, cpus: 8 },
  {
    name: 'v2, the own cgroup\'s quota: 4 CPUs of 8',
    files: { 'proc/self/cgroup': '0::/kubepods/pod1/ctr\n', [`${V2}/kubepods/pod1/ctr/cpu.max`]: '400000 100000\n' },
    affinity: 8, cpus: 4, quotaFile: `${V2}/kubepods/pod1/ctr/cpu.max`, quotaCpus: 4,
  },
  {
    name: 'v2, an ancestor is tighter than the own cgroup',
    files: {
      'proc/self/cgroup': '0::/kubepods/pod1/ctr\n',
      [`${V2}/kubepods/pod1/ctr/cpu.max`]: '400000 100000\n',
      [`${V2}/kubepods/pod1/cpu.max`]: '200000 100000\n',
      [`${V2}/kubepods/cpu.max`]: 'max 100000\n',
    },
    affinity: 8, cpus: 2, quotaFile: `${V2}/kubepods/pod1/cpu.max`, quotaCpus: 2,
  },
  {
    name: 'v2, a fractional quota rounds down: 2.5 → 2',
    files: { 'proc/self/cgroup': '0::/c\n', [`${V2}/c/cpu.max`]: '250000 100000\n' },
    affinity: 8, cpus: 2, quotaFile: `${V2}/c/cpu.max`, quotaCpus: 2.5,
  },
  {
    name: 'v2, a quota under one CPU is still 1',
    files: { 'proc/self/cgroup': '0::/c\n', [`${V2}/c/cpu.max`]: '50000 100000\n' },
    affinity: 8, cpus: 1, quotaFile: `${V2}/c/cpu.max`, quotaCpus: 0.5,
  },
  {
    name: 'v2, a quota above the affinity set: affinity wins',
    files: { 'proc/self/cgroup': '0::/c\n', [`${V2}/c/cpu.max`]: '800000 100000\n' },
    affinity: 2, cpus: 2, quotaFile: `${V2}/c/cpu.max`, quotaCpus: 8,
  },
  {
    name: 'v2, another period: 150000/50000 = 3',
    files: { 'proc/self/cgroup': '0::/c\n', [`${V2}/c/cpu.max`]: '150000 50000\n' },
    affinity: 16, cpus: 3, quotaFile: `${V2}/c/cpu.max`, quotaCpus: 3,
  },
  {
    name: 'v2, a container namespace: "0::/" and the limit at the mount root',
    files: { 'proc/self/cgroup': '0::/\n', [`${V2}/cpu.max`]: '300000 100000\n' },
    affinity: 8, cpus: 3, quotaFile: `${V2}/cpu.max`, quotaCpus: 3,
  },
  {
    name: 'v2, a path outside the namespace ("/../x") stays under the mount',
    files: { 'proc/self/cgroup': '0::/../x\n', [`${V2}/x/cpu.max`]: '100000 100000\n' },
    affinity: 8, cpus: 1, quotaFile: `${V2}/x/cpu.max`, quotaCpus: 1,
  },
  {
    name: 'v2, a malformed cpu.max is ignored; a sound ancestor still counts',
    files: { 'proc/self/cgroup': '0::/a/b\n', [`${V2}/a/b/cpu.max`]: 'lots\n', [`${V2}/a/cpu.max`]: '600000 100000\n' },
    affinity: 8, cpus: 6, quotaFile: `${V2}/a/cpu.max`, quotaCpus: 6,
  },
  {
    name: 'v2, zero period and zero quota are malformed',
    files: { 'proc/self/cgroup': '0::/a/b\n', [`${V2}/a/b/cpu.max`]: '100000 0\n', [`${V2}/a/cpu.max`]: '0 100000\n' },
    affinity: 8, cpus: 8,
  },
  {
    name: 'v1, CFS quota of the own cgroup: 250000/100000 → 2',
    files: { 'proc/self/cgroup': V1_SELF, [`${V1}/kubepods/pod1/ctr/cpu.cfs_quota_us`]: '250000\n', [`${V1}/kubepods/pod1/ctr/cpu.cfs_period_us`]: '100000\n' },
    affinity: 8, cpus: 2, quotaFile: `${V1}/kubepods/pod1/ctr/cpu.cfs_quota_us`, quotaCpus: 2.5,
  },
  {
    name: 'v1, -1 = unlimited',
    files: { 'proc/self/cgroup': V1_SELF, [`${V1}/cpu.cfs_quota_us`]: '-1\n', [`${V1}/cpu.cfs_period_us`]: '100000\n' },
    affinity: 4, cpus: 4,
  },
  {
    name: 'v1, a container sees its own cgroup at the mount root (the host path is absent)',
    files: { 'proc/self/cgroup': V1_SELF, [`${V1}/cpu.cfs_quota_us`]: '400000\n', [`${V1}/cpu.cfs_period_us`]: '100000\n' },
    affinity: 8, cpus: 4, quotaFile: `${V1}/cpu.cfs_quota_us`, quotaCpus: 4,
  },
  {
    name: 'v1, mounted as plain "cpu"',
    files: { 'proc/self/cgroup': '3:cpu:/c\n', 'sys/fs/cgroup/cpu/c/cpu.cfs_quota_us': '100000\n', 'sys/fs/cgroup/cpu/c/cpu.cfs_period_us': '100000\n' },
    affinity: 8, cpus: 1, quotaFile: 'sys/fs/cgroup/cpu/c/cpu.cfs_quota_us', quotaCpus: 1,
  },
  {
    name: 'v1, the quota without its period file is ignored',
    files: { 'proc/self/cgroup': '3:cpu:/c\n', 'sys/fs/cgroup/cpu/c/cpu.cfs_quota_us': '100000\n' },
    affinity: 8, cpus: 8,
  },
  {
    name: 'hybrid: v2 at .../unified without cpu.max, the quota on v1',
    files: {
      'proc/self/cgroup': '0::/c\n3:cpu:/c\n',
      'sys/fs/cgroup/unified/c/cgroup.procs': '1\n',
      'sys/fs/cgroup/cpu/c/cpu.cfs_quota_us': '300000\n',
      'sys/fs/cgroup/cpu/c/cpu.cfs_period_us': '100000\n',
    },
    affinity: 8, cpus: 3, quotaFile: 'sys/fs/cgroup/cpu/c/cpu.cfs_quota_us', quotaCpus: 3,
  },
  {
    name: 'v1 and v2 both limit: the tighter wins',
    files: {
      'proc/self/cgroup': '0::/c\n3:cpu:/c\n',
      [`${V2}/c/cpu.max`]: '500000 100000\n',
      'sys/fs/cgroup/cpu/c/cpu.cfs_quota_us': '200000\n',
      'sys/fs/cgroup/cpu/c/cpu.cfs_period_us': '100000\n',
    },
    affinity: 8, cpus: 2, quotaFile: 'sys/fs/cgroup/cpu/c/cpu.cfs_quota_us', quotaCpus: 2,
  },
  {
    name: 'garbage /proc/self/cgroup lines are skipped',
    files: { 'proc/self/cgroup': 'nonsense\n7:pids\n0::relative\n', [`${V2}/cpu.max`]: '100000 100000\n' },
    affinity: 8, cpus: 8,
  },
];

for (const c of CASES) {
  test(`cpu budget: ${c.name}`, () => {
    const root = fakeRoot(c.files);
    const b = readCpuBudget({ root, affinity: c.affinity });
    assert.equal(b.cpus, c.cpus);
    assert.equal(b.affinity, c.affinity);
    if (c.quotaFile === undefined) assert.equal(b.quota, undefined, JSON.stringify(b));
    else assert.deepEqual(b.quota, { cpus: c.quotaCpus, file: join(root, c.quotaFile) });
  });
}

test('cpu budget: the real machine reads without error and is at least 1', () => {
  const b = readCpuBudget();
  assert.ok(Number.isInteger(b.cpus) && b.cpus >= 1 && b.cpus <= b.affinity, JSON.stringify(b));
});

test('describeCpuBudget names the binding limit', () => {
  assert.equal(describeCpuBudget({ cpus: 8, affinity: 8 }), '8 CPUs (affinity set)');
  assert.equal(describeCpuBudget({ cpus: 1, affinity: 1 }), '1 CPU (affinity set)');
  assert.equal(describeCpuBudget({ cpus: 2, affinity: 2, quota: { cpus: 8, file: '/q' } }), '2 CPUs (affinity set)');
  assert.equal(
    describeCpuBudget({ cpus: 2, affinity: 8, quota: { cpus: 2.5, file: '/sys/fs/cgroup/cpu.max' } }),
    '2 CPUs (cgroup quota 2.5 CPUs in /sys/fs/cgroup/cpu.max; affinity 8)',
  );
});

const CPU_MAX: ReadonlyArray<[string, number | undefined]> = [
  ['max 100000', Infinity], ['max', Infinity], ['200000 100000', 2], ['150000 100000\n', 1.5], ['100000', 1],
  ['', undefined], ['-1 100000', undefined], ['0 100000', undefined], ['100000 0', undefined], ['1.5 1', undefined], ['max max', undefined],
];
for (const [text, want] of CPU_MAX) {
  test(`parseCpuMax(${JSON.stringify(text)}) = ${want}`, () => assert.equal(parseCpuMax(text), want));
}

const CFS: ReadonlyArray<[string, string, number | undefined]> = [
  ['-1', '100000', Infinity], ['200000\n', '100000\n', 2], ['50000', '100000', 0.5],
  ['', '100000', undefined], ['x', '100000', undefined], ['100000', '0', undefined], ['0', '100000', undefined], ['100000', '', undefined],
];
for (const [quota, period, want] of CFS) {
  test(`parseCfsQuota(${JSON.stringify(quota)}, ${JSON.stringify(period)}) = ${want}`, () => assert.equal(parseCfsQuota(quota, period), want));
}
