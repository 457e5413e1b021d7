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

/** Envoy's ring_hash defaults and bounds (RingHashLbConfig minimum_ring_size / maximum_ring_size). */
export const DEFAULT_MIN_RING_SIZE = 1024;
export const MAX_RING_SIZE = 8 * 1024 * 1024;

/** A consistent-hash table: key hash → one of the endpoints it was built from. */
export interface HashTable<T> {
  pick(hash: number): T | undefined;
  readonly size: number;
}

/**
 * The ring over `hosts` (each named by `name`, Envoy hashes the host address), equal weights:
 * every host gets ⌈minRingSize / n⌉ points `name_i` (Envoy: scale = ⌈min·w⌉/w for the smallest
 * normalized weight w = 1/n). Invariant: points sorted by hash; lookup is a binary search, so a
 * key moves only when the points around it change — about 1/N of keys when one host of N is
 * added or removed.
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
    const perHost = n === 0 ? 0 : Math.ceil(Math.min(Math.max(1, minRingSize), MAX_RING_SIZE) / n);
    const points: Array<{ h: number; i: number }> = [];
    for (let i = 0; i < n; i++) {
      const base = name(hosts[i]!);
      for (let j = 0; j < perHost; j++) points.push({ h: murmur3(`${base}_${j}`), i });
    }
    // Ties (two points with the same hash) resolve by host order, deterministically.
    points.sort((a, b) => a.h - b.h || a.i - b.i);
    this.hashes = Uint32Array.from(points, (p) => p.h);
    this.owners = Uint32Array.from(points, (p) => p.i);
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
