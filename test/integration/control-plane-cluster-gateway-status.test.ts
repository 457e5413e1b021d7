// `ambit control` in cluster mode against the test API server: the status it PATCHes onto the
// waypoint Gateway — addresses (ClusterIP, hostname), Accepted/Programmed, the listener's
// supportedKinds and attachedRoutes — that routes attaching and detaching move attachedRoutes, that
// losing the Service (or its ready endpoints) turns Programmed False with istiod's reasons while the
// address stays, that other controllers' conditions and Gateways of other classes are left alone,
// and that a steady state writes nothing.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ControlPlane } from '../../src/bin/control-plane.js';
import { ambitResources, FakeKubeApiServer } from '../helpers/fake-kube-apiserver.js';
import { settledCount, startClusterControlPlane } from '../helpers/cluster-control-plane.js';
import { waitUntil } from '../helpers/wait-until.js';

const GW = 'gateway.networking.k8s.io';
const GATEWAYS = `${GW}/gateways`;
const HOST = 'wp.default.svc.cluster.local';

let server: FakeKubeApiServer;
let plane: ControlPlane;

interface StoredCondition { type: string; status: string; reason: string; message: string; observedGeneration: number; lastTransitionTime: string }
interface StoredListener { name: string; attachedRoutes: number; supportedKinds: { group: string; kind: string }[]; conditions: StoredCondition[] }
interface StoredGateway {
  metadata: { generation: number; resourceVersion: string };
  spec: Record<string, unknown>;
  status?: { addresses?: { type: string; value: string }[]; conditions?: StoredCondition[]; listeners?: StoredListener[] };
}

const gatewayAt = (name = 'wp'): StoredGateway => server.state.get(GATEWAYS, 'default', name) as never;
const cond = (type: string): StoredCondition | undefined => gatewayAt().status?.conditions?.find((c) => c.type === type);
const programmed = (): string => { const c = cond('Programmed'); return c ? `${c.status} ${c.reason}: ${c.message}` : 'none'; };
const attached = (): number | undefined => gatewayAt().status?.listeners?.find((l) => l.name === 'mesh')?.attachedRoutes;
const gatewayPatches = (): { path: string; status: number }[] => server.requests.filter((r) => r.method === 'PATCH' && r.path.includes('/gateways/'));

/** Waits until no Gateway status PATCH has happened for `quietMs`; returns how many there were. */
const settled = (quietMs?: number): Promise<number> => settledCount(() => gatewayPatches().length, quietMs);

const wpService = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'wp', namespace: 'default', labels: { 'gateway.istio.io/managed': 'istio.io-mesh-controller' } }, spec: { clusterIP: '10.96.0.2', clusterIPs: ['10.96.0.2'], ports: [{ name: 'mesh', port: 15008 }] } };
function wpSlice(ready: boolean): Record<string, unknown> {
  return {
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', addressType: 'IPv4',
    metadata: { name: 'wp-x1', namespace: 'default', labels: { 'kubernetes.io/service-name': 'wp' } },
    endpoints: [{ addresses: ['10.244.0.7'], conditions: { ready } }],
    ports: [{ name: 'mesh', port: 15008, protocol: 'TCP' }],
  };
}
function route(kind: 'HTTPRoute' | 'TCPRoute' | 'GRPCRoute', name: string, parentRefs: Record<string, unknown>[]): Record<string, unknown> {
  return { apiVersion: kind === 'TCPRoute' ? `${GW}/v1alpha2` : `${GW}/v1`, kind, metadata: { name, namespace: 'default' }, spec: { parentRefs, rules: [{ backendRefs: [{ name: 'echo', port: 80 }] }] } };
}

const FOREIGN = { type: 'example.com/Audited', status: 'True', reason: 'Seen', message: 'by another controller', observedGeneration: 1, lastTransitionTime: '2026-01-01T00:00:00Z' };

