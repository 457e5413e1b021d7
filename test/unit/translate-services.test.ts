// translateMesh, Services: hostname, VIPs, ports, load balancing from traffic policy/distribution;
// endpoints: named targetPorts per pod, selection, and selector-less Services fed by EndpointSlices.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { translateMesh } from '../../src/controlplane/index.js';
import { snapshotOf, type KubeObject } from '../../src/k8s/index.js';
import type { Service, Workload } from '../../src/state/index.js';
import {
  OPTS, ambientNs, endpointSlice, expectedService, expectedWorkload, pod, ports, problemLines, service, serviceNamed, workloadNamed,
} from '../helpers/k8s-objects.js';

const HOST = 'default/svc.default.svc.cluster.local';

const serviceRows: { name: string; svc: KubeObject<'Service'>; expected: Service | undefined }[] = [
  { name: 'ClusterIP service: hostname, VIP, port map, canonical', svc: service('svc'), expected: expectedService('svc') },
  { name: 'headless (clusterIP None): no VIP', svc: service('svc', { clusterIP: 'None' }), expected: expectedService('svc', { vips: [] }) },
  {
    name: 'dual-stack clusterIPs and ipFamilies',
    svc: service('svc', { clusterIPs: ['10.96.0.10', 'fd00:10::a'], spec: { ipFamilies: ['IPv4', 'IPv6'] } }),
    expected: expectedService('svc', { vips: [{ network: '', ip: '10.96.0.10' }, { network: '', ip: 'fd00:10::a' }], ipFamilies: 'Dual' }),
  },
  { name: 'single family IPv6', svc: service('svc', { spec: { ipFamilies: ['IPv6'] } }), expected: expectedService('svc', { ipFamilies: 'IPv6' }) },
  { name: 'ExternalName: not translated', svc: service('svc', { spec: { type: 'ExternalName', externalName: 'x.example.com' } }), expected: undefined },
  {
    name: 'named targetPort is 0 (resolved per endpoint); absent targetPort is the port',
    svc: service('svc', { ports: [{ name: 'a', port: 80, targetPort: 'http-web' }, { name: 'b', port: 81 }, { name: 'c', port: 82, targetPort: 9082 }] }),
    expected: expectedService('svc', { ports: ports([80, 0], [81, 81], [82, 9082]) }),
  },
  {
    name: 'internalTrafficPolicy Local: strict to the node',
    svc: service('svc', { spec: { internalTrafficPolicy: 'Local', trafficDistribution: 'PreferClose' } }),
    expected: expectedService('svc', { loadBalancer: { routingPreferences: ['Node'], mode: 'Strict', healthPolicy: 'OnlyHealthy' } }),
  },
  ...(['PreferClose', 'PreferSameZone'] as const).map((v) => ({
    name: `spec.trafficDistribution ${v}: failover network, region, zone`,
    svc: service('svc', { spec: { trafficDistribution: v } }),
    expected: expectedService('svc', { loadBalancer: { routingPreferences: ['Network', 'Region', 'Zone'], mode: 'Failover', healthPolicy: 'OnlyHealthy' } }),
  })),
  {
    name: 'spec.trafficDistribution PreferSameNode: failover down to the node',
    svc: service('svc', { spec: { trafficDistribution: 'PreferSameNode' }, annotations: { 'networking.istio.io/traffic-distribution': 'PreferClose' } }),
    expected: expectedService('svc', {
      loadBalancer: { routingPreferences: ['Network', 'Region', 'Zone', 'Subzone', 'Node'], mode: 'Failover', healthPolicy: 'OnlyHealthy' },
    }),
  },
  {
    name: 'annotation networking.istio.io/traffic-distribution (case-insensitive) when the field is unset or unknown',
    svc: service('svc', { spec: { trafficDistribution: 'Whatever' }, annotations: { 'networking.istio.io/traffic-distribution': 'preferclose' } }),
    expected: expectedService('svc', { loadBalancer: { routingPreferences: ['Network', 'Region', 'Zone'], mode: 'Failover', healthPolicy: 'OnlyHealthy' } }),
  },
  {
    name: 'publishNotReadyAddresses alone: standard mode, all endpoints',
    svc: service('svc', { spec: { publishNotReadyAddresses: true } }),
    expected: expectedService('svc', { loadBalancer: { routingPreferences: [], mode: 'Standard', healthPolicy: 'AllowAll' } }),
  },
  {
    name: 'publishNotReadyAddresses keeps the traffic policy',
    svc: service('svc', { spec: { publishNotReadyAddresses: true, internalTrafficPolicy: 'Local' } }),
    expected: expectedService('svc', { loadBalancer: { routingPreferences: ['Node'], mode: 'Strict', healthPolicy: 'AllowAll' } }),
  },
];

