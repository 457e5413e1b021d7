// `ambit control` in cluster mode against the test API server: the route status it PATCHes for
// what the waypoint translation found — a dropped rule, a missing backend, an unknown filter, a
// GRPCRoute and a TCPRoute accepted, a kind conflict — that fixing a route clears its conditions,
// that a route leaving our parents loses our entry, and that a steady state writes nothing. Then the
// writer alone: a stale resourceVersion is refused (409) and written again from the new version,
// and a newer observedGeneration is never regressed.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ControlPlane } from '../../src/bin/control-plane.js';
import { RouteStatusWriter, type RouteStatus } from '../../src/controlplane/index.js';
import { snapshotOf, type KubeObject } from '../../src/k8s/index.js';
import { ClusterSource } from '../../src/k8s/cluster/index.js';
import { ambitResources, FakeKubeApiServer } from '../helpers/fake-kube-apiserver.js';
import { settledCount, startClusterControlPlane } from '../helpers/cluster-control-plane.js';
import { captureLogs } from '../helpers/log-capture.js';
import { waitUntil } from '../helpers/wait-until.js';

const GW = 'gateway.networking.k8s.io';
const MESH = 'istio.io/mesh-controller';
const RESOURCE = { HTTPRoute: `${GW}/httproutes`, GRPCRoute: `${GW}/grpcroutes`, TCPRoute: `${GW}/tcproutes` } as const;
type RouteKind = keyof typeof RESOURCE;

let server: FakeKubeApiServer;
let plane: ControlPlane;
let kubeconfig: string;

const toService = (name: string, port?: number): Record<string, unknown>[] => [{ group: '', kind: 'Service', name, ...(port !== undefined ? { port } : {}) }];
const backend = (name: string, port = 80): Record<string, unknown> => ({ name, port });

function service(name: string, ip: string, ports: Record<string, unknown>[], labels: Record<string, string> = {}): Record<string, unknown> {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default', labels }, spec: { clusterIP: ip, ports } };
}

function routeObject(kind: RouteKind, name: string, spec: Record<string, unknown>): Record<string, unknown> {
  return { apiVersion: kind === 'TCPRoute' ? `${GW}/v1alpha2` : `${GW}/v1`, kind, metadata: { name, namespace: 'default' }, spec };
}

interface StoredCondition {
  type: string;
  status: string;
  reason: string;
  message: string;
  observedGeneration: number;
  lastTransitionTime: string;
}
interface StoredParent {
  parentRef: Record<string, unknown>;
  controllerName: string;
  conditions: StoredCondition[];
}

function stored(kind: RouteKind, name: string): { metadata: { generation: number; resourceVersion: string }; status?: { parents?: StoredParent[] } } {
  return server.state.get(RESOURCE[kind], 'default', name) as never;
}
const parentsOf = (kind: RouteKind, name: string): StoredParent[] => stored(kind, name)?.status?.parents ?? [];
const ours = (kind: RouteKind, name: string): StoredParent | undefined => parentsOf(kind, name).find((p) => p.controllerName === MESH);
const cond = (kind: RouteKind, name: string, type: string): StoredCondition | undefined => ours(kind, name)?.conditions.find((c) => c.type === type);
/** `Type=Status Reason: message` of our entry's conditions. */
const view = (kind: RouteKind, name: string): string[] => (ours(kind, name)?.conditions ?? []).map((c) => `${c.type}=${c.status} ${c.reason}: ${c.message}`);
/** Route status writes (the waypoint Gateway's own status is written too; see the gateway status test). */
const statusPatches = (): { path: string; status: number }[] => server.requests.filter((r) => r.method === 'PATCH' && r.path.endsWith('/status') && !r.path.includes('/gateways/'));

/** Waits until no status PATCH has happened for `quietMs`; returns how many there were. */
const settled = (quietMs?: number): Promise<number> => settledCount(() => statusPatches().length, quietMs);

const ACCEPTED = 'Accepted=True Accepted: Route was valid';
const RESOLVED = 'ResolvedRefs=True ResolvedRefs: All references resolved';
const WAYPOINTS = 'ResolvedWaypoints=True ResolvedWaypoints: All waypoints resolved';

