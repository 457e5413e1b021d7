// translateMesh, waypoints: istio.io/use-waypoint on namespace, Service and pod (most specific
// wins, `none` opts out, cross-namespace use), istio.io/waypoint-for, addresses, the waypoint's own pods.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { translateMesh } from '../../src/controlplane/index.js';
import { snapshotOf, type KubeObject } from '../../src/k8s/index.js';
import type { GatewayAddress } from '../../src/state/index.js';
import { OPTS, ambientNs, expectedWorkload, gateway, namespace, pod, problemLines, service, serviceNamed, workloadNamed } from '../helpers/k8s-objects.js';

const addr = (name: string, ns = 'default'): GatewayAddress => ({
  destination: { kind: 'hostname', namespace: ns, hostname: `${name}.${ns}.svc.cluster.local` },
  hboneMtlsPort: 15008,
});

/** A ready waypoint as Istio deploys it: the Gateway plus its Service of the same name. */
function waypoint(name: string, waypointFor?: string, ns = 'default', extra: Parameters<typeof gateway>[1] = {}): KubeObject[] {
  const labels: Record<string, string> = waypointFor ? { 'istio.io/waypoint-for': waypointFor } : {};
  return [gateway(name, { ns, labels, ...extra }), service(name, { ns, clusterIP: '10.96.9.9', ports: [{ port: 15008 }] })];
}

const useWp = (name: string, ns?: string): Record<string, string> =>
  ns ? { 'istio.io/use-waypoint': name, 'istio.io/use-waypoint-namespace': ns } : { 'istio.io/use-waypoint': name };

interface Row {
  readonly name: string;
  readonly objects: KubeObject[];
  /** Expected waypoint of Service `svc` and of workload `p`. */
  readonly svc: GatewayAddress | undefined;
  readonly pod: GatewayAddress | undefined;
  readonly problems?: string[];
}

