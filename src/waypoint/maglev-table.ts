// Envoy's Maglev load balancer table (source/extensions/load_balancing_policies/maglev, after
// Eisenbud et al., "Maglev", NSDI 2016): a prime-sized lookup table filled by per-host permutations.

import { murmur3, type HashTable } from './hash-ring.js';

/** Istio's and Envoy's default table size (DestinationRule consistentHash.maglev.tableSize). */
export const DEFAULT_MAGLEV_TABLE_SIZE = 65537;

/**
 * Equal weights: hosts take turns claiming the next free slot of their own permutation
 * (offset = h0 mod M, skip = h1 mod (M-1) + 1, M prime), so every host owns ⌊M/n⌋ or ⌈M/n⌉
 * slots and removing one host reassigns mostly its own slots.
 */
export class MaglevTable<T> implements HashTable<T> {
  private readonly table: Int32Array;

  private readonly hosts: readonly T[];

  constructor(hosts: readonly T[], name: (host: T) => string, tableSize = DEFAULT_MAGLEV_TABLE_SIZE) {
    // The fill order decides ties, so the table is built over the hosts sorted by name: the same
    // host set gives the same table whatever order the mesh state lists it in.
    const named = hosts.map((h) => ({ h, key: name(h) })).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    this.hosts = named.map((x) => x.h);
    const m = tableSize;
    const n = named.length;
    this.table = new Int32Array(n === 0 ? 0 : m).fill(-1);
    if (n === 0) return;
    const offset = new Float64Array(n);
    const skip = new Float64Array(n);
    const next = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const key = named[i]!.key;
      offset[i] = murmur3(key, 0) % m;
      skip[i] = (murmur3(key, 1) % (m - 1)) + 1;
    }
    let filled = 0;
    while (filled < m) {
      for (let i = 0; i < n && filled < m; i++) {
        const o = offset[i]!;
        const s = skip[i]!;
        let j = next[i]!;
        let c = (o + j * s) % m;
        while (this.table[c]! >= 0) {
          j++;
          c = (o + j * s) % m;
        }
        this.table[c] = i;
        next[i] = j + 1;
        filled++;
      }
    }
  }

  get size(): number {
    return this.table.length;
  }

  pick(hash: number): T | undefined {
    if (this.table.length === 0) return undefined;
    return this.hosts[this.table[(hash >>> 0) % this.table.length]!];
  }
}