before(async () => {
  server = new FakeKubeApiServer({ resources: ambitResources() });
  await server.start();
  const objects: Record<string, unknown>[] = [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default', labels: { 'istio.io/dataplane-mode': 'ambient', 'istio.io/use-waypoint': 'wp' } } },
    { apiVersion: `${GW}/v1`, kind: 'Gateway', metadata: { name: 'wp', namespace: 'default' }, spec: { gatewayClassName: 'istio-waypoint', listeners: [{ name: 'mesh', port: 15008, protocol: 'HBONE' }] } },
    service('wp', '10.96.0.2', [{ name: 'mesh', port: 15008 }], { 'gateway.istio.io/managed': 'istio.io-mesh-controller' }),
    service('echo', '10.96.1.1', [{ name: 'http', port: 80 }]),
    service('g', '10.96.1.2', [{ name: 'grpc', port: 9000 }]),
    service('db', '10.96.1.3', [{ name: 'tcp', port: 5432 }]),
    service('m', '10.96.1.4', [{ name: 'grpc', port: 80 }]),
    routeObject('HTTPRoute', 'dropped', {
      parentRefs: toService('echo'),
      rules: [{ backendRefs: [backend('echo')] }, { filters: [{ type: 'ExternalAuth', externalAuth: { protocol: 'HTTP', backendRef: backend('echo') } }], backendRefs: [backend('echo')] }],
    }),
    routeObject('HTTPRoute', 'nobackend', { parentRefs: toService('echo'), rules: [{ matches: [{ path: { type: 'PathPrefix', value: '/v2' } }], backendRefs: [backend('missing')] }] }),
    routeObject('HTTPRoute', 'unknownfilter', { parentRefs: toService('echo'), rules: [{ filters: [{ type: 'Teleport' }], backendRefs: [backend('echo')] }] }),
    routeObject('GRPCRoute', 'grpc', { parentRefs: toService('g'), rules: [{ matches: [{ method: { service: 'pkg.Svc' } }], backendRefs: [backend('g', 9000)] }] }),
    routeObject('TCPRoute', 'tcp', { parentRefs: toService('db', 5432), rules: [{ backendRefs: [backend('db', 5432)] }] }),
    routeObject('GRPCRoute', 'gm', { parentRefs: toService('m', 80), rules: [{ backendRefs: [backend('m')] }] }),
    routeObject('HTTPRoute', 'hm', { parentRefs: toService('m', 80), rules: [{ backendRefs: [backend('m')] }] }),
  ];
  for (const o of objects) server.apply(o);
  // Another controller's entry on a route must survive our writes.
  server.state.patchStatus(RESOURCE.HTTPRoute, 'default', 'nobackend', {
    parents: [{ parentRef: { name: 'ingress' }, controllerName: 'example.com/other', conditions: [{ type: 'Accepted', status: 'True', reason: 'Accepted', message: '', lastTransitionTime: '2026-01-01T00:00:00Z', observedGeneration: 1 }] }],
  });
  ({ plane, kubeconfig } = await startClusterControlPlane(server));
  await waitUntil(() => ours('HTTPRoute', 'hm') !== undefined && ours('TCPRoute', 'tcp') !== undefined, 'every route has our status entry', 20_000);
  await settled();
});

after(async () => {
  plane?.destroy();
  await server?.close();
});