const rows: Row[] = [
  {
    name: 'namespace label, waypoint-for absent (service): Service only',
    objects: [ambientNs('default', useWp('wp')), ...waypoint('wp'), service('svc'), pod('p')],
    svc: addr('wp'), pod: undefined,
  },
  {
    name: 'namespace label, waypoint-for workload: pod only; the Service is told why',
    objects: [ambientNs('default', useWp('wp')), ...waypoint('wp', 'workload'), service('svc'), pod('p')],
    svc: undefined, pod: addr('wp'),
    problems: ['warning Service/default/svc namespace label istio.io/use-waypoint: UnsupportedTrafficType: attempting to bind to traffic type "service" which the waypoint "default/wp" does not support (istio.io/waypoint-for: workload)'],
  },
  {
    name: 'waypoint-for all: both',
    objects: [ambientNs('default', useWp('wp')), ...waypoint('wp', 'all'), service('svc'), pod('p')],
    svc: addr('wp'), pod: addr('wp'),
  },
  {
    name: 'waypoint-for none: neither',
    objects: [ambientNs('default', useWp('wp')), ...waypoint('wp', 'none'), service('svc'), pod('p')],
    svc: undefined, pod: undefined,
    problems: ['warning Service/default/svc namespace label istio.io/use-waypoint: UnsupportedTrafficType: attempting to bind to traffic type "service" which the waypoint "default/wp" does not support (istio.io/waypoint-for: none)'],
  },
  {
    name: 'Service and pod label `none` opt out of the namespace waypoint',
    objects: [ambientNs('default', useWp('wp')), ...waypoint('wp', 'all'), service('svc', { labels: useWp('none') }), pod('p', { labels: useWp('none') })],
    svc: undefined, pod: undefined,
  },
  {
    name: 'Service and pod labels beat the namespace label',
    objects: [ambientNs('default', useWp('wp')), ...waypoint('wp', 'all'), ...waypoint('wp2', 'all'), service('svc', { labels: useWp('wp2') }), pod('p', { labels: useWp('wp2') })],
    svc: addr('wp2'), pod: addr('wp2'),
  },
  {
    name: 'object label without a namespace label',
    objects: [ambientNs(), ...waypoint('wp', 'all'), service('svc', { labels: useWp('wp') }), pod('p', { labels: useWp('wp') })],
    svc: addr('wp'), pod: addr('wp'),
  },
  {
    name: 'a missing waypoint named on the object: none, and no fallback to the namespace label',
    objects: [ambientNs('default', useWp('wp')), ...waypoint('wp', 'all'), service('svc', { labels: useWp('gone') }), pod('p', { labels: useWp('gone') })],
    svc: undefined, pod: undefined,
    problems: [
      'warning Service/default/svc metadata.labels["istio.io/use-waypoint"]: WaypointIsNotReady: waypoint "default/gone" is not ready',
      'warning Pod/default/p metadata.labels["istio.io/use-waypoint"]: WaypointIsNotReady: waypoint "default/gone" is not ready',
    ],
  },
  {
    name: 'pod label naming a service-only waypoint: no workload waypoint (no fallback)',
    objects: [ambientNs('default', useWp('wp')), ...waypoint('wp', 'all'), ...waypoint('svconly'), pod('p', { labels: useWp('svconly') })],
    svc: undefined, pod: undefined,
    problems: ['warning Pod/default/p metadata.labels["istio.io/use-waypoint"]: UnsupportedTrafficType: attempting to bind to traffic type "workload" which the waypoint "default/svconly" does not support (istio.io/waypoint-for: service)'],
  },
  {
    name: 'waypoint in another namespace that allows All',
    objects: [
      ambientNs(), namespace('infra'),
      ...waypoint('wp', 'all', 'infra', { listeners: [{ name: 'mesh', port: 15008, protocol: 'HBONE', allowedRoutes: { namespaces: { from: 'All' } } }] }),
      service('svc', { labels: useWp('wp', 'infra') }), pod('p', { labels: useWp('wp', 'infra') }),
    ],
    svc: addr('wp', 'infra'), pod: addr('wp', 'infra'),
  },
  {
    name: 'namespace label with istio.io/use-waypoint-namespace, allowed by a namespace selector',
    objects: [
      ambientNs('default', { ...useWp('wp', 'infra'), team: 'a' }), namespace('infra'),
      ...waypoint('wp', 'all', 'infra', {
        listeners: [{ name: 'mesh', port: 15008, protocol: 'HBONE', allowedRoutes: { namespaces: { from: 'Selector', selector: { matchLabels: { team: 'a' } } } } }],
      }),
      service('svc'), pod('p'),
    ],
    svc: addr('wp', 'infra'), pod: addr('wp', 'infra'),
  },
  {
    name: 'waypoint in another namespace with the default allowedRoutes (Same): attachment denied',
    objects: [ambientNs(), namespace('infra'), ...waypoint('wp', 'all', 'infra'), service('svc', { labels: useWp('wp', 'infra') })],
    svc: undefined, pod: undefined,
    problems: ['warning Service/default/svc metadata.labels["istio.io/use-waypoint"]: AttachmentDenied: we are not permitted to attach to waypoint "infra/wp" (missing allowedRoutes?)'],
  },
  {
    name: "the waypoint's own pods and Service never get a waypoint",
    objects: [
      ambientNs('default', useWp('wp')), ...waypoint('wp', 'all'),
      service('svc', { labels: { 'gateway.istio.io/managed': 'istio.io-mesh-controller' } }),
      pod('p', { labels: { 'gateway.networking.k8s.io/gateway-name': 'wp' } }),
    ],
    svc: undefined, pod: undefined,
  },
  {
    name: 'status.addresses: a Hostname wins over an IPAddress and over the Service',
    objects: [
      ambientNs('default', useWp('wp')),
      ...waypoint('wp', 'all', 'default', { addresses: [{ type: 'IPAddress', value: '10.1.1.1' }, { type: 'Hostname', value: 'wp.example' }] }),
      service('svc'), pod('p'),
    ],
    svc: { destination: { kind: 'hostname', namespace: 'default', hostname: 'wp.example' }, hboneMtlsPort: 15008 },
    pod: { destination: { kind: 'hostname', namespace: 'default', hostname: 'wp.example' }, hboneMtlsPort: 15008 },
  },
  {
    name: 'status.addresses: an IPAddress on the network',
    objects: [ambientNs('default', useWp('wp')), gateway('wp', { labels: { 'istio.io/waypoint-for': 'all' }, addresses: [{ type: 'IPAddress', value: '10.1.1.1' }] }), service('svc'), pod('p')],
    svc: { destination: { kind: 'address', network: '', ip: '10.1.1.1' }, hboneMtlsPort: 15008 },
    pod: { destination: { kind: 'address', network: '', ip: '10.1.1.1' }, hboneMtlsPort: 15008 },
  },
  {
    name: 'a waypoint without status address or Service is not ready',
    objects: [ambientNs('default', useWp('wp')), gateway('wp'), service('svc'), pod('p')],
    svc: undefined, pod: undefined,
    problems: [
      'warning Gateway/default/wp status.addresses: waypoint has no address: no status.addresses and no Service default/wp; services and workloads that use it get no waypoint (istiod: WaypointIsNotReady)',
      'warning Service/default/svc namespace label istio.io/use-waypoint: WaypointIsNotReady: waypoint "default/wp" is not ready',
    ],
  },
  {
    name: 'a Gateway of another class is not a waypoint',
    objects: [ambientNs('default', useWp('gw')), gateway('gw', { className: 'istio' }), service('gw'), service('svc'), pod('p')],
    svc: undefined, pod: undefined,
    problems: [
      'warning Service/default/gw namespace label istio.io/use-waypoint: WaypointIsNotReady: waypoint "default/gw" is not ready',
      'warning Service/default/svc namespace label istio.io/use-waypoint: WaypointIsNotReady: waypoint "default/gw" is not ready',
    ],
  },
];

