// The load balancer's pickers over socket-free endpoints, with seeded randomness: ROUND_ROBIN,
// RANDOM, LEAST_REQUEST (power of two choices), CONSISTENT_HASH keys and the generated cookie,
// health, ejections and the previous-hosts rule for retries.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cookieToGenerate, cookieValue, hashKey, queryParamValue, type HashInput } from '../../src/waypoint/hash-policy.js';
import { LoadBalancer, type UpstreamEndpoint } from '../../src/waypoint/load-balancer.js';
import type { Cluster, ConsistentHashKey, LoadBalancerPolicy } from '../../src/waypoint/model/route-model.js';
import { cluster, endpoint, endpoints, seeded } from '../helpers/upstream-endpoints.js';

const input = (p: { headers?: Record<string, string | string[]>; query?: string; sourceIp?: string } = {}): HashInput => ({
  headers: new Map(Object.entries(p.headers ?? {}).map(([k, v]) => [k, Array.isArray(v) ? v : [v]])),
  query: p.query ?? '',
  sourceIp: p.sourceIp ?? '10.1.0.1',
});

function tally(lb: LoadBalancer, c: Cluster, eps: readonly UpstreamEndpoint[], n: number, inp: () => HashInput = () => input()): Map<string, number> {
  const out = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const e = lb.pick(c, eps, inp());
    assert.ok(e);
    out.set(e.workload.name, (out.get(e.workload.name) ?? 0) + 1);
  }
  return out;
}

const hashCluster = (key: ConsistentHashKey, extra: Partial<Extract<LoadBalancerPolicy, { kind: 'CONSISTENT_HASH' }>> = {}): Cluster => cluster({ lb: { kind: 'CONSISTENT_HASH', key, ...extra } });

test('ROUND_ROBIN cycles through the healthy endpoints in order', () => {
  const lb = new LoadBalancer(seeded(1));
  const eps = endpoints(3);
  const seq = Array.from({ length: 7 }, () => lb.pick(cluster(), eps, input())!.workload.name);
  assert.deepEqual(seq, ['ep-0', 'ep-1', 'ep-2', 'ep-0', 'ep-1', 'ep-2', 'ep-0']);
});

test('RANDOM spreads evenly (seeded)', () => {
  const counts = tally(new LoadBalancer(seeded(7)), cluster({ lb: { kind: 'RANDOM' } }), endpoints(3), 3000);
  for (const [name, n] of counts) assert.ok(n > 900 && n < 1100, `${name}: ${n}`);
});

test('LEAST_REQUEST: two samples, the one with fewer active requests wins', () => {
  const lb = new LoadBalancer(seeded(3));
  const eps = endpoints(2);
  const c = cluster({ lb: { kind: 'LEAST_REQUEST' } });
  // Equal load: even.
  const even = tally(lb, c, eps, 2000);
  assert.ok(Math.abs(even.get('ep-0')! - 1000) < 120, JSON.stringify([...even]));
  // ep-0 busier: picked only when both samples land on it (with replacement, 1/4 of the picks).
  const releases = [lb.acquire(eps[0]!), lb.acquire(eps[0]!)];
  const skewed = tally(lb, c, eps, 2000);
  const share = skewed.get('ep-0')! / 2000;
  assert.ok(share > 0.2 && share < 0.3, `busy endpoint share ${share}`);
  for (const r of [...releases, ...releases]) r(); // idempotent
  assert.equal(lb.activeRequests(eps[0]!.key), 0);
});

test('unhealthy and ejected endpoints are never picked; none usable ⇒ undefined (503 UH)', () => {
  const ejected = new Set<string>();
  const lb = new LoadBalancer(seeded(5), { health: { ejected: (_c, k) => ejected.has(k) } });
  const eps = [endpoint(0), endpoint(1, { healthy: false }), endpoint(2)];
  for (const policy of ['ROUND_ROBIN', 'RANDOM', 'LEAST_REQUEST'] as const) {
    const counts = tally(lb, cluster({ lb: { kind: policy } }), eps, 300);
    assert.equal(counts.get('ep-1'), undefined, policy);
    ejected.add(eps[0]!.key);
    assert.deepEqual([...tally(lb, cluster({ lb: { kind: policy } }), eps, 50).keys()], ['ep-2'], policy);
    ejected.clear();
  }
  ejected.add(eps[0]!.key).add(eps[2]!.key);
  assert.equal(lb.pick(cluster(), eps, input()), undefined);
  assert.equal(lb.pick(hashCluster({ header: 'x-user' }), eps, input({ headers: { 'x-user': 'a' } })), undefined);
});

test('retries avoid endpoints already tried (previous hosts), except with consistent hashing', () => {
  const lb = new LoadBalancer(seeded(9));
  const eps = endpoints(3);
  for (const policy of ['ROUND_ROBIN', 'RANDOM', 'LEAST_REQUEST'] as const) {
    for (let i = 0; i < 50; i++) {
      const avoid = new Set([eps[0]!.key, eps[1]!.key]);
      assert.equal(lb.pick(cluster({ lb: { kind: policy } }), eps, input(), avoid)?.workload.name, 'ep-2', policy);
    }
    // All tried: any endpoint rather than none.
    assert.ok(lb.pick(cluster({ lb: { kind: policy } }), eps, input(), new Set(eps.map((e) => e.key))));
  }
  const c = hashCluster({ header: 'x-user' });
  const first = lb.pick(c, eps, input({ headers: { 'x-user': 'alice' } }))!;
  assert.equal(lb.pick(c, eps, input({ headers: { 'x-user': 'alice' } }), new Set([first.key]))?.key, first.key);
});

