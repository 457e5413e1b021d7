// The consistent-hash tables: MurmurHash3 vectors, ring sizes after Envoy's ring_hash, stable
// mapping, balance, and the ~1/N disruption when one endpoint of N is added or removed (ring and Maglev).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { murmur3, RingHash, type HashTable } from '../../src/waypoint/hash-ring.js';
import { MaglevTable } from '../../src/waypoint/maglev-table.js';

const KEYS = Array.from({ length: 20_000 }, (_, i) => murmur3(`user-${i}`));
const hosts = (n: number, from = 0): string[] => Array.from({ length: n }, (_, i) => `10.0.0.${from + i}:8080`);
const id = (h: string): string => h;

type Make = (hs: readonly string[]) => HashTable<string>;
const ALGOS: Array<{ name: string; make: Make; removeSlack: number }> = [
  { name: 'ring hash', make: (hs) => new RingHash(hs, id), removeSlack: 0 },
  // Maglev reassigns a little beyond the removed host's own slots (the permutations refill).
  { name: 'maglev', make: (hs) => new MaglevTable(hs, id, 65537), removeSlack: 0.03 },
];

test('murmur3 x86_32 matches the reference vectors', () => {
  const vectors: Array<[string, number, number]> = [
    ['', 0, 0],
    ['', 1, 0x514e28b7],
    ['hello', 0, 0x248bfa47],
    ['The quick brown fox jumps over the lazy dog', 0, 0x2e4ff723],
  ];
  for (const [s, seed, want] of vectors) assert.equal(murmur3(s, seed), want, `murmur3(${JSON.stringify(s)}, ${seed})`);
});

test('ring size: minimumRingSize points per host, the whole ring capped at 2^17', () => {
  const cases: Array<{ n: number; min?: number; size: number }> = [
    { n: 1, size: 1024 },
    { n: 3, size: 3072 },
    { n: 4, min: 64, size: 256 },
    { n: 2048, size: 1 << 17 },
  ];
  for (const c of cases) assert.equal(new RingHash(hosts(c.n), id, c.min).size, c.size, `n=${c.n} min=${c.min}`);
  assert.equal(new RingHash([], id).pick(123), undefined);
  assert.equal(new MaglevTable([], id).pick(123), undefined);
});

for (const algo of ALGOS) {
  test(`${algo.name}: the mapping depends only on the host set, not its order`, () => {
    const hs = hosts(7);
    const a = algo.make(hs);
    const b = algo.make([...hs].reverse());
    for (const k of KEYS.slice(0, 5000)) assert.equal(a.pick(k), b.pick(k));
  });

  test(`${algo.name}: keys spread evenly over the hosts`, () => {
    const t = algo.make(hosts(10));
    const counts = new Map<string, number>();
    for (const k of KEYS) counts.set(t.pick(k)!, (counts.get(t.pick(k)!) ?? 0) + 1);
    assert.equal(counts.size, 10);
    for (const [h, c] of counts) {
      const share = c / KEYS.length;
      assert.ok(share > 0.05 && share < 0.15, `${h} got ${(share * 100).toFixed(1)} %`);
    }
  });

  for (const n of [5, 10, 20]) {
    test(`${algo.name}: removing one of ${n} hosts moves only about 1/${n} of the keys`, () => {
      const before = algo.make(hosts(n));
      const removed = `10.0.0.${n - 1}:8080`;
      const after = algo.make(hosts(n - 1));
      let moved = 0;
      let movedOthers = 0;
      for (const k of KEYS) {
        const was = before.pick(k)!;
        if (after.pick(k) !== was) {
          moved++;
          if (was !== removed) movedOthers++;
        }
      }
      const owned = KEYS.filter((k) => before.pick(k) === removed).length;
      assert.ok(moved >= owned, 'every key of the removed host moves');
      assert.ok(movedOthers / KEYS.length <= algo.removeSlack, `${movedOthers} keys of other hosts moved`);
      assert.ok(moved / KEYS.length < 2 / n, `${((moved / KEYS.length) * 100).toFixed(1)} % moved`);
    });

    test(`${algo.name}: adding a host to ${n} moves about 1/${n + 1} of the keys, to the new host`, () => {
      const before = algo.make(hosts(n));
      const added = `10.0.0.${n}:8080`;
      const after = algo.make(hosts(n + 1));
      let moved = 0;
      let elsewhere = 0;
      for (const k of KEYS) {
        if (after.pick(k) === before.pick(k)) continue;
        moved++;
        if (after.pick(k) !== added) elsewhere++;
      }
      const share = moved / KEYS.length;
      assert.ok(share > 0.4 / (n + 1) && share < 2 / (n + 1), `${(share * 100).toFixed(1)} % moved`);
      assert.ok(elsewhere / KEYS.length <= algo.removeSlack, `${elsewhere} keys moved between old hosts`);
    });
  }
}
