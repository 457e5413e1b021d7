// Waypoint Gateway status from the whole translation (translateAll → waypoints.gatewayStatus), per
// case: Programmed and addresses from the waypoint Service and its ready endpoints (istiod's
// messages and reasons), listeners' Accepted for non-HBONE listeners, supportedKinds narrowed by
// allowedRoutes.kinds, attachedRoutes from parentRefs and allowedRoutes only, other classes skipped.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { translateAll, type GatewayStatus } from '../../src/controlplane/index.js';
import { snapshotOf, type KubeObject } from '../../src/k8s/index.js';
import { OPTS, ambientNs, endpointSlice, gateway, namespace, service } from '../helpers/k8s-objects.js';
import { grpcRoute, route, svc, tcpRoute, toService } from '../helpers/waypoint-objects.js';

const HOST = 'wp.default.svc.cluster.local';
const MANAGED = { 'gateway.istio.io/managed': 'istio.io-mesh-controller' };
const wpService = (o: { clusterIPs?: string[]; ports?: { name: string; port: number }[]; labels?: Record<string, string> } = {}): KubeObject<'Service'> =>
  service('wp', { clusterIPs: o.clusterIPs ?? ['10.96.0.2'], ports: o.ports ?? [{ name: 'mesh', port: 15008 }], labels: o.labels ?? MANAGED });
const slice = (o: { ready?: boolean; port?: string; name?: string } = {}): KubeObject<'EndpointSlice'> =>
  endpointSlice(o.name ?? 'wp-abc', 'default', 'wp', {
    endpoints: [{ addresses: ['10.244.0.7'], conditions: o.ready === undefined ? {} : { ready: o.ready } }],
    ports: [{ name: o.port ?? 'mesh', port: 15008, protocol: 'TCP' }],
  });
const toGw = (name = 'wp', extra: Record<string, unknown> = {}): Record<string, unknown>[] => [{ name, ...extra }];
const ok = { backendRefs: [{ name: 'echo', port: 80 }] };

function statusOf(objects: KubeObject[], name = 'wp'): GatewayStatus {
  const all = translateAll(snapshotOf([ambientNs('default'), ...objects]), OPTS);
  const s = all.waypoints.gatewayStatus.find((g) => g.name === name);
  assert.ok(s, `no status for Gateway ${name}: ${JSON.stringify(all.waypoints.gatewayStatus)}`);
  return s;
}
const conds = (cs: GatewayStatus['conditions']): string[] => cs.map((c) => `${c.type}=${c.status} ${c.reason}: ${c.message}`);

const ACCEPTED = 'Accepted=True Accepted: Resource accepted';
const programmedRows: [string, KubeObject[], string, unknown][] = [
  [
    'Service with a ready endpoint on 15008: Programmed, assigned; addresses ClusterIP then hostname',
    [gateway('wp'), wpService(), slice()],
    `Programmed=True Programmed: Resource programmed, assigned to service(s) ${HOST}:15008`,
    [{ type: 'IPAddress', value: '10.96.0.2' }, { type: 'Hostname', value: HOST }],
  ],
  [
    'dual-stack: both ClusterIPs, in the Service\'s order',
    [gateway('wp'), wpService({ clusterIPs: ['10.96.0.2', 'fd00::2'] }), slice()],
    `Programmed=True Programmed: Resource programmed, assigned to service(s) ${HOST}:15008`,
    [{ type: 'IPAddress', value: '10.96.0.2' }, { type: 'IPAddress', value: 'fd00::2' }, { type: 'Hostname', value: HOST }],
  ],
  [
    'no Service: AddressNotUsable, hostname not found; no address to report',
    [gateway('wp')],
    `Programmed=False AddressNotUsable: Failed to assign to any requested addresses: hostname "${HOST}" not found`,
    undefined,
  ],
  [
    'Service without endpoints (the pod is not up yet): AddressNotAssigned, no instances',
    [gateway('wp'), wpService()],
    `Programmed=False AddressNotAssigned: Failed to assign to any requested addresses: no instances found for hostname "${HOST}"`,
    undefined,
  ],
  [
    'an endpoint that is not ready is no instance',
    [gateway('wp'), wpService(), slice({ ready: false })],
    `Programmed=False AddressNotAssigned: Failed to assign to any requested addresses: no instances found for hostname "${HOST}"`,
    undefined,
  ],
  [
    'Service without port 15008 but with endpoints: AddressNotUsable, port not found',
    [gateway('wp'), wpService({ ports: [{ name: 'http', port: 80 }] }), slice({ port: 'http' })],
    `Programmed=False AddressNotUsable: Failed to assign to any requested addresses: port 15008 not found for hostname "${HOST}"`,
    undefined,
  ],
  [
    'Istio-managed Service with 15008 whose endpoints list another port: only lagging, Programmed',
    [gateway('wp'), wpService({ ports: [{ name: 'mesh', port: 15008 }, { name: 'status', port: 15021 }] }), slice({ port: 'status' })],
    'Programmed=True Programmed: Resource programmed',
    undefined,
  ],
  [
    'the same Service not Istio-managed: AddressNotUsable',
    [gateway('wp'), wpService({ ports: [{ name: 'mesh', port: 15008 }, { name: 'status', port: 15021 }], labels: {} }), slice({ port: 'status' })],
    `Programmed=False AddressNotUsable: Failed to assign to any requested addresses: port 15008 not found for hostname "${HOST}"`,
    undefined,
  ],
  [
    'an extra listener port the Service lacks: assigned, but not to all',
    [gateway('wp', { listeners: [{ name: 'mesh', port: 15008, protocol: 'HBONE' }, { name: 'http', port: 80, protocol: 'HTTP' }] }), wpService({ labels: {} }), slice()],
    `Programmed=False AddressNotUsable: Assigned to service(s) ${HOST}:15008, but failed to assign to all requested addresses: port 80 not found for hostname "${HOST}"`,
    [{ type: 'IPAddress', value: '10.96.0.2' }, { type: 'Hostname', value: HOST }],
  ],
];