for (const row of serviceRows) {
  test(`service: ${row.name}`, () => {
    const t = translateMesh(snapshotOf([row.svc]), OPTS);
    assert.deepEqual(serviceNamed(t, 'svc'), row.expected);
    assert.deepEqual(t.errors, []);
  });
}

test('service VIPs are on the configured network', () => {
  const t = translateMesh(snapshotOf([service('svc')]), { ...OPTS, network: 'net1' });
  assert.deepEqual(serviceNamed(t, 'svc')?.vips, [{ network: 'net1', ip: '10.96.0.10' }]);
});

test('a Service whose cluster IP does not parse is left out and reported; the rest translate', () => {
  const t = translateMesh(snapshotOf([service('svc', { clusterIP: 'ten' }), service('ok')]), OPTS);
  assert.deepEqual(t.services.map((s) => s.name), ['ok']);
  assert.deepEqual(problemLines(t), ['error Service/default/svc spec.clusterIP: "ten" is not an IP address; the Service is left out']);
});

const endpointRows: { name: string; objects: KubeObject[]; services: Workload['services'] }[] = [
  {
    name: 'numeric targetPort',
    objects: [service('svc', { selector: { role: 'a' } }), pod('p', { labels: { role: 'a', v: '1' } })],
    services: new Map([[HOST, ports([80, 8080])]]),
  },
  {
    name: 'named targetPort resolved from the container port of that name',
    objects: [
      service('svc', { selector: { role: 'a' }, ports: [{ port: 80, targetPort: 'web' }, { port: 90, targetPort: 9090 }] }),
      pod('p', { labels: { role: 'a' }, ports: [{ name: 'web', containerPort: 8081 }] }),
    ],
    services: new Map([[HOST, ports([80, 8081], [90, 9090])]]),
  },
  {
    name: 'named targetPort the pod lacks: that port is left out of this endpoint',
    objects: [service('svc', { selector: { role: 'a' }, ports: [{ port: 80, targetPort: 'web' }, { port: 90, targetPort: 9090 }] }), pod('p', { labels: { role: 'a' } })],
    services: new Map([[HOST, ports([90, 9090])]]),
  },
  {
    name: 'a UDP container port does not resolve a named targetPort',
    objects: [
      service('svc', { selector: { role: 'a' }, ports: [{ port: 80, targetPort: 'web' }] }),
      pod('p', { labels: { role: 'a' }, ports: [{ name: 'web', containerPort: 8081, protocol: 'UDP' }] }),
    ],
    services: new Map([[HOST, ports()]]),
  },
  { name: 'selector not satisfied', objects: [service('svc', { selector: { role: 'a', tier: 'x' } }), pod('p', { labels: { role: 'a' } })], services: new Map() },
  { name: 'service in another namespace', objects: [service('svc', { ns: 'other', selector: { role: 'a' } }), pod('p', { labels: { role: 'a' } })], services: new Map() },
  { name: 'a service without selector selects no pod by labels', objects: [service('svc'), pod('p', { labels: { role: 'a' } })], services: new Map() },
  {
    name: 'selector-less Service whose EndpointSlice names the pod (targetRef)',
    objects: [
      service('svc'),
      pod('p', { uid: 'u-p' }),
      endpointSlice('svc-x', 'default', 'svc', { endpoints: [{ addresses: ['10.0.0.1'], targetRef: { kind: 'Pod', name: 'p', namespace: 'default', uid: 'u-p' } }] }),
    ],
    services: new Map([[HOST, ports([80, 8080])]]),
  },
  {
    name: 'an EndpointSlice that only shares the pod IP is not merged with the pod',
    objects: [service('svc'), pod('p'), endpointSlice('svc-x', 'default', 'svc', { endpoints: [{ addresses: ['10.0.0.1'], targetRef: { kind: 'Pod', name: 'other', namespace: 'default' } }] })],
    services: new Map(),
  },
];