const keyCases: Array<{ name: string; key: ConsistentHashKey; same: HashInput[]; other: HashInput; none: HashInput }> = [
  {
    name: 'header',
    key: { header: 'x-user' },
    same: [input({ headers: { 'x-user': 'alice' } }), input({ headers: { 'x-user': 'alice', other: 'x' }, sourceIp: '10.9.9.9' })],
    other: input({ headers: { 'x-user': 'bob' } }),
    none: input(),
  },
  {
    name: 'cookie',
    key: { cookie: 'session' },
    same: [input({ headers: { cookie: 'a=1; session=s-1' } }), input({ headers: { cookie: ['x=2', 'session="s-1"; b=3'] } })],
    other: input({ headers: { cookie: 'session=s-2' } }),
    none: input({ headers: { cookie: 'sessionx=s-1' } }),
  },
  {
    name: 'source IP',
    key: { sourceIp: true },
    same: [input({ sourceIp: '10.1.2.3' }), input({ sourceIp: '10.1.2.3', headers: { 'x-user': 'z' } })],
    other: input({ sourceIp: '10.1.2.4' }),
    none: input({ sourceIp: '' }),
  },
  {
    name: 'query parameter',
    key: { queryParam: 'user' },
    same: [input({ query: 'user=alice' }), input({ query: 'a=b&user=alice&user=bob' })],
    other: input({ query: 'user=bob' }),
    none: input({ query: 'username=alice' }),
  },
];

for (const kc of keyCases) {
  test(`CONSISTENT_HASH on ${kc.name}: one key, one endpoint; no key ⇒ random`, () => {
    const lb = new LoadBalancer(seeded(11));
    const eps = endpoints(8);
    for (const algo of [{}, { maglev: { tableSize: 65537 } }]) {
      const c = hashCluster(kc.key, algo);
      const k0 = hashKey(kc.key, kc.same[0]!);
      assert.ok(k0 !== undefined);
      for (const s of kc.same) assert.equal(hashKey(kc.key, s), k0);
      assert.notEqual(hashKey(kc.key, kc.other), k0);
      assert.equal(hashKey(kc.key, kc.none), undefined);
      const picked = new Set(kc.same.flatMap((s) => Array.from({ length: 20 }, () => lb.pick(c, eps, s)!.key)));
      assert.equal(picked.size, 1);
      assert.ok(tally(lb, c, eps, 200, () => kc.none).size >= 6, 'keyless requests spread');
    }
  });
}

test('keys spread over the endpoints: 400 users over 4 endpoints, none with under 15 %', () => {
  const lb = new LoadBalancer(seeded(2));
  const c = hashCluster({ header: 'x-user' });
  const counts = new Map<string, number>();
  for (let i = 0; i < 400; i++) {
    const e = lb.pick(c, endpoints(4), input({ headers: { 'x-user': `user-${i}` } }))!;
    counts.set(e.key, (counts.get(e.key) ?? 0) + 1);
  }
  assert.equal(counts.size, 4);
  for (const n of counts.values()) assert.ok(n >= 60, String(n));
});

test('query and cookie parsing follows Envoy', () => {
  assert.equal(queryParamValue('a=1&b=2&a=3', 'a'), '1');
  assert.equal(queryParamValue('flag&x=1', 'flag'), '');
  assert.equal(queryParamValue('x=%41', 'x'), '%41');
  assert.equal(queryParamValue('', 'x'), undefined);
  assert.equal(cookieValue(new Map([['cookie', [' a = 1 ;b=2']]]), 'a'), '1');
  assert.equal(cookieValue(new Map([['cookie', ['a=""']]]), 'a'), '');
  assert.equal(cookieValue(new Map([['cookie', ['a=1', 'a=2']]]), 'a'), '1');
});

test('a cookie key with a ttl generates the cookie when absent: per connection, Envoy format', () => {
  const lb: LoadBalancerPolicy = { kind: 'CONSISTENT_HASH', key: { cookie: 'affinity', ttlMs: 3_600_000, path: '/api' } };
  const g = cookieToGenerate(lb, input(), '10.1.0.1:40000|reviews');
  assert.ok(g);
  assert.match(g.value, /^[0-9a-f]{16}$/);
  assert.equal(g.setCookie, `affinity="${g.value}"; Max-Age=3600; Path=/api; HttpOnly`);
  assert.equal(cookieToGenerate(lb, input(), '10.1.0.1:40000|reviews')?.value, g.value);
  assert.notEqual(cookieToGenerate(lb, input(), '10.1.0.1:40001|reviews')?.value, g.value);
  // Present ⇒ nothing generated; no ttl ⇒ never; ttl 0 ⇒ a session cookie (no Max-Age), no path ⇒ none.
  assert.equal(cookieToGenerate(lb, input({ headers: { cookie: 'affinity=x' } }), 'c'), undefined);
  assert.equal(cookieToGenerate({ kind: 'CONSISTENT_HASH', key: { cookie: 'affinity' } }, input(), 'c'), undefined);
  assert.equal(cookieToGenerate({ kind: 'CONSISTENT_HASH', key: { header: 'x' } }, input(), 'c'), undefined);
  const session = cookieToGenerate({ kind: 'CONSISTENT_HASH', key: { cookie: 'affinity', ttlMs: 0 } }, input(), 'c');
  assert.equal(session?.setCookie, `affinity="${session?.value}"; HttpOnly`);
  // The generated value hashes like the cookie sent back later, quoted or not.
  const balancer = new LoadBalancer(seeded(4));
  const c = cluster({ lb });
  const eps = endpoints(6);
  const first = balancer.pick(c, eps, { ...input(), generatedCookie: g.value })!;
  for (const sent of [`affinity="${g.value}"`, `affinity=${g.value}`]) assert.equal(balancer.pick(c, eps, input({ headers: { cookie: sent } }))?.key, first.key);
});
