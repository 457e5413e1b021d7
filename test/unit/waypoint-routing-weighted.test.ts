// Tests of the random choices on the request path with deterministic random sequences: weighted
// backend choice (shares, zero weights, empty sums) and percentages (mirror, fault).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chance, pickWeighted } from '../../src/waypoint/routing/index.js';

/** A `random` that returns 0, 1/n, 2/n, ... (n-1)/n: every share is hit exactly in n draws. */
function evenly(n: number): () => number {
  let i = 0;
  return () => (i++ % n) / n;
}

/** mulberry32: a small seeded PRNG, so "random" runs are reproducible. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function tally(weights: number[], random: () => number, draws: number): number[] {
  const items = weights.map((weight, i) => ({ weight, i }));
  const counts = weights.map(() => 0);
  for (let d = 0; d < draws; d++) {
    const picked = pickWeighted(items, random);
    assert.ok(picked !== undefined);
    counts[picked.i]!++;
  }
  return counts;
}

const exactShares: Array<{ weights: number[]; draws: number; want: number[] }> = [
  { weights: [1, 3], draws: 1000, want: [250, 750] },
  { weights: [1, 1, 2], draws: 1000, want: [250, 250, 500] },
  { weights: [0, 1, 0, 1], draws: 1000, want: [0, 500, 0, 500] },
  { weights: [5], draws: 10, want: [10] },
  { weights: [0, 0, 7], draws: 10, want: [0, 0, 10] },
  { weights: [90, 10], draws: 100, want: [90, 10] },
  { weights: [1_000_000, 1], draws: 1_000_001, want: [1_000_000, 1] },
];

for (const c of exactShares) {
  test(`pickWeighted gives exact shares over an even sequence: weights ${c.weights.join(',')}`, () => {
    assert.deepEqual(tally(c.weights, evenly(c.draws), c.draws), c.want);
  });
}

test('pickWeighted under a seeded PRNG stays within 2 points of each share', () => {
  const counts = tally([20, 30, 50], seeded(42), 20_000);
  const shares = counts.map((n) => (100 * n) / 20_000);
  [20, 30, 50].forEach((want, i) => assert.ok(Math.abs(shares[i]! - want) < 2, `share ${i}: ${shares[i]} vs ${want}`));
});

test('pickWeighted boundaries and empty sums', () => {
  const items = [{ weight: 0, n: 'a' }, { weight: 2, n: 'b' }, { weight: 2, n: 'c' }, { weight: 0, n: 'd' }];
  assert.equal(pickWeighted(items, () => 0)?.n, 'b');
  assert.equal(pickWeighted(items, () => 0.4999)?.n, 'b');
  assert.equal(pickWeighted(items, () => 0.5)?.n, 'c');
  assert.equal(pickWeighted(items, () => 0.999999999)?.n, 'c');
  assert.equal(pickWeighted([], () => 0), undefined);
  assert.equal(pickWeighted([{ weight: 0 }, { weight: 0 }], () => 0), undefined);
  assert.equal(pickWeighted([{ weight: -1 }, { weight: Number.NaN }], () => 0.5), undefined);
  assert.deepEqual(pickWeighted([{ weight: -5 }, { weight: 1 }], () => 0), { weight: 1 });
});

const chanceCases: Array<{ percent: number; draws: number; want: number }> = [
  { percent: 0, draws: 1000, want: 0 },
  { percent: 100, draws: 1000, want: 1000 },
  { percent: 50, draws: 1000, want: 500 },
  { percent: 0.5, draws: 10_000, want: 50 },
  { percent: 33.3, draws: 1000, want: 333 },
  { percent: -1, draws: 100, want: 0 },
  { percent: 150, draws: 100, want: 100 },
];

for (const c of chanceCases) {
  test(`chance(${c.percent}) over an even sequence of ${c.draws}`, () => {
    const random = evenly(c.draws);
    let hits = 0;
    for (let d = 0; d < c.draws; d++) if (chance(c.percent, random)) hits++;
    assert.equal(hits, c.want);
  });
}

test('chance: 0 never even at random()=0, 100 always even near 1', () => {
  assert.equal(chance(0, () => 0), false);
  assert.equal(chance(100, () => 0.9999999), true);
  assert.equal(chance(50, () => 0.49), true);
  assert.equal(chance(50, () => 0.5), false);
});
