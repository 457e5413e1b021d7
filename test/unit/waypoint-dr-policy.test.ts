// DestinationRule traffic policy → waypoint Cluster fields: load balancer (simple, consistent hash,
// locality), connection pool → circuit breaker and connect timeout, outlier detection with Istio's
// defaults, port-level and subset overrides (istiod MergeTrafficPolicy); applied to the Service's
// own clusters, HTTPRoute backends and subset clusters; problems named by field path.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../src/k8s/index.js';
import type { Cluster } from '../../src/waypoint/model/route-model.js';
import { decodeWaypointConfig, encodeWaypointConfig } from '../../src/xds/index.js';
import { pod } from '../helpers/k8s-objects.js';
import { cluster, clusterOf, destinationRule, meshWithWaypoint, route, svc, toService, translateWp, virtualService } from '../helpers/waypoint-objects.js';

const DEFAULTS: Partial<Cluster> = { lb: { kind: 'LEAST_REQUEST' }, connectTimeoutMs: 10_000 };
const OUTLIER_DEFAULTS = { consecutive5xxErrors: 5, intervalMs: 10_000, baseEjectionTimeMs: 30_000, maxEjectionPercent: 10 };

/** The policy fields of reviews:80's own cluster under a DR with `trafficPolicy`, and the problems. */
function policy(trafficPolicy: Record<string, unknown>, ...extra: KubeObject[]) {
  const t = translateWp(meshWithWaypoint(svc('reviews'), destinationRule('dr', { host: 'reviews', trafficPolicy }), ...extra));
  const c = clusterOf(t, cluster('reviews'));
  const { name: _n, hostname: _h, namespace: _ns, port: _p, ...fields } = c;
  return { fields, problems: t.problems };
}

test('load balancer: simple policies, consistent hash keys, locality settings', () => {
  const rows: [string, Record<string, unknown>, Partial<Cluster>][] = [
    ['ROUND_ROBIN', { simple: 'ROUND_ROBIN' }, { lb: { kind: 'ROUND_ROBIN' } }],
    ['RANDOM', { simple: 'RANDOM' }, { lb: { kind: 'RANDOM' } }],
    ['LEAST_REQUEST', { simple: 'LEAST_REQUEST' }, { lb: { kind: 'LEAST_REQUEST' } }],
    ['LEAST_CONN (deprecated alias)', { simple: 'LEAST_CONN' }, { lb: { kind: 'LEAST_REQUEST' } }],
    ['UNSPECIFIED', { simple: 'UNSPECIFIED' }, { lb: { kind: 'LEAST_REQUEST' } }],
    ['hash on a header (name lower-cased)', { consistentHash: { httpHeaderName: 'X-User' } }, { lb: { kind: 'CONSISTENT_HASH', key: { header: 'x-user' } } }],
    ['hash on source IP', { consistentHash: { useSourceIp: true } }, { lb: { kind: 'CONSISTENT_HASH', key: { sourceIp: true } } }],
    ['hash on a query parameter', { consistentHash: { httpQueryParameterName: 'user' } }, { lb: { kind: 'CONSISTENT_HASH', key: { queryParam: 'user' } } }],
    ['hash on a cookie, generated with path and ttl', { consistentHash: { httpCookie: { name: 'sticky', path: '/', ttl: '1h' } } },
      { lb: { kind: 'CONSISTENT_HASH', key: { cookie: 'sticky', path: '/', ttlMs: 3_600_000 } } }],
    ['hash on a cookie without ttl (not generated)', { consistentHash: { httpCookie: { name: 'sid' } } }, { lb: { kind: 'CONSISTENT_HASH', key: { cookie: 'sid' } } }],
    ['locality failover', { simple: 'ROUND_ROBIN', localityLbSetting: { enabled: true, failover: [{ from: 'us-east', to: 'us-west' }] } },
      { lb: { kind: 'ROUND_ROBIN' }, localityLb: { enabled: true, failover: [{ from: 'us-east', to: 'us-west' }] } }],
    ['locality distribute and failoverPriority', { localityLbSetting: { distribute: [{ from: 'r/z/*', to: { 'r/z/*': 80, 'r2/*': 20 } }], failoverPriority: ['topology.kubernetes.io/zone'] } },
      { lb: { kind: 'LEAST_REQUEST' }, localityLb: { distribute: [{ from: 'r/z/*', to: { 'r/z/*': 80, 'r2/*': 20 } }], failoverPriority: ['topology.kubernetes.io/zone'] } }],
  ];
  for (const [what, lb, expected] of rows) {
    const { fields, problems } = policy({ loadBalancer: lb });
    assert.deepEqual(fields, { protocol: 'http1', connectTimeoutMs: 10_000, ...expected }, what);
    assert.deepEqual(problems, [], what);
  }
});

