// Envoy's ring hash load balancer table (source/extensions/load_balancing_policies/ring_hash):
// each endpoint owns points on a 32-bit ring, a key goes to the first point at or after its hash.

/**
 * MurmurHash3 x86 32-bit of the UTF-8 bytes of `s`. Envoy hashes with xxHash64; any well-mixed
 * hash gives the same ring properties, and a 32-bit one keeps the arithmetic in plain numbers.
 */
export function murmur3(s: string, seed = 0): number {
  const data = Buffer.from(s, 'utf8');
  const len = data.length;
  const c1 = 0xcc9e2d51;
  const c2 = 0x1b873593;
  let h = seed >>> 0;
  const blocks = len - (len % 4);
  for (let i = 0; i < blocks; i += 4) {
    let k = (data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24)) >>> 0;
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, c2);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) >>> 0;
  }
  const tail = len & 3;
  if (tail > 0) {
    let k = 0;
    if (tail === 3) k ^= data[blocks + 2]! << 16;
    if (tail >= 2) k ^= data[blocks + 1]! << 8;
    k ^= data[blocks]!;
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, c2);
    h ^= k;
  }
  h ^= len;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Envoy's ring_hash default (RingHashLbConfig minimum_ring_size). */
export const DEFAULT_MIN_RING_SIZE = 1024;
/**
 * Points on one ring at most: up to 128 hosts keep minimumRingSize points each. Envoy allows 8M,
 * but a ring is built on the event loop (~10-30 ms per 100k points).
 */
export const MAX_RING_POINTS = 1 << 17;

/** A consistent-hash table: key hash → one of the endpoints it was built from. */
export interface HashTable<T> {
  pick(hash: number): T | undefined;
  readonly size: number;
}

/** The murmur3 finalizer: a well-mixed 32-bit value from a host's hash and a point index. */
function pointHash(base: number, j: number): number {
  let h = (base ^ Math.imul(j + 1, 0x9e3779b1)) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * The ring over `hosts` (each named by `name`; Envoy hashes the host address), equal weights.
 * Envoy gives each host ⌈minimumRingSize / n⌉ points, so every host's points change when n does
 * and about 2/N of the keys move on one change; here every host has minimumRingSize points
 * (fewer only past MAX_RING_POINTS in all), derived from its name alone: the ring is never
 * smaller than Envoy's, and adding or removing one host of N moves only the keys on that host's
 * arcs, about 1/N. Lookup: the first point at or after the key's hash, wrapping around.
 */
export class RingHash<T> implements HashTable<T> {
  private readonly hashes: Uint32Array;
  private readonly owners: Uint32Array;

  constructor(
    private readonly hosts: readonly T[],
    name: (host: T) => string,
    minRingSize = DEFAULT_MIN_RING_SIZE,
  ) {
    const n = hosts.length;
    const perHost = n === 0 ? 0 : Math.max(1, Math.min(Math.max(1, Math.floor(minRingSize)), Math.floor(MAX_RING_POINTS / n)));
    // One float per point: hash · 2^21 + host index (exact below 2^53), sorted numerically, so
    // ties between two hosts' points resolve by host index.
    const packed = new Float64Array(n * perHost);
    for (let i = 0; i < n; i++) {
      const base = murmur3(name(hosts[i]!));
      for (let j = 0; j < perHost; j++) packed[i * perHost + j] = pointHash(base, j) * 2_097_152 + i;
    }
    packed.sort();
    this.hashes = new Uint32Array(packed.length);
    this.owners = new Uint32Array(packed.length);
    for (let k = 0; k < packed.length; k++) {
      const v = packed[k]!;
      const i = v % 2_097_152;
      this.owners[k] = i;
      this.hashes[k] = (v - i) / 2_097_152;
    }
  }

  get size(): number {
    return this.hashes.length;
  }

  pick(hash: number): T | undefined {
    const ring = this.hashes;
    if (ring.length === 0) return undefined;
    let lo = 0;
    let hi = ring.length;
    const h = hash >>> 0;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (ring[mid]! < h) lo = mid + 1;
      else hi = mid;
    }
    return this.hosts[this.owners[lo === ring.length ? 0 : lo]!];
  }
}
