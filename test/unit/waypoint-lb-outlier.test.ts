// Outlier detection with a manual clock: consecutive 5xx and gateway-error thresholds, what counts
// and what resets, ejection time growing with each ejection and decaying, maxEjectionPercent.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { OutlierDetection } from '../../src/waypoint/model/route-model.js';
import { OutlierDetector, type EjectionType } from '../../src/waypoint/outlier-detector.js';
import { ManualClock } from '../helpers/upstream-endpoints.js';

function detector(settings: Partial<OutlierDetection>, hosts = ['a', 'b', 'c', 'd']): { d: OutlierDetector; clock: ManualClock; ejections: EjectionType[]; overflows: number[] } {
  const clock = new ManualClock();
  const ejections: EjectionType[] = [];
  const overflows: number[] = [];
  const d = new OutlierDetector('c', { intervalMs: 1000, baseEjectionTimeMs: 30_000, maxEjectionPercent: 100, ...settings }, { ejected: (t) => ejections.push(t), overflow: () => overflows.push(1) }, clock.now);
  d.setHosts(hosts);
  return { d, clock, ejections, overflows };
}

const thresholdCases: Array<{ name: string; settings: Partial<OutlierDetection>; statuses: number[]; ejected: boolean; type?: EjectionType }> = [
  { name: '3 × 5xx with consecutive5xxErrors 3', settings: { consecutive5xxErrors: 3 }, statuses: [500, 502, 503], ejected: true, type: 'consecutive_5xx' },
  { name: 'connect failures (503) and timeouts (504) count as 5xx', settings: { consecutive5xxErrors: 3 }, statuses: [503, 504, 503], ejected: true, type: 'consecutive_5xx' },
  { name: 'a success resets the count', settings: { consecutive5xxErrors: 3 }, statuses: [500, 500, 200, 500, 500], ejected: false },
  { name: '4xx is a success', settings: { consecutive5xxErrors: 2 }, statuses: [500, 404, 500], ejected: false },
  { name: 'Envoy’s default 5 (what the control plane writes for an unset field): four are not enough', settings: { consecutive5xxErrors: 5 }, statuses: [500, 500, 500, 500], ejected: false },
  { name: 'Envoy’s default 5: the fifth ejects', settings: { consecutive5xxErrors: 5 }, statuses: [500, 500, 500, 500, 500], ejected: true, type: 'consecutive_5xx' },
  { name: 'absent consecutive5xxErrors in the model is off', settings: {}, statuses: Array(20).fill(500), ejected: false },
  { name: 'consecutive5xxErrors 0 disables', settings: { consecutive5xxErrors: 0 }, statuses: Array(20).fill(500), ejected: false },
  { name: 'gateway errors: only 502/503/504 count', settings: { consecutive5xxErrors: 0, consecutiveGatewayErrors: 2 }, statuses: [500, 500, 500, 500], ejected: false },
  { name: 'gateway errors: 2 × 502/504', settings: { consecutive5xxErrors: 0, consecutiveGatewayErrors: 2 }, statuses: [502, 504], ejected: true, type: 'consecutive_gateway_failure' },
  { name: 'gateway errors: a 500 in between resets', settings: { consecutive5xxErrors: 0, consecutiveGatewayErrors: 2 }, statuses: [502, 500, 503], ejected: false },
  { name: 'both set: the gateway threshold can come first', settings: { consecutive5xxErrors: 5, consecutiveGatewayErrors: 2 }, statuses: [503, 503], ejected: true, type: 'consecutive_gateway_failure' },
];

for (const c of thresholdCases) {
  test(`outlier: ${c.name}`, () => {
    const { d, ejections } = detector(c.settings);
    for (const s of c.statuses) d.report('a', s);
    assert.equal(d.isEjected('a'), c.ejected);
    assert.equal(d.isEjected('b'), false);
    assert.deepEqual(ejections, c.type ? [c.type] : []);
    assert.equal(d.activeEjections, c.ejected ? 1 : 0);
  });
}