test('connection pool → circuit breaker limits and connect timeout; h2UpgradePolicy UPGRADE speaks HTTP/2', () => {
  const { fields, problems } = policy({
    connectionPool: {
      tcp: { maxConnections: 100, connectTimeout: '250ms', tcpKeepalive: { time: '7200s' } },
      http: { http1MaxPendingRequests: 10, http2MaxRequests: 1000, maxRequestsPerConnection: 1, maxRetries: 3, h2UpgradePolicy: 'UPGRADE', idleTimeout: '1h' },
    },
  });
  assert.deepEqual(fields, {
    ...DEFAULTS,
    protocol: 'http2',
    connectTimeoutMs: 250,
    circuitBreaker: { maxConnections: 100, maxPendingRequests: 10, maxRequests: 1000, maxRequestsPerConnection: 1, maxRetries: 3 },
  });
  assert.deepEqual(problems, [
    "warning DestinationRule/default/dr spec.trafficPolicy.connectionPool.tcp.tcpKeepalive: tcpKeepalive is not supported by Ambit's waypoint; ignored",
    "warning DestinationRule/default/dr spec.trafficPolicy.connectionPool.http.idleTimeout: idleTimeout is not supported by Ambit's waypoint; ignored",
  ]);
  // 0 means Istio's default (no limit): the model leaves it out.
  assert.deepEqual(policy({ connectionPool: { tcp: { maxConnections: 0 }, http: { maxRequestsPerConnection: 0 } } }).fields, { ...DEFAULTS, protocol: 'http1' });
});

test('outlier detection: Istio defaults, 0 disables 5xx ejection, the deprecated consecutiveErrors counts gateway errors only', () => {
  const rows: [string, Record<string, unknown>, unknown][] = [
    ['defaults', {}, OUTLIER_DEFAULTS],
    ['all set', { consecutive5xxErrors: 3, consecutiveGatewayErrors: 2, interval: '5m', baseEjectionTime: '15m', maxEjectionPercent: 50 },
      { consecutive5xxErrors: 3, consecutiveGatewayErrors: 2, intervalMs: 300_000, baseEjectionTimeMs: 900_000, maxEjectionPercent: 50 }],
    ['5xx disabled', { consecutive5xxErrors: 0, consecutiveGatewayErrors: 4 }, { ...OUTLIER_DEFAULTS, consecutive5xxErrors: 0, consecutiveGatewayErrors: 4 }],
    ['consecutiveErrors (deprecated)', { consecutiveErrors: 7 }, { ...OUTLIER_DEFAULTS, consecutive5xxErrors: 0, consecutiveGatewayErrors: 7 }],
  ];
  for (const [what, od, expected] of rows) {
    assert.deepEqual(policy({ outlierDetection: od }).fields.outlierDetection, expected, what);
  }
  assert.deepEqual(policy({ outlierDetection: { consecutiveErrors: 7 } }).problems, [
    'warning DestinationRule/default/dr spec.trafficPolicy.outlierDetection.consecutiveErrors: deprecated: counts gateway errors (502, 503, 504) only, as istiod maps it; use consecutiveGatewayErrors or consecutive5xxErrors',
  ]);
});