for (const [name, objects, programmed, addresses] of programmedRows) {
  test(`Programmed: ${name}`, () => {
    const s = statusOf(objects);
    assert.deepEqual(conds(s.conditions), [ACCEPTED, programmed]);
    assert.deepEqual(s.addresses, addresses);
  });
}

test('every condition carries the Gateway\'s generation', () => {
  const gw = gateway('wp') as unknown as { metadata: Record<string, unknown> };
  gw.metadata['generation'] = 4;
  const s = statusOf([gw as unknown as KubeObject, wpService(), slice()]);
  assert.deepEqual([...s.conditions, ...s.listeners.flatMap((l) => l.conditions)].map((c) => c.observedGeneration), [4, 4, 4, 4, 4, 4]);
});

const NO_ERRORS = 'No errors found';
test('the HBONE listener on 15008: accepted, every route kind the waypoint serves', () => {
  const [l] = statusOf([gateway('wp'), wpService(), slice()]).listeners;
  assert.deepEqual(l, {
    name: 'mesh',
    supportedKinds: ['HTTPRoute', 'GRPCRoute', 'TCPRoute'].map((kind) => ({ group: 'gateway.networking.k8s.io', kind })),
    attachedRoutes: 0,
    conditions: [
      { type: 'Accepted', status: 'True', reason: 'Accepted', message: NO_ERRORS, observedGeneration: 0 },
      { type: 'Conflicted', status: 'False', reason: 'NoConflicts', message: NO_ERRORS, observedGeneration: 0 },
      { type: 'Programmed', status: 'True', reason: 'Programmed', message: NO_ERRORS, observedGeneration: 0 },
      { type: 'ResolvedRefs', status: 'True', reason: 'ResolvedRefs', message: NO_ERRORS, observedGeneration: 0 },
    ],
  });
});

const listenerRows: [string, Record<string, unknown>, string, string[], string][] = [
  ['HTTP on 15008', { name: 'l', port: 15008, protocol: 'HTTP' }, 'Accepted=False UnsupportedProtocol: Expected a single listener on port 15008 with protocol "HBONE"', ['HTTPRoute', 'GRPCRoute'], 'ResolvedRefs=True ResolvedRefs: No errors found'],
  ['HBONE on another port', { name: 'l', port: 15009, protocol: 'HBONE' }, 'Accepted=False UnsupportedProtocol: Expected a single listener on port 15008 with protocol "HBONE"', ['HTTPRoute', 'GRPCRoute', 'TCPRoute'], 'ResolvedRefs=True ResolvedRefs: No errors found'],
  ['TCP on 15008', { name: 'l', port: 15008, protocol: 'TCP' }, 'Accepted=False UnsupportedProtocol: Expected a single listener on port 15008 with protocol "HBONE"', ['TCPRoute'], 'ResolvedRefs=True ResolvedRefs: No errors found'],
  ['UDP: no kind at all', { name: 'l', port: 15008, protocol: 'UDP' }, 'Accepted=False UnsupportedProtocol: Expected a single listener on port 15008 with protocol "HBONE"', [], 'ResolvedRefs=True ResolvedRefs: No errors found'],
  [
    'HBONE with allowedRoutes.kinds HTTPRoute only',
    { name: 'l', port: 15008, protocol: 'HBONE', allowedRoutes: { kinds: [{ kind: 'HTTPRoute' }] } },
    'Accepted=True Accepted: No errors found', ['HTTPRoute'], 'ResolvedRefs=True ResolvedRefs: No errors found',
  ],
  [
    'HBONE with allowedRoutes.kinds naming a kind it cannot take: InvalidRouteKinds, the valid one kept',
    { name: 'l', port: 15008, protocol: 'HBONE', allowedRoutes: { kinds: [{ kind: 'TCPRoute' }, { group: 'example.com', kind: 'FancyRoute' }] } },
    'Accepted=True Accepted: No errors found', ['TCPRoute'], 'ResolvedRefs=False InvalidRouteKinds: Invalid route kinds',
  ],
];

