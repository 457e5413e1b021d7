// The WaypointConfig shape check of the cluster upstream policies: consistent-hash keys and
// algorithms, circuit breakers, outlier detection, locality settings and the idle timeout,
// each bad field refused (XDS_INVALID, a NACK) with its path.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WAYPOINT_CONFIG_VERSION, type Cluster, type WaypointConfig } from '../../src/waypoint/index.js';
import { decodeWaypointConfig, encodeWaypointConfig } from '../../src/xds/index.js';
import { cluster } from '../helpers/upstream-endpoints.js';

function config(c: Record<string, unknown>): WaypointConfig {
  return { version: WAYPOINT_CONFIG_VERSION, waypoint: { namespace: 'default', name: 'wp' }, services: [], clusters: [c as unknown as Cluster] };
}
const roundTrip = (c: Record<string, unknown>): WaypointConfig => decodeWaypointConfig(encodeWaypointConfig(config(c)));

test('every upstream policy field the model has survives the check', () => {
  const full = {
    ...cluster(),
    lb: { kind: 'CONSISTENT_HASH', key: { cookie: 'affinity', path: '/', ttlMs: 3_600_000 }, maglev: { tableSize: 65537 } },
    circuitBreaker: { maxConnections: 10, maxPendingRequests: 5, maxRequests: 100, maxRequestsPerConnection: 0, maxRetries: 3 },
    outlierDetection: { consecutive5xxErrors: 5, consecutiveGatewayErrors: 0, intervalMs: 10_000, baseEjectionTimeMs: 30_000, maxEjectionPercent: 10 },
    localityLb: { enabled: true, failover: [{ from: 'us-east', to: 'eu-west' }] },
    idleTimeoutMs: 3_600_000,
  };
  assert.deepEqual(roundTrip(full).clusters[0], full);
  for (const key of [{ header: 'x-user' }, { sourceIp: true }, { queryParam: 'u' }]) {
    assert.deepEqual(roundTrip({ ...cluster(), lb: { kind: 'CONSISTENT_HASH', key, ringHash: { minimumRingSize: 4096 } } }).clusters[0]?.lb, { kind: 'CONSISTENT_HASH', key, ringHash: { minimumRingSize: 4096 } });
  }
});

const bad: Array<{ field: Record<string, unknown>; path: RegExp }> = [
  { field: { lb: { kind: 'CONSISTENT_HASH', key: { header: 'a', cookie: 'b' } } }, path: /clusters\[0\]\.lb\.key: expected exactly one/ },
  { field: { lb: { kind: 'CONSISTENT_HASH', key: {} } }, path: /clusters\[0\]\.lb\.key: expected exactly one/ },
  { field: { lb: { kind: 'CONSISTENT_HASH', key: { sourceIp: false } } }, path: /clusters\[0\]\.lb\.key\.sourceIp/ },
  { field: { lb: { kind: 'CONSISTENT_HASH', key: { cookie: 'c', ttlMs: -1 } } }, path: /clusters\[0\]\.lb\.key\.ttlMs/ },
  { field: { lb: { kind: 'CONSISTENT_HASH', key: { header: 'h' }, maglev: { tableSize: 65536 } } }, path: /clusters\[0\]\.lb\.maglev\.tableSize: 65536 is not a prime/ },
  { field: { lb: { kind: 'CONSISTENT_HASH', key: { header: 'h' }, ringHash: { minimumRingSize: 0 } } }, path: /clusters\[0\]\.lb\.ringHash\.minimumRingSize/ },
  { field: { circuitBreaker: { maxConnections: -1 } }, path: /clusters\[0\]\.circuitBreaker\.maxConnections/ },
  { field: { circuitBreaker: { maxRetries: 'many' } }, path: /clusters\[0\]\.circuitBreaker\.maxRetries/ },
  { field: { outlierDetection: { intervalMs: 0, baseEjectionTimeMs: 1, maxEjectionPercent: 10 } }, path: /clusters\[0\]\.outlierDetection\.intervalMs/ },
  { field: { outlierDetection: { intervalMs: 1, baseEjectionTimeMs: 1, maxEjectionPercent: 101 } }, path: /clusters\[0\]\.outlierDetection\.maxEjectionPercent/ },
  { field: { outlierDetection: { intervalMs: 1, maxEjectionPercent: 10 } }, path: /clusters\[0\]\.outlierDetection\.baseEjectionTimeMs/ },
  { field: { localityLb: { enabled: 'yes' } }, path: /clusters\[0\]\.localityLb\.enabled/ },
  { field: { localityLb: { failover: [{ from: 'a' }] } }, path: /clusters\[0\]\.localityLb\.failover\[0\]\.to/ },
  { field: { idleTimeoutMs: -1 }, path: /clusters\[0\]\.idleTimeoutMs/ },
];

for (const b of bad) {
  test(`refused: ${JSON.stringify(b.field)}`, () => {
    assert.throws(() => roundTrip({ ...cluster(), ...b.field }), (err: Error & { code?: string }) => err.code === 'XDS_INVALID' && b.path.test(err.message), String(b.path));
  });
}