test('a dropped rule: Accepted, PartiallyInvalid "Dropped Rule 1" naming the field and why', () => {
  assert.deepEqual(view('HTTPRoute', 'dropped'), [
    ACCEPTED,
    'PartiallyInvalid=True UnsupportedValue: Dropped Rule 1: spec.rules[1].filters[0].type: filter type "ExternalAuth" is not supported by Ambit\'s waypoint',
    RESOLVED,
    WAYPOINTS,
  ]);
  const c = cond('HTTPRoute', 'dropped', 'PartiallyInvalid')!;
  assert.equal(c.observedGeneration, stored('HTTPRoute', 'dropped').metadata.generation);
  assert.match(c.lastTransitionTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
});

test('a missing backend Service: ResolvedRefs=False BackendNotFound; another controller\'s entry kept', () => {
  assert.deepEqual(view('HTTPRoute', 'nobackend'), [
    ACCEPTED,
    'ResolvedRefs=False BackendNotFound: spec.rules[0].backendRefs[0]: backend(missing.default.svc.cluster.local) not found; its share is answered 500',
    WAYPOINTS,
  ]);
  assert.deepEqual(parentsOf('HTTPRoute', 'nobackend').map((p) => p.controllerName), ['example.com/other', MESH]);
});

test('an unknown filter type (the object is kept, not refused): Accepted=False UnsupportedValue', () => {
  assert.deepEqual(view('HTTPRoute', 'unknownfilter'), ['Accepted=False UnsupportedValue: All rules dropped: spec.rules[0].filters[0].type: unsupported filter type "Teleport"', RESOLVED, WAYPOINTS]);
});

test('GRPCRoute and TCPRoute accepted, written through their own status subresources', () => {
  assert.deepEqual(view('GRPCRoute', 'grpc'), [ACCEPTED, RESOLVED, WAYPOINTS]);
  assert.deepEqual(view('TCPRoute', 'tcp'), [ACCEPTED, RESOLVED, WAYPOINTS]);
  const paths = statusPatches().map((p) => p.path);
  assert.ok(paths.includes(`/apis/${GW}/v1/namespaces/default/grpcroutes/grpc/status`), paths.join('\n'));
  assert.ok(paths.includes(`/apis/${GW}/v1alpha2/namespaces/default/tcproutes/tcp/status`), paths.join('\n'));
  assert.deepEqual(ours('GRPCRoute', 'grpc')?.parentRef, { group: '', kind: 'Service', name: 'g' });
});

test('an HTTPRoute on a port a GRPCRoute holds: Accepted=False Conflicted; the GRPCRoute accepted', () => {
  assert.deepEqual(view('HTTPRoute', 'hm'), [
    'Accepted=False Conflicted: GRPCRoute default/gm takes precedence over HTTPRoute on Service default/m port 80 (GEP-1294: GRPCRoute > HTTPRoute > TCPRoute)',
    RESOLVED,
    WAYPOINTS,
  ]);
  assert.deepEqual(view('GRPCRoute', 'gm'), [ACCEPTED, RESOLVED, WAYPOINTS]);
});

test('/debug/resources shows each route\'s status with the problems found in it, and every waypoint problem', async () => {
  const port = plane.addresses().monitoring!.port;
  const res = (await (await fetch(`http://127.0.0.1:${port}/debug/resources`)).json()) as {
    routeStatus: Array<{ kind: string; name: string; parents: unknown[]; problems: Array<{ field: string; reason: string; severity: string }> }>;
    httpRouteStatus: Array<{ name: string }>;
    problems: Array<{ object: { kind: string; name: string }; field: string }>;
  };
  assert.deepEqual(res.routeStatus.map((r) => `${r.kind}/${r.name}`).sort(), [
    'GRPCRoute/gm', 'GRPCRoute/grpc', 'HTTPRoute/dropped', 'HTTPRoute/hm', 'HTTPRoute/nobackend', 'HTTPRoute/unknownfilter', 'TCPRoute/tcp',
  ]);
  const unknown = res.routeStatus.find((r) => r.name === 'unknownfilter')!;
  assert.deepEqual(unknown.problems, [{ object: { kind: 'HTTPRoute', namespace: 'default', name: 'unknownfilter' }, field: 'spec.rules[0].filters[0].type', reason: 'UnsupportedValue: unsupported filter type "Teleport"; rule dropped', severity: 'error' }]);
  assert.deepEqual(res.httpRouteStatus.map((r) => r.name).sort(), ['dropped', 'hm', 'nobackend', 'unknownfilter']);
  assert.ok(res.problems.some((p) => p.object.name === 'hm' && p.field === 'spec.parentRefs'), 'waypoint translation problems are listed');
});

test('steady state: each route written once, and a change elsewhere writes nothing', async () => {
  const written = statusPatches();
  assert.ok(written.every((p) => p.status === 200), JSON.stringify(written));
  assert.equal(written.length, 7, 'one write per route');
  server.apply({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'unrelated', namespace: 'default' } });
  const v = plane.pipeline.state().objectsVersion;
  await waitUntil(() => plane.pipeline.state().objectsVersion > v, 'the unrelated change was translated');
  assert.equal(await settled(), 7, 'an unchanged status was written again');
});

test('fixing routes clears their conditions: the dropped rule removed (new generation), the missing Service created', async () => {
  const before = structuredClone(ours('HTTPRoute', 'dropped')!);
  const current = stored('HTTPRoute', 'dropped') as unknown as Record<string, unknown>;
  // An update of the object keeps its status (the API server ignores status on the main resource).
  server.apply({ ...routeObject('HTTPRoute', 'dropped', { parentRefs: toService('echo'), rules: [{ backendRefs: [backend('echo')] }] }), status: current['status'] });
  server.apply(service('missing', '10.96.1.9', [{ name: 'http', port: 80 }]));
  await waitUntil(() => cond('HTTPRoute', 'dropped', 'PartiallyInvalid') === undefined, 'PartiallyInvalid is gone');
  await waitUntil(() => cond('HTTPRoute', 'nobackend', 'ResolvedRefs')?.status === 'True', 'ResolvedRefs is True');
  assert.deepEqual(view('HTTPRoute', 'dropped'), [ACCEPTED, RESOLVED, WAYPOINTS]);
  assert.deepEqual(view('HTTPRoute', 'nobackend'), [ACCEPTED, RESOLVED, WAYPOINTS]);
  const accepted = cond('HTTPRoute', 'dropped', 'Accepted')!;
  assert.equal(accepted.observedGeneration, 2, 'observedGeneration follows the new generation');
  assert.equal(accepted.lastTransitionTime, before.conditions.find((c) => c.type === 'Accepted')!.lastTransitionTime, 'an unchanged condition keeps its transition time');
  assert.ok(parentsOf('HTTPRoute', 'nobackend').some((p) => p.controllerName === 'example.com/other'));
});

