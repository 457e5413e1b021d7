// The comparison behind the load generator's check against hey: p50, p90 and p99 each within a
// relative tolerance of hey's figure, widened only by hey's 0.1 ms rounding; any outlier fails it.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { comparePercentiles, DEFAULT_PERCENTILE_TOLERANCE, parseHeyOutput } from '../../bench/lib/index.js';

const HEY_MS = { '10': 4.1, '50': 10.2, '90': 21.1, '99': 41.3 };
const tol = { relative: 0.2, resolutionMs: 0.1 };

test('percentiles comparison: figures within 20% of hey agree, on every quantile', () => {
  const c = comparePercentiles({ p50: 10.1, p90: 20.6, p99: 40.9 }, HEY_MS, tol);
  assert.equal(c.agree, true);
  assert.deepEqual(c.quantiles.map((q) => [q.quantile, q.heyMs, q.agree]), [
    ['p50', 10.2, true],
    ['p90', 21.1, true],
    ['p99', 41.3, true],
  ]);
  // The band is hey ± its rounding, then ± 20%: [(10.2 − 0.05)·0.8, (10.2 + 0.05)·1.2].
  const p50 = c.quantiles[0]!;
  assert.ok(Math.abs(p50.lowMs - 8.12) < 1e-9 && Math.abs(p50.highMs - 12.3) < 1e-9, JSON.stringify(p50));
  // Just inside the edges still agrees.
  assert.equal(comparePercentiles({ p50: 8.13, p90: 21.1, p99: 49.6 }, HEY_MS, tol).agree, true);
});

test('percentiles comparison: one quantile off by more than the tolerance fails the whole check', () => {
  // p99 30% high (e.g. a generator that charges its own lateness to the slow requests).
  const high = comparePercentiles({ p50: 10.2, p90: 21.1, p99: 41.3 * 1.3 }, HEY_MS, tol);
  assert.equal(high.agree, false);
  assert.deepEqual(high.quantiles.map((q) => q.agree), [true, true, false]);
  // p50 30% low.
  assert.equal(comparePercentiles({ p50: 7.1, p90: 21.1, p99: 41.3 }, HEY_MS, tol).agree, false);
  // p90 off while p50 and p99 agree.
  assert.equal(comparePercentiles({ p50: 10.2, p90: 26, p99: 41.3 }, HEY_MS, tol).agree, false);
});

test('percentiles comparison: sub-millisecond figures are not waved through by an absolute allowance', () => {
  // The old check accepted any two p50s within 1 ms of each other: 0.9 vs 0.3 ms passed.
  const c = comparePercentiles({ p50: 0.9, p90: 1.2, p99: 2 }, { '50': 0.3, '90': 0.4, '99': 0.7 });
  assert.equal(c.agree, false);
  assert.deepEqual(c.quantiles.map((q) => q.agree), [false, false, false]);
  // hey's rounding is the only allowance: 0.3 ms printed stands for 0.25..0.35 ms, ±20% → 0.2..0.42.
  assert.equal(comparePercentiles({ p50: 0.41, p90: 0.47, p99: 0.8 }, { '50': 0.3, '90': 0.4, '99': 0.7 }).agree, true);
  assert.equal(comparePercentiles({ p50: 0.43, p90: 0.47, p99: 0.8 }, { '50': 0.3, '90': 0.4, '99': 0.7 }).agree, false);
});

test('percentiles comparison: a missing or non-finite figure on either side fails', () => {
  const noP99 = comparePercentiles({ p50: 10.2, p90: 21.1, p99: 41.3 }, { '50': 10.2, '90': 21.1 }, tol);
  assert.equal(noP99.agree, false);
  assert.ok(Number.isNaN(noP99.quantiles[2]!.heyMs));
  assert.equal(comparePercentiles({ p50: NaN, p90: 21.1, p99: 41.3 }, HEY_MS, tol).agree, false);
  assert.deepEqual(DEFAULT_PERCENTILE_TOLERANCE, { relative: 0.2, resolutionMs: 0.1 });
});

test('hey parser: 4-decimal seconds become exact tenths of a ms', () => {
  const h = parseHeyOutput('Requests/sec:\t160.1\n\nLatency distribution:\n  50% in 0.0059 secs\n  99% in 0.0413 secs\n\n');
  assert.deepEqual(h.percentilesMs, { '50': 5.9, '99': 41.3 });
});