test('invalid or unsupported policy fields are reported by field path; the rest of the policy applies', () => {
  const rows: [string, Record<string, unknown>, Partial<Cluster>, string][] = [
    ['PASSTHROUGH refused', { loadBalancer: { simple: 'PASSTHROUGH' }, connectionPool: { tcp: { maxConnections: 1 } } }, { circuitBreaker: { maxConnections: 1 } },
      'error DestinationRule/default/dr spec.trafficPolicy.loadBalancer.simple: PASSTHROUGH (connect to the original destination address) has no meaning at a waypoint, which picks a service endpoint; the default LEAST_REQUEST is used'],
    ['consistentHash without a key', { loadBalancer: { consistentHash: {} } }, {},
      'error DestinationRule/default/dr spec.trafficPolicy.loadBalancer.consistentHash: exactly one of httpHeaderName, httpCookie, useSourceIp, httpQueryParameterName must be set (got none); the default LEAST_REQUEST is used'],
    ['bad connect timeout', { connectionPool: { tcp: { connectTimeout: 'fast' } } }, {},
      'error DestinationRule/default/dr spec.trafficPolicy.connectionPool.tcp.connectTimeout: "fast" is not a positive duration; the default 10s is used'],
    ['ring size', { loadBalancer: { consistentHash: { useSourceIp: true, minimumRingSize: 4096 } } }, { lb: { kind: 'CONSISTENT_HASH', key: { sourceIp: true } } },
      "warning DestinationRule/default/dr spec.trafficPolicy.loadBalancer.consistentHash.minimumRingSize: the hash ring size is fixed in Ambit's waypoint; ignored"],
    ['tls other than ISTIO_MUTUAL', { tls: { mode: 'SIMPLE' } }, {},
      'warning DestinationRule/default/dr spec.trafficPolicy.tls.mode: TLS mode SIMPLE is not applied: the waypoint reaches mesh endpoints over HBONE (mutual TLS) only'],
  ];
  for (const [what, tp, expected, problem] of rows) {
    const r = policy(tp);
    assert.deepEqual(r.fields, { ...DEFAULTS, protocol: 'http1', ...expected }, what);
    assert.deepEqual(r.problems, [problem], what);
  }
});

test('portLevelSettings replace the top-level policies for their port; subsets override field by field, then their own port settings', () => {
  const t = translateWp(meshWithWaypoint(
    svc('reviews', { selector: { app: 'reviews' }, ports: [{ name: 'http', port: 80 }, { name: 'http-admin', port: 8080 }] }),
    pod('r1', { labels: { app: 'reviews', version: 'v1' } }),
    destinationRule('dr', {
      host: 'reviews',
      trafficPolicy: {
        loadBalancer: { simple: 'ROUND_ROBIN' },
        connectionPool: { tcp: { maxConnections: 10 } },
        portLevelSettings: [{ port: { number: 8080 }, loadBalancer: { simple: 'RANDOM' } }],
      },
      subsets: [
        { name: 'v1', labels: { version: 'v1' }, trafficPolicy: { outlierDetection: { consecutive5xxErrors: 2 }, portLevelSettings: [{ port: { number: 8080 }, connectionPool: { tcp: { maxConnections: 1 } } }] } },
      ],
    }),
    virtualService('vs', { hosts: ['reviews'], http: [{ route: [{ destination: { host: 'reviews', subset: 'v1' } }] }] }),
  ));
  const f = (name: string): Partial<Cluster> => {
    const { lb, circuitBreaker, outlierDetection } = clusterOf(t, name);
    return { lb, circuitBreaker, outlierDetection };
  };
  assert.deepEqual(f(cluster('reviews', 80)), { lb: { kind: 'ROUND_ROBIN' }, circuitBreaker: { maxConnections: 10 }, outlierDetection: undefined });
  // Port-level settings are not inherited: the 8080 cluster has no connection pool limits.
  assert.deepEqual(f(cluster('reviews', 8080)), { lb: { kind: 'RANDOM' }, circuitBreaker: undefined, outlierDetection: undefined });
  const od = { ...OUTLIER_DEFAULTS, consecutive5xxErrors: 2 };
  assert.deepEqual(f('outbound|80|v1|reviews.default.svc.cluster.local'), { lb: { kind: 'ROUND_ROBIN' }, circuitBreaker: { maxConnections: 10 }, outlierDetection: od });
  // The subset's own port settings replace all four policies for 8080.
  assert.deepEqual(f('outbound|8080|v1|reviews.default.svc.cluster.local'), { lb: { kind: 'LEAST_REQUEST' }, circuitBreaker: { maxConnections: 1 }, outlierDetection: undefined });
  assert.deepEqual(clusterOf(t, 'outbound|8080|v1|reviews.default.svc.cluster.local').workloadUids, ['c1//Pod/default/r1']);
  assert.deepEqual(t.problems, []);
});