before(async () => {
  server = new FakeKubeApiServer({ resources: ambitResources() });
  await server.start();
  const objects: Record<string, unknown>[] = [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default', labels: { 'istio.io/dataplane-mode': 'ambient', 'istio.io/use-waypoint': 'wp' } } },
    { apiVersion: `${GW}/v1`, kind: 'Gateway', metadata: { name: 'wp', namespace: 'default' }, spec: { gatewayClassName: 'istio-waypoint', listeners: [{ name: 'mesh', port: 15008, protocol: 'HBONE' }] } },
    { apiVersion: `${GW}/v1`, kind: 'Gateway', metadata: { name: 'ingress', namespace: 'default' }, spec: { gatewayClassName: 'other', listeners: [{ name: 'http', port: 80, protocol: 'HTTP' }] } },
    wpService,
    wpSlice(true),
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'echo', namespace: 'default' }, spec: { clusterIP: '10.96.1.1', ports: [{ name: 'http', port: 80 }] } },
    route('HTTPRoute', 'to-wp', [{ name: 'wp' }]),
    // A GAMMA route: parented to a Service the waypoint serves, not attached to the Gateway.
    route('GRPCRoute', 'gamma', [{ group: '', kind: 'Service', name: 'echo' }]),
    route('HTTPRoute', 'to-ingress', [{ name: 'ingress' }]),
  ];
  for (const o of objects) server.apply(o);
  server.state.patchStatus(GATEWAYS, 'default', 'wp', { conditions: [FOREIGN] });
  ({ plane } = await startClusterControlPlane(server));
  await waitUntil(() => cond('Programmed') !== undefined, 'the waypoint Gateway has our status', 20_000);
  await settled();
});

after(async () => {
  plane?.destroy();
  await server?.close();
});

test('the waypoint Gateway: ClusterIP and hostname, Accepted, Programmed, the listener with its one attached route', () => {
  const s = gatewayAt().status!;
  assert.deepEqual(s.addresses, [{ type: 'IPAddress', value: '10.96.0.2' }, { type: 'Hostname', value: HOST }]);
  assert.deepEqual(s.conditions!.map((c) => `${c.type}=${c.status} ${c.reason}: ${c.message}`), [
    'example.com/Audited=True Seen: by another controller',
    'Accepted=True Accepted: Resource accepted',
    `Programmed=True Programmed: Resource programmed, assigned to service(s) ${HOST}:15008`,
  ]);
  const generation = gatewayAt().metadata.generation;
  for (const c of s.conditions!.slice(1)) {
    assert.equal(c.observedGeneration, generation);
    assert.match(c.lastTransitionTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  }
  assert.equal(s.listeners!.length, 1);
  const l = s.listeners![0]!;
  assert.equal(l.name, 'mesh');
  assert.equal(l.attachedRoutes, 1, 'the HTTPRoute parented to the Gateway; not the GAMMA route');
  assert.deepEqual(l.supportedKinds.map((k) => k.kind), ['HTTPRoute', 'GRPCRoute', 'TCPRoute']);
  assert.deepEqual(l.conditions.map((c) => `${c.type}=${c.status} ${c.reason}`), ['Accepted=True Accepted', 'Conflicted=False NoConflicts', 'Programmed=True Programmed', 'ResolvedRefs=True ResolvedRefs']);
});

test('/debug/resources shows the status computed for each waypoint Gateway', async () => {
  const port = plane.addresses().monitoring!.port;
  const res = (await (await fetch(`http://127.0.0.1:${port}/debug/resources`)).json()) as { gatewayStatus: Array<{ namespace: string; name: string; listeners: Array<{ attachedRoutes: number }> }> };
  assert.deepEqual(res.gatewayStatus.map((g) => `${g.namespace}/${g.name} ${g.listeners.map((l) => l.attachedRoutes).join(',')}`), ['default/wp 1']);
});

test('a Gateway of another class is never written', () => {
  assert.equal(gatewayAt('ingress').status, undefined);
  assert.ok(gatewayPatches().every((p) => p.path === `/apis/${GW}/v1/namespaces/default/gateways/wp/status`), JSON.stringify(gatewayPatches()));
});

test('steady state: written once, and a change elsewhere writes nothing', async () => {
  assert.deepEqual(gatewayPatches().map((p) => p.status), [200]);
  server.apply({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'unrelated', namespace: 'default' } });
  const v = plane.pipeline.state().objectsVersion;
  await waitUntil(() => plane.pipeline.state().objectsVersion > v, 'the unrelated change was translated');
  assert.equal(await settled(), 1, 'an unchanged status was written again');
});