test('a route that no longer names a parent of ours loses our entry, other controllers\' stay', async () => {
  const current = stored('HTTPRoute', 'nobackend') as unknown as Record<string, unknown>;
  server.apply({ ...routeObject('HTTPRoute', 'nobackend', { parentRefs: [{ name: 'ingress' }], rules: [{ backendRefs: [backend('echo')] }] }), status: current['status'] });
  // While the Gateway `ingress` does not exist we cannot tell whose it is: reported NoMatchingParent.
  await waitUntil(() => cond('HTTPRoute', 'nobackend', 'Accepted')?.reason === 'NoMatchingParent', 'our entry follows the new parentRefs');
  assert.deepEqual(ours('HTTPRoute', 'nobackend')?.parentRef, { name: 'ingress' });
  server.apply({ apiVersion: `${GW}/v1`, kind: 'Gateway', metadata: { name: 'ingress', namespace: 'default' }, spec: { gatewayClassName: 'other', listeners: [{ name: 'http', port: 80, protocol: 'HTTP' }] } });
  await waitUntil(() => ours('HTTPRoute', 'nobackend') === undefined, 'our entry is removed once the parent belongs to another controller');
  assert.deepEqual(parentsOf('HTTPRoute', 'nobackend').map((p) => p.controllerName), ['example.com/other']);
});

test('the writer alone: a stale resourceVersion is refused (409) and the newer version written; a newer generation is never regressed', async () => {
  const logs = captureLogs('debug');
  const source = new ClusterSource({ kubeconfigPath: kubeconfig, logger: logs.logger });
  const writer = new RouteStatusWriter((kind, ns, name, status, rv) => source.writeStatus(kind, ns, name, status, rv), logs.logger, [MESH]);
  try {
    server.apply(routeObject('HTTPRoute', 'race', { parentRefs: [{ name: 'ingress' }], rules: [{ backendRefs: [backend('echo')] }] }));
    const at = (): KubeObject => structuredClone(server.state.get(RESOURCE.HTTPRoute, 'default', 'race')) as unknown as KubeObject;
    const status = (generation: number): RouteStatus[] => [{
      kind: 'HTTPRoute', namespace: 'default', name: 'race', problems: [],
      parents: [{ parentRef: { group: '', kind: 'Service', name: 'echo' }, controllerName: MESH, conditions: [{ type: 'Accepted', status: 'True', reason: 'Accepted', message: 'Route was valid', observedGeneration: generation }] }],
    }];
    const racePatches = (): number[] => statusPatches().filter((p) => p.path.endsWith('/httproutes/race/status')).map((p) => p.status);

    // Another controller writes between our read (S1) and our write: refused, nothing overwritten.
    const s1 = snapshotOf([at()]);
    server.state.patchStatus(RESOURCE.HTTPRoute, 'default', 'race', { parents: [{ parentRef: { name: 'ingress' }, controllerName: 'example.com/other', conditions: [] }] });
    writer.update(s1, status(1));
    await waitUntil(() => racePatches().length === 1, 'the first write was tried');
    assert.deepEqual(racePatches(), [409]);
    // The watch brings the new version: written from it, the other entry kept.
    writer.update(snapshotOf([at()]), status(1));
    await waitUntil(() => racePatches().length === 2, 'written from the new version');
    assert.deepEqual(racePatches(), [409, 200]);
    assert.deepEqual(parentsOf('HTTPRoute', 'race').map((p) => p.controllerName), ['example.com/other', MESH]);
    // The retry after the conflict finds nothing left to do.
    await new Promise((r) => setTimeout(r, 1_300));
    assert.deepEqual(racePatches(), [409, 200]);

    // A version that changed nothing we hold (the object store keeps the older of equal objects):
    // refused once, then written without the precondition by the retry.
    const s2 = snapshotOf([at()]);
    server.apply({ ...(at() as unknown as Record<string, unknown>) });
    writer.update(s2, status(2));
    await waitUntil(() => racePatches().length === 4, 'refused, then retried', 5_000);
    assert.deepEqual(racePatches(), [409, 200, 409, 200]);
    assert.equal(cond('HTTPRoute', 'race', 'Accepted')?.observedGeneration, 2);

    // Our entry already observed generation 2; a snapshot at generation 1 does not regress it.
    const old = at() as unknown as { metadata: Record<string, unknown> };
    old.metadata['generation'] = 1;
    writer.update(snapshotOf([old as unknown as KubeObject]), status(1));
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(racePatches(), [409, 200, 409, 200]);
    assert.equal(cond('HTTPRoute', 'race', 'Accepted')?.observedGeneration, 2);
  } finally {
    await writer.close();
    source.destroy();
  }
});
