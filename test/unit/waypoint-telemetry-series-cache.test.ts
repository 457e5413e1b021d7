// Unit tests for the waypoint's cached request series: the exposition equals the uncached label
// path for every kind of request, a changed workload object relabels, and the cache bound holds.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { silentLogger } from '../../src/common/log.js';
import type { Service, Workload } from '../../src/state/index.js';
import { requestLabels, waypointTrafficLabels, WaypointTelemetry, type RequestEnd, type RequestStart } from '../../src/waypoint/telemetry/index.js';
import { RequestMetrics } from '../../src/waypoint/telemetry/request-metrics.js';
import { spiffeUri } from '../../src/waypoint/telemetry/request-labels.js';
import { richService, richWorkload } from '../helpers/wds-fixtures.js';

const WAYPOINT = { namespace: 'default', name: 'waypoint', identity: 'cluster.local/ns/default/sa/waypoint', workload: richWorkload({ clusterId: 'wp-cluster' }) };
const SRC = richWorkload({ name: 'sleep', workloadName: 'sleep', canonicalName: 'sleep' });
const V1 = richWorkload({ name: 'reviews-v1', workloadName: 'reviews-v1', canonicalName: 'reviews', canonicalRevision: 'v1', serviceAccount: 'reviews' });
const V2 = richWorkload({ name: 'reviews-v2', workloadName: 'reviews-v2', canonicalName: 'reviews', canonicalRevision: 'v2', serviceAccount: 'reviews' });
const SVC = richService({ name: 'reviews', hostname: 'reviews.default.svc.cluster.local' });

interface Case {
  readonly src?: Workload;
  readonly srcId?: string;
  readonly up?: Workload;
  readonly upId?: string;
  readonly svc?: Service;
  readonly authority?: string;
  readonly protocol?: 'http' | 'grpc';
  readonly status?: number;
  readonly grpcStatus?: number;
  readonly flags?: string;
}

const CASES: readonly Case[] = [
  { src: SRC, srcId: 'cluster.local/ns/default/sa/sleep', up: V1, upId: 'cluster.local/ns/default/sa/reviews', svc: SVC },
  { src: SRC, srcId: 'cluster.local/ns/default/sa/sleep', up: V2, upId: 'spiffe://cluster.local/ns/default/sa/reviews', svc: SVC },
  { src: SRC, srcId: 'cluster.local/ns/default/sa/sleep', up: V1, upId: 'cluster.local/ns/default/sa/reviews', svc: SVC, status: 503, flags: 'UF,URX' },
  { src: SRC, srcId: 'cluster.local/ns/default/sa/sleep', up: V1, svc: SVC, status: 404 },
  { src: SRC, srcId: '', up: V1, upId: '', svc: SVC },
  { src: SRC, up: V1, svc: SVC },
  { srcId: 'cluster.local/ns/other/sa/x', svc: SVC, status: 503, flags: 'NR' },
  { src: SRC, authority: 'unknown.example:8080', status: 502, flags: 'UH' },
  { src: SRC, authority: 'other.example', status: 502, flags: 'UH' },
  { src: SRC, authority: '', status: 0, flags: 'DC' },
  { src: SRC, up: V1, svc: SVC, protocol: 'grpc', grpcStatus: 0 },
  { src: SRC, up: V1, svc: SVC, protocol: 'grpc', grpcStatus: 5 },
  { src: SRC, up: V1, svc: SVC, protocol: 'grpc', status: 503, flags: 'UF' },
  { src: SRC, up: V1, svc: SVC, protocol: 'grpc', status: 0, flags: 'DC' },
  { src: SRC, up: V1, svc: SVC, flags: '' },
  { src: SRC, up: V1, svc: SVC, flags: '-' },
];

function start(c: Case): RequestStart {
  return {
    protocol: c.protocol ?? 'http', method: 'GET', path: '/', authority: c.authority ?? SVC.hostname,
    source: { ip: '10.0.0.1', port: 4000, identity: c.srcId, workload: c.src }, destinationService: c.svc, headers: new Map(), startedAt: 0n,
  };
}

function end(c: Case): RequestEnd {
  return {
    status: c.status ?? 200, grpcStatus: c.grpcStatus, flags: c.flags ?? '-', requestBytes: 10, responseBytes: 20,
    upstream: c.up === undefined ? undefined : { ip: c.up.workloadIps[0] ?? '10.0.0.9', port: 8080, workload: c.up, identity: c.upId },
  };
}

/** Metrics text of `cases` through WaypointTelemetry (cached) and through the plain label path. */
async function both(cases: readonly Case[]): Promise<[string, string]> {
  const cachedReg = new Registry();
  const t = new WaypointTelemetry({ registry: cachedReg, logger: silentLogger(), waypoint: WAYPOINT, now: () => 1_500_000n });
  const plainReg = new Registry();
  const plain = new RequestMetrics(plainReg);
  for (const c of cases) {
    t.begin(start(c)).end(end(c));
    const traffic = waypointTrafficLabels({
      waypoint: WAYPOINT, source: c.src, sourcePrincipal: c.srcId, destination: c.up, destinationPrincipal: spiffeUri(c.upId), destinationService: c.svc, authority: c.authority ?? SVC.hostname,
    });
    plain.record(requestLabels(traffic, { protocol: c.protocol ?? 'http', status: c.status ?? 200, grpcStatus: c.grpcStatus, flags: c.flags ?? '-' }), 1.5, 10, 20);
  }
  // The telemetry's registry also holds the istio_tcp_* families: compare the request ones.
  const requestsOnly = (text: string): string => text.split('\n').filter((l) => /^(# \w+ )?istio_request/.test(l)).join('\n');
  return [requestsOnly(await cachedReg.metrics()), requestsOnly(await plainReg.metrics())];
}

for (const [i, c] of CASES.entries()) {
  test(`cached series = uncached labels, case ${i} (three times)`, async () => {
    const [got, want] = await both([c, c, c]);
    assert.equal(got, want);
    assert.match(got, /istio_requests_total\{[^}]*\} 3/);
  });
}

test('all cases interleaved: same series and counts as the uncached path', async () => {
  const mixed = [...CASES, ...CASES.slice().reverse(), ...CASES];
  const [got, want] = await both(mixed);
  assert.equal(got, want);
});

test('a new workload object (mesh state changed) relabels; the old object keeps its own', async () => {
  const reg = new Registry();
  const t = new WaypointTelemetry({ registry: reg, logger: silentLogger(), waypoint: WAYPOINT });
  const c: Case = { src: SRC, up: V1, svc: SVC };
  t.begin(start(c)).end(end(c));
  const relabelled = { ...V1, canonicalRevision: 'v1-new' };
  t.begin(start({ ...c, up: relabelled })).end(end({ ...c, up: relabelled }));
  t.begin(start({ ...c, up: relabelled })).end(end({ ...c, up: relabelled }));
  const text = await reg.metrics();
  assert.match(text, /istio_requests_total\{[^}]*destination_version="v1"[^}]*\} 1/);
  assert.match(text, /istio_requests_total\{[^}]*destination_version="v1-new"[^}]*\} 2/);
  assert.equal(t.requestSeries, 2);
});

test('past the cache bound (many Host values of an unknown service) every request still counts', async () => {
  const many = Array.from({ length: 600 }, (_, i): Case => ({ src: SRC, authority: `h${i % 300}.example`, status: 502, flags: 'UH' }));
  const [got, want] = await both(many);
  assert.equal(got, want);
  assert.match(got, /istio_requests_total\{[^}]*destination_service="h299\.example"[^}]*\} 2/);
});