test('routes attaching and detaching move attachedRoutes; transition times of unchanged conditions stay', async () => {
  const before = structuredClone(cond('Programmed')!);
  server.apply(route('TCPRoute', 'tcp-to-wp', [{ name: 'wp', sectionName: 'mesh' }]));
  await waitUntil(() => attached() === 2, 'a TCPRoute attached');
  // Moved to the Service: a GAMMA route now, not attached to the Gateway.
  server.apply(route('HTTPRoute', 'to-wp', [{ group: '', kind: 'Service', name: 'echo' }]));
  await waitUntil(() => attached() === 1, 'the HTTPRoute detached');
  server.delete('TCPRoute', 'default', 'tcp-to-wp');
  await waitUntil(() => attached() === 0, 'the TCPRoute deleted');
  assert.equal(cond('Programmed')!.lastTransitionTime, before.lastTransitionTime);
  assert.ok(gatewayPatches().every((p) => p.status === 200));
});

test('the Service disappears: Programmed=False AddressNotUsable, the address stays; endpoints not ready: AddressNotAssigned; back: Programmed', async () => {
  const addresses = structuredClone(gatewayAt().status!.addresses);
  server.delete('Service', 'default', 'wp');
  await waitUntil(() => cond('Programmed')?.status === 'False', 'Programmed turns False', 10_000);
  assert.equal(programmed(), `False AddressNotUsable: Failed to assign to any requested addresses: hostname "${HOST}" not found`);
  assert.deepEqual(gatewayAt().status!.addresses, addresses, 'istiod never removes an address it reported');
  assert.equal(cond('Accepted')?.status, 'True');
  server.apply(wpService);
  server.apply(wpSlice(false));
  await waitUntil(() => cond('Programmed')?.reason === 'AddressNotAssigned', 'no ready endpoint yet', 10_000);
  assert.equal(programmed(), `False AddressNotAssigned: Failed to assign to any requested addresses: no instances found for hostname "${HOST}"`);
  server.apply(wpSlice(true));
  await waitUntil(() => cond('Programmed')?.status === 'True', 'Programmed again', 10_000);
  assert.equal(programmed(), `True Programmed: Resource programmed, assigned to service(s) ${HOST}:15008`);
  assert.ok(gatewayAt().status!.conditions!.some((c) => c.type === FOREIGN.type), 'the other controller\'s condition is still there');
});

test('a new generation: observedGeneration follows; a listener not on 15008/HBONE is flagged, not the Gateway', async () => {
  const current = gatewayAt();
  server.apply({
    apiVersion: `${GW}/v1`, kind: 'Gateway', metadata: { name: 'wp', namespace: 'default' },
    spec: { gatewayClassName: 'istio-waypoint', listeners: [{ name: 'mesh', port: 15008, protocol: 'HBONE' }, { name: 'http', port: 8080, protocol: 'HTTP' }] },
    status: current.status,
  });
  const generation = gatewayAt().metadata.generation;
  assert.equal(generation, current.metadata.generation + 1);
  await waitUntil(() => cond('Accepted')?.observedGeneration === generation, 'conditions observe the new generation', 10_000);
  const http = gatewayAt().status!.listeners!.find((l) => l.name === 'http')!;
  assert.deepEqual(http.conditions.find((c) => c.type === 'Accepted'), { ...http.conditions.find((c) => c.type === 'Accepted')!, status: 'False', reason: 'UnsupportedProtocol', message: 'Expected a single listener on port 15008 with protocol "HBONE"' });
  assert.equal(cond('Accepted')?.status, 'True');
  // The Service has no port 8080: the address is assigned, but not on every listener port.
  assert.equal(programmed(), `False AddressNotUsable: Assigned to service(s) ${HOST}:15008, but failed to assign to all requested addresses: port 8080 not found for hostname "${HOST}"`);
});