test('outlier: an ejection lasts base × times ejected, returns at the sweep after it, and decays', () => {
  const { d, clock } = detector({ consecutive5xxErrors: 1, baseEjectionTimeMs: 1000 });
  d.report('a', 503);
  assert.ok(d.isEjected('a'));
  clock.advance(999);
  d.sweep();
  assert.ok(d.isEjected('a'), 'still ejected before the base time');
  clock.advance(1);
  d.sweep();
  assert.ok(!d.isEjected('a'), 'back after 1 × base');
  assert.equal(d.activeEjections, 0);
  // Ejected again at once: twice as long.
  d.report('a', 503);
  assert.deepEqual({ ejected: d.isEjected('a'), backoff: d.dump('a')?.ejectTimeBackoff, n: d.dump('a')?.numEjections }, { ejected: true, backoff: 2, n: 2 });
  clock.advance(1999);
  d.sweep();
  assert.ok(d.isEjected('a'));
  clock.advance(1);
  d.sweep();
  assert.ok(!d.isEjected('a'));
  // Healthy for a base time: the backoff drops by one per sweep.
  clock.advance(1000);
  d.sweep();
  assert.equal(d.dump('a')?.ejectTimeBackoff, 1);
  clock.advance(1000);
  d.sweep();
  assert.equal(d.dump('a')?.ejectTimeBackoff, 0);
  d.report('a', 503);
  clock.advance(1000);
  d.sweep();
  assert.ok(!d.isEjected('a'), 'back to 1 × base');
});

test('outlier: ejection time is capped at max(base, 300 s)', () => {
  const { d, clock } = detector({ consecutive5xxErrors: 1, baseEjectionTimeMs: 100_000 });
  for (let i = 0; i < 6; i++) {
    d.report('a', 500);
    assert.ok(d.isEjected('a'));
    clock.advance(300_000);
    d.sweep();
    assert.ok(!d.isEjected('a'), `ejection ${i + 1} ends within 300 s`);
  }
});

test('outlier: counters reset on return; errors while ejected do not eject twice', () => {
  const { d, clock, ejections } = detector({ consecutive5xxErrors: 2, baseEjectionTimeMs: 10 });
  d.report('a', 500);
  d.report('a', 500);
  d.report('a', 500);
  d.report('a', 500);
  assert.equal(ejections.length, 1);
  clock.advance(10);
  d.sweep();
  d.report('a', 500);
  assert.ok(!d.isEjected('a'), 'one error after return is not enough');
});

const percentCases: Array<{ hosts: number; percent: number; failing: number; ejected: number; overflows: number }> = [
  { hosts: 10, percent: 20, failing: 3, ejected: 2, overflows: 1 },
  { hosts: 4, percent: 50, failing: 4, ejected: 2, overflows: 2 },
  // Envoy ejects at least one host whatever the percentage.
  { hosts: 2, percent: 10, failing: 2, ejected: 1, overflows: 1 },
  { hosts: 3, percent: 100, failing: 3, ejected: 3, overflows: 0 },
  { hosts: 3, percent: 0, failing: 3, ejected: 0, overflows: 3 },
];

for (const c of percentCases) {
  test(`outlier: maxEjectionPercent ${c.percent} of ${c.hosts} hosts, ${c.failing} failing ⇒ ${c.ejected} ejected`, () => {
    const hosts = Array.from({ length: c.hosts }, (_, i) => `h${i}`);
    const { d, overflows } = detector({ consecutive5xxErrors: 1, maxEjectionPercent: c.percent }, hosts);
    for (const h of hosts.slice(0, c.failing)) d.report(h, 503);
    assert.equal(d.activeEjections, c.ejected);
    assert.equal(hosts.filter((h) => d.isEjected(h)).length, c.ejected);
    assert.equal(overflows.length, c.overflows);
  });
}

test('outlier: endpoints that leave take their ejection with them; the percentage follows the host count', () => {
  const { d } = detector({ consecutive5xxErrors: 1, maxEjectionPercent: 50 }, ['a', 'b', 'c', 'd']);
  d.report('a', 503);
  d.report('b', 503);
  assert.equal(d.activeEjections, 2);
  d.setHosts(['b', 'c', 'd']);
  assert.equal(d.activeEjections, 1);
  assert.equal(d.dump('a'), undefined);
  d.report('c', 503);
  assert.ok(!d.isEjected('c'), '2 of 3 is over 50 %');
  d.setHosts(['b', 'c', 'd', 'e', 'f']);
  d.report('c', 503);
  assert.ok(d.isEjected('c'), '2 of 5 is within 50 %');
});

test('outlier: the interval sweep runs on a timer between start() and destroy()', async () => {
  const d = new OutlierDetector('c', { consecutive5xxErrors: 1, intervalMs: 10, baseEjectionTimeMs: 30, maxEjectionPercent: 100 }, { ejected: () => {}, overflow: () => {} });
  d.setHosts(['a']);
  d.start();
  d.report('a', 503);
  assert.ok(d.isEjected('a'));
  const deadline = Date.now() + 5000;
  while (d.isEjected('a') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  assert.ok(!d.isEjected('a'));
  d.destroy();
  d.report('a', 503);
  await new Promise((r) => setTimeout(r, 100));
  assert.ok(d.isEjected('a'), 'no sweep after destroy()');
});