for (const [name, listener, accepted, kinds, resolved] of listenerRows) {
  test(`listener: ${name}`, () => {
    const [l] = statusOf([gateway('wp', { listeners: [listener] }), wpService(), slice()]).listeners;
    const lines = conds(l!.conditions);
    assert.equal(lines[0], accepted);
    assert.equal(lines[3], resolved);
    assert.deepEqual(l!.supportedKinds.map((k) => k.kind), kinds);
  });
}

const attachRows: [string, Record<string, unknown>[], KubeObject[], number[]][] = [
  ['no route: 0', [{ name: 'mesh', port: 15008, protocol: 'HBONE' }], [], [0]],
  [
    'one of each kind with the Gateway as parent, one GAMMA route (a Service parent, not Gateway-attached): 3',
    [{ name: 'mesh', port: 15008, protocol: 'HBONE' }],
    [route('h', { parentRefs: toGw(), rules: [ok] }), grpcRoute('g', { parentRefs: toGw(), rules: [ok] }), tcpRoute('t', { parentRefs: toGw(), rules: [ok] }), svc('echo'), route('gamma', { parentRefs: toService('echo'), rules: [ok] })],
    [3],
  ],
  [
    'a route counts once per listener however many of its parentRefs select it',
    [{ name: 'mesh', port: 15008, protocol: 'HBONE' }],
    [route('h', { parentRefs: [...toGw(), ...toGw('wp', { sectionName: 'mesh' }), ...toGw('wp', { port: 15008 })], rules: [ok] })],
    [1],
  ],
  [
    'sectionName and port select listeners; one naming neither selects both',
    [{ name: 'mesh', port: 15008, protocol: 'HBONE' }, { name: 'other', port: 15009, protocol: 'HBONE' }],
    [route('a', { parentRefs: toGw('wp', { sectionName: 'other' }), rules: [ok] }), route('b', { parentRefs: toGw('wp', { port: 15008 }), rules: [ok] }), route('c', { parentRefs: toGw(), rules: [ok] }), route('d', { parentRefs: toGw('wp', { sectionName: 'none' }), rules: [ok] })],
    [2, 2],
  ],
  [
    'allowedRoutes: another namespace only counts where the listener admits it (All, Selector)',
    [
      { name: 'same', port: 15008, protocol: 'HBONE' },
      { name: 'all', port: 15008, protocol: 'HBONE', allowedRoutes: { namespaces: { from: 'All' } } },
      { name: 'sel', port: 15008, protocol: 'HBONE', allowedRoutes: { namespaces: { from: 'Selector', selector: { matchLabels: { team: 'a' } } } } },
    ],
    [namespace('other', { team: 'a' }), namespace('third'), route('x', { parentRefs: toGw('wp', { namespace: 'default' }), rules: [ok] }, { ns: 'other' }), route('y', { parentRefs: toGw('wp', { namespace: 'default' }), rules: [ok] }, { ns: 'third' })],
    [0, 2, 1],
  ],
  [
    'allowedRoutes.kinds: a kind the listener does not take is not attached',
    [{ name: 'mesh', port: 15008, protocol: 'HBONE', allowedRoutes: { kinds: [{ kind: 'HTTPRoute' }] } }],
    [route('h', { parentRefs: toGw(), rules: [ok] }), tcpRoute('t', { parentRefs: toGw(), rules: [ok] })],
    [1],
  ],
  [
    'a route of another Gateway or to a same-named Gateway in another namespace is not counted',
    [{ name: 'mesh', port: 15008, protocol: 'HBONE' }],
    [route('h', { parentRefs: toGw('ingress'), rules: [ok] }), route('o', { parentRefs: toGw('wp'), rules: [ok] }, { ns: 'other' })],
    [0],
  ],
  [
    'a route on a listener that is not Accepted still counts (the spec: status never affects attachment)',
    [{ name: 'http', port: 80, protocol: 'HTTP' }],
    [route('h', { parentRefs: toGw(), rules: [{ matches: [{ method: 'FETCH' }], ...ok }] })],
    [1],
  ],
];

for (const [name, listeners, objects, counts] of attachRows) {
  test(`attachedRoutes: ${name}`, () => {
    const s = statusOf([gateway('wp', { listeners }), wpService(), slice(), ...objects]);
    assert.deepEqual(s.listeners.map((l) => l.attachedRoutes), counts);
  });
}

test('only istio-waypoint Gateways get a status; sorted by namespace/name', () => {
  const all = translateAll(snapshotOf([
    ambientNs('default'), namespace('b'),
    gateway('wp'), gateway('ingress', { className: 'istio' }), gateway('a', { ns: 'b' }), gateway('z'),
  ]), OPTS);
  assert.deepEqual(all.waypoints.gatewayStatus.map((g) => `${g.namespace}/${g.name}`), ['b/a', 'default/wp', 'default/z']);
});