for (const row of endpointRows) {
  test(`endpoint ports: ${row.name}`, () => {
    const t = translateMesh(snapshotOf([ambientNs(), ...row.objects]), OPTS);
    assert.deepEqual(workloadNamed(t, 'p'), expectedWorkload('p', { services: row.services }));
  });
}

/** What istiod sends for an endpoint of a selector-less Service that is not a pod. */
function sliceWorkload(ip: string, over: Partial<Workload> = {}): Workload {
  return {
    ...expectedWorkload('svc-x'),
    uid: `c1/discovery.k8s.io/EndpointSlice/default/svc-x/${ip}`,
    workloadIps: [ip],
    protocol: 'TCP',
    canonicalName: '',
    workloadName: '',
    workloadType: 'deployment',
    canonicalRevision: '',
    networkMode: 'HostNetwork',
    services: new Map([[HOST, ports([80, 8080])]]),
    ...over,
  };
}

test('EndpointSlice endpoints without a pod become workloads of their own', () => {
  const slice = endpointSlice('svc-x', 'default', 'svc', {
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }, { name: 'dns', port: 53, protocol: 'UDP' }],
    endpoints: [{ addresses: ['192.168.0.9'] }, { addresses: ['192.168.0.10'], conditions: { ready: false } }],
  });
  const t = translateMesh(snapshotOf([service('svc'), slice]), OPTS);
  assert.deepEqual(t.workloads, [sliceWorkload('192.168.0.10', { status: 'Unhealthy' }), sliceWorkload('192.168.0.9')]);
  assert.deepEqual(t.errors, []);
});

test('slice ports map to Service ports by name; unnamed ports match the unnamed Service port', () => {
  const slice = endpointSlice('svc-x', 'default', 'svc', { ports: [{ port: 7000 }, { name: 'other', port: 7001 }], endpoints: [{ addresses: ['192.168.0.9'] }] });
  const t = translateMesh(snapshotOf([service('svc', { ports: [{ port: 80, targetPort: 8080 }] }), slice]), OPTS);
  assert.deepEqual(t.workloads, [sliceWorkload('192.168.0.9', { services: new Map([[HOST, ports([80, 7000])]]) })]);
});

const ignoredSlices: [string, KubeObject[]][] = [
  ['no kubernetes.io/service-name label', [service('svc'), endpointSlice('svc-x', 'default', undefined, { endpoints: [{ addresses: ['192.168.0.9'] }] })]],
  ['FQDN slice', [service('svc'), endpointSlice('svc-x', 'default', 'svc', { addressType: 'FQDN', endpoints: [{ addresses: ['a.example.com'] }] })]],
  ['no such Service', [endpointSlice('svc-x', 'default', 'svc', { endpoints: [{ addresses: ['192.168.0.9'] }] })]],
  ['endpoint that is a pod', [service('svc'), endpointSlice('svc-x', 'default', 'svc', { endpoints: [{ addresses: ['192.168.0.9'], targetRef: { kind: 'Pod', name: 'gone' } }] })]],
];

for (const [name, objects] of ignoredSlices) {
  test(`EndpointSlice ignored: ${name}`, () => {
    const t = translateMesh(snapshotOf(objects), OPTS);
    assert.deepEqual(t.workloads, []);
    assert.deepEqual(t.errors, []);
  });
}

test('a repeated slice address and a bad one are reported; the good endpoint remains', () => {
  const slice = endpointSlice('svc-x', 'default', 'svc', {
    endpoints: [{ addresses: ['192.168.0.9'] }, { addresses: ['192.168.0.9'] }, { addresses: ['nope'] }],
  });
  const t = translateMesh(snapshotOf([service('svc'), slice]), OPTS);
  assert.deepEqual(t.workloads.map((w) => w.workloadIps), [['192.168.0.9']]);
  assert.deepEqual(problemLines(t), [
    'warning EndpointSlice/default/svc-x endpoints[1].addresses[0]: address 192.168.0.9 appears twice in the slice; later endpoint ignored',
    'error EndpointSlice/default/svc-x endpoints[2].addresses: "nope" holds a value that is not an IP address; endpoint left out',
  ]);
});