for (const row of rows) {
  test(`waypoint: ${row.name}`, () => {
    const t = translateMesh(snapshotOf(row.objects), OPTS);
    assert.deepEqual(serviceNamed(t, 'svc')?.waypoint, row.svc);
    assert.deepEqual(workloadNamed(t, 'p')?.waypoint, row.pod);
    assert.deepEqual(problemLines(t), row.problems ?? []);
  });
}

test("waypoint pods: no waypoint, the inbound binding as application tunnel; the waypoint's Service has none either", () => {
  const t = translateMesh(snapshotOf([
    ambientNs('default', useWp('wp')),
    ...waypoint('wp', 'all', 'default', { annotations: { 'ambient.istio.io/waypoint-inbound-binding': 'PROXY/15088' } }),
    pod('wp-1', { labels: { 'gateway.networking.k8s.io/gateway-name': 'wp', 'networking.istio.io/tunnel': 'http' } }),
  ]), OPTS);
  assert.deepEqual(workloadNamed(t, 'wp-1'), expectedWorkload('wp-1', { nativeTunnel: true, applicationTunnel: { protocol: 'PROXY', port: 15088 } }));
  assert.equal(serviceNamed(t, 'wp')?.waypoint, undefined);
});

test('the translation lists the waypoints it found, with traffic type and address', () => {
  const t = translateMesh(snapshotOf([...waypoint('b', 'workload'), gateway('a', { ns: 'x' }), gateway('c', { className: 'other' })]), OPTS);
  assert.deepEqual(t.waypoints, [
    { namespace: 'default', name: 'b', trafficType: 'workload', address: addr('b') },
    { namespace: 'x', name: 'a', trafficType: 'service', address: undefined },
  ]);
});

test('an unknown istio.io/waypoint-for value is reported', () => {
  const t = translateMesh(snapshotOf(waypoint('wp', 'pods')), OPTS);
  assert.deepEqual(problemLines(t), [
    'warning Gateway/default/wp metadata.labels["istio.io/waypoint-for"]: "pods" is not one of service, workload, all, none: no service or workload can use this waypoint',
  ]);
});
