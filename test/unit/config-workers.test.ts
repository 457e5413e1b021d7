// The data-plane worker count (--workers / AMBIT_WORKERS / ztunnel's WORKER_THREADS): default,
// precedence, `auto` against the CPUs available, and the values and combinations refused.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { autoWorkers, loadConfig, formatSettingsHelp } from '../../src/config/index.js';
import { isMeshError } from '../../src/common/errors.js';

const cpus = (n: number) => ({ cpus: n });

test('default is one worker: the single event loop of before', () => {
  assert.equal(loadConfig([], {}, cpus(8)).workers, 1);
});

const CASES: ReadonlyArray<{ name: string; argv?: string[]; env?: Record<string, string>; cpus: number; want: number }> = [
  { name: 'AMBIT_WORKERS', env: { AMBIT_WORKERS: '3' }, cpus: 8, want: 3 },
  { name: "ztunnel's WORKER_THREADS is accepted", env: { WORKER_THREADS: '2' }, cpus: 8, want: 2 },
  { name: 'AMBIT_WORKERS wins over WORKER_THREADS', env: { AMBIT_WORKERS: '4', WORKER_THREADS: '2' }, cpus: 8, want: 4 },
  { name: 'the flag wins over the environment', argv: ['--workers', '2'], env: { AMBIT_WORKERS: '4' }, cpus: 8, want: 2 },
  { name: '--workers=N form', argv: ['--workers=5'], cpus: 8, want: 5 },
  { name: 'auto on 8 CPUs = 2, as ztunnel', env: { AMBIT_WORKERS: 'auto' }, cpus: 8, want: 2 },
  { name: 'auto on 1 CPU = 1, never more than the CPUs', env: { WORKER_THREADS: 'auto' }, cpus: 1, want: 1 },
  { name: 'AUTO in capitals', argv: ['--workers', 'AUTO'], cpus: 2, want: 2 },
  { name: 'an explicit count above the CPUs is honoured (the agent warns)', env: { AMBIT_WORKERS: '4' }, cpus: 2, want: 4 },
];

for (const c of CASES) {
  test(`workers: ${c.name}`, () => {
    assert.equal(loadConfig(c.argv ?? [], c.env ?? {}, cpus(c.cpus)).workers, c.want);
  });
}

test('autoWorkers: min(2, CPUs), at least 1', () => {
  assert.deepEqual([0, 1, 2, 3, 64].map(autoWorkers), [1, 1, 2, 2, 2]);
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
  assert.match(line, /\(default: 1\)$/);
});
