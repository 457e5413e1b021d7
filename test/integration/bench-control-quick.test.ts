// `npm run bench:control -- --quick` end to end (1,000 pods, 100 Services, 10 clients, one round): it
// exits 0 and its JSON and chart hold every figure the full run reports. The values are not judged here.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ControlBenchResult } from '../../bench/control/report.js';
import type { ControlMeasurement, RoundRecord } from '../../bench/control/summary.js';

const RUN = fileURLToPath(new URL('../../bench/control/run.js', import.meta.url));

/** Every figure, by id; those with a target from the issue. */
const FIGURES = [
  'translation.cold', 'translation.warm', 'translation.change', 'sync.all', 'sync.bytes',
  ...[100, 1].flatMap((d) => ['p50', 'p99', 'max'].map((q) => `change.d${d}.${q}`)),
  'rss.started', 'rss.synced', 'rss.peak',
  'e2e.ready', 'e2e.translation', 'e2e.translation.change', 'e2e.sync', 'e2e.change.p50', 'e2e.change.max', 'e2e.rss.started', 'e2e.rss.synced', 'e2e.rss.peak',
];
const TARGETED = ['translation.cold', 'translation.warm', 'change.d1.p99', 'rss.peak', 'e2e.translation', 'e2e.rss.peak'];

test('the quick control-plane bench writes every figure, with targets and met/missed, a dated copy and a chart', { timeout: 240_000 }, async (t) => {
  const out = mkdtempSync(join(tmpdir(), 'ambit-cpbench-test-'));
  t.after(() => rmSync(out, { recursive: true, force: true }));
  const child = spawn(process.execPath, [RUN, '--quick', '--out', out], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  assert.equal(code, 0, `exit ${code}\n${stderr.slice(-3000)}`);
  assert.match(stderr, /\[1\/3\] round 1\/1 · in-memory cluster · debounce 100 ms/, 'progress lines');

  const result = JSON.parse(readFileSync(join(out, 'control-plane.json'), 'utf8')) as ControlBenchResult;
  assert.equal(result.kind, 'control-plane');
  assert.match(result.command, /--quick/);
  assert.ok(result.machine.cores > 0 && result.cluster.counts['Pod'] === 1000 && result.cluster.counts['Service'] === 100);
  const byId = new Map(result.measurements.map((m: ControlMeasurement) => [m.id, m]));
  assert.deepEqual([...byId.keys()].sort(), [...FIGURES].sort());
  for (const id of FIGURES) {
    const m = byId.get(id)!;
    assert.ok(typeof m.value === 'number' && Number.isFinite(m.value), `${id} has a figure`);
    assert.ok(m.spread !== null && m.spread.rounds === 1, `${id} has its spread`);
    assert.ok(m.label !== '' && m.unit !== '');
    assert.equal(m.target !== undefined, TARGETED.includes(id), `${id}: target iff the issue sets one`);
    if (m.target !== undefined) assert.equal(typeof m.met, 'boolean');
  }
  const round = (result.raw as { rounds: RoundRecord[] }).rounds[0]!;
  assert.deepEqual(round.errors, []);
  assert.deepEqual(round.memory.map((m) => m.debounceMs), [100, 1]);
  for (const m of round.memory) {
    assert.equal(m.changes.length, 12);
    assert.equal(m.sync.perClient.length, 10);
    assert.ok(m.sync.perClient.every((c) => c.bytes > 0 && Object.keys(c.resources).length === 2), 'each client holds both types');
  }
  assert.equal(round.manifests?.changes.length, 4);
  assert.ok(round.memory[0]!.warm.length > 0);

  assert.match(stdout, /measurement\s+unit\s+median \(min–max\)\s+target\s+status/);
  assert.match(readFileSync(join(out, 'control-plane.svg'), 'utf8'), /^<\?xml[\s\S]*<svg[\s\S]*One pod change → all 10 clients/);
  assert.ok(readdirSync(out).some((f) => /^control-plane-\d{4}-\d{2}-\d{2}T.*Z\.json$/.test(f)), 'the dated copy');
  assert.ok(!existsSync(join(out, 'latest.json')), 'the data-plane results are not touched');
});