test('a DestinationRule applies to HTTPRoute backends of its host too', () => {
  const t = translateWp(meshWithWaypoint(
    svc('reviews'), svc('ratings', { ports: [{ name: 'http', port: 9080 }] }),
    destinationRule('dr', { host: 'ratings.default.svc.cluster.local', trafficPolicy: { loadBalancer: { simple: 'RANDOM' } } }),
    route('r', { parentRefs: toService('reviews'), rules: [{ backendRefs: [{ name: 'ratings', port: 9080 }] }] }),
  ));
  assert.deepEqual(clusterOf(t, cluster('ratings', 9080)).lb, { kind: 'RANDOM' });
  assert.deepEqual(clusterOf(t, cluster('reviews')).lb, { kind: 'LEAST_REQUEST' });
});

test('which DestinationRule: the waypoint\'s namespace, then the Service\'s, then the root namespace; exact host before wildcards; exportTo', () => {
  const lbOf = (...drs: KubeObject[]): unknown => clusterOf(translateWp(meshWithWaypoint(svc('reviews'), ...drs)), cluster('reviews')).lb;
  const dr = (name: string, host: string, simple: string, o: { ns?: string; exportTo?: string[] } = {}): KubeObject =>
    destinationRule(name, { host, ...(o.exportTo ? { exportTo: o.exportTo } : {}), trafficPolicy: { loadBalancer: { simple } } }, { ns: o.ns ?? 'default' });
  assert.deepEqual(lbOf(dr('root', 'reviews.default.svc.cluster.local', 'RANDOM', { ns: 'istio-system' })), { kind: 'RANDOM' });
  assert.deepEqual(lbOf(dr('root', 'reviews.default.svc.cluster.local', 'RANDOM', { ns: 'istio-system' }), dr('own', 'reviews', 'ROUND_ROBIN')), { kind: 'ROUND_ROBIN' });
  assert.deepEqual(lbOf(dr('wild', '*.default.svc.cluster.local', 'RANDOM'), dr('exact', 'reviews', 'ROUND_ROBIN')), { kind: 'ROUND_ROBIN' });
  assert.deepEqual(lbOf(dr('wide', '*.svc.cluster.local', 'RANDOM'), dr('narrow', '*.default.svc.cluster.local', 'ROUND_ROBIN')), { kind: 'ROUND_ROBIN' });
  // Not exported to the waypoint's namespace: invisible (the root namespace one is not in scope either).
  assert.deepEqual(lbOf(dr('hidden', 'reviews.default.svc.cluster.local', 'RANDOM', { ns: 'istio-system', exportTo: ['.'] })), { kind: 'LEAST_REQUEST' });
  // A short host resolves in the DestinationRule's namespace: `reviews` in istio-system is another host.
  assert.deepEqual(lbOf(dr('elsewhere', 'reviews', 'RANDOM', { ns: 'istio-system' })), { kind: 'LEAST_REQUEST' });
});

test('DestinationRules of one namespace for one host merge: subsets added, the oldest trafficPolicy wins; workloadSelector ones are not used', () => {
  const t = translateWp(meshWithWaypoint(
    svc('reviews', { selector: { app: 'reviews' } }),
    pod('r1', { labels: { app: 'reviews', version: 'v1' } }),
    pod('r2', { labels: { app: 'reviews', version: 'v2' }, ip: '10.0.0.2' }),
    destinationRule('a', { host: 'reviews', trafficPolicy: { loadBalancer: { simple: 'ROUND_ROBIN' } }, subsets: [{ name: 'v1', labels: { version: 'v1' } }] }, { created: '2026-01-01T00:00:00Z' }),
    destinationRule('b', { host: 'reviews', trafficPolicy: { loadBalancer: { simple: 'RANDOM' } }, subsets: [{ name: 'v2', labels: { version: 'v2' } }, { name: 'v1', labels: { version: 'x' } }] }, { created: '2026-02-01T00:00:00Z' }),
    destinationRule('sel', { host: 'reviews', workloadSelector: { matchLabels: { app: 'x' } }, trafficPolicy: { loadBalancer: { simple: 'RANDOM' } } }),
    virtualService('vs', { hosts: ['reviews'], http: [{ route: [{ destination: { host: 'reviews', subset: 'v1' }, weight: 50 }, { destination: { host: 'reviews', subset: 'v2' }, weight: 50 }] }] }),
  ));
  assert.deepEqual(clusterOf(t, cluster('reviews')).lb, { kind: 'ROUND_ROBIN' });
  assert.deepEqual(clusterOf(t, 'outbound|80|v1|reviews.default.svc.cluster.local').workloadUids, ['c1//Pod/default/r1']);
  assert.deepEqual(clusterOf(t, 'outbound|80|v2|reviews.default.svc.cluster.local').workloadUids, ['c1//Pod/default/r2']);
  assert.deepEqual(t.problems, [
    'warning DestinationRule/default/sel spec.workloadSelector: a DestinationRule with a workloadSelector applies to the selected sidecars and gateways, not at a waypoint; ignored here',
    'warning DestinationRule/default/b spec.subsets[1].name: duplicate subset "v1" for host reviews.default.svc.cluster.local (an older DestinationRule or an earlier entry defines it); ignored',
    'warning DestinationRule/default/b spec.trafficPolicy: DestinationRule default/a (older) already sets the trafficPolicy of host reviews.default.svc.cluster.local; ignored (istiod merges only subsets)',
  ]);
});

test('the codec carries the DestinationRule fields; a bad hash key or locality setting is refused', () => {
  const t = translateWp(meshWithWaypoint(svc('reviews'), destinationRule('dr', { host: 'reviews', trafficPolicy: {
    loadBalancer: { consistentHash: { httpCookie: { name: 's', path: '/', ttl: '10s' } }, localityLbSetting: { failover: [{ from: 'a', to: 'b' }] } },
    connectionPool: { tcp: { maxConnections: 3 } }, outlierDetection: { consecutive5xxErrors: 0 },
  } })));
  assert.deepEqual(decodeWaypointConfig(encodeWaypointConfig(t.config)), t.config);
  const mutate = (f: (c: Record<string, unknown>) => void): Uint8Array => {
    const c = JSON.parse(JSON.stringify(t.config)) as { clusters: Record<string, unknown>[] };
    f(c.clusters.find((x) => x.name === cluster('reviews'))!);
    return encodeWaypointConfig(c as never);
  };
  const rows: [Uint8Array, RegExp][] = [
    [mutate((c) => { c.lb = { kind: 'CONSISTENT_HASH', key: {} }; }), /\.lb\.key: expected exactly one of header, cookie, sourceIp, queryParam/],
    [mutate((c) => { c.lb = { kind: 'CONSISTENT_HASH', key: { cookie: 's', ttlMs: -1 } }; }), /\.lb\.key\.ttlMs: expected a number/],
    [mutate((c) => { c.localityLb = { failover: [{ from: 'a' }] }; }), /\.localityLb\.failover\[0\]\.to: expected a string/],
    [mutate((c) => { c.localityLb = { distribute: [{ from: 'a', to: { b: 200 } }] }; }), /\.localityLb\.distribute\[0\]\.to\[b\]: expected a number in 0\.\.100/],
  ];
  for (const [bytes, reason] of rows) assert.throws(() => decodeWaypointConfig(bytes), (err: Error & { code?: string }) => err.code === 'XDS_INVALID' && reason.test(err.message), String(reason));
});
