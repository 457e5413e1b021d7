// Tests for ProxyState lookups: IP conflicts, VIP preference and CIDR fallback, endpoints, port
// mapping, health filtering, capacity weighting, locality ranking, policy selection, change events.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProxyState, type Authorization, type Service, type StateSnapshot, type Workload } from '../../src/state/index.js';

function wl(o: Partial<Workload> & { uid: string }): Workload {
  return {
    name: o.uid,
    namespace: 'default',
    workloadIps: [],
    hostname: '',
    network: '',
    protocol: 'HBONE',
    trustDomain: 'cluster.local',
    serviceAccount: 'default',
    waypoint: undefined,
    networkGateway: undefined,
    node: 'n1',
    canonicalName: '',
    canonicalRevision: '',
    workloadType: 'deployment',
    workloadName: '',
    nativeTunnel: false,
    applicationTunnel: undefined,
    services: new Map(),
    authorizationPolicies: [],
    status: 'Healthy',
    clusterId: 'Kubernetes',
    locality: { region: '', zone: '', subzone: '' },
    networkMode: 'Standard',
    capacity: 1,
    netns: undefined,
    ...o,
  };
}

function svc(o: Partial<Service> & { hostname: string }): Service {
  return {
    name: o.hostname,
    namespace: 'default',
    vips: [],
    cidrVips: [],
    ports: new Map([[80, 8080]]),
    subjectAltNames: [],
    waypoint: undefined,
    weightedWaypoints: [],
    loadBalancer: undefined,
    ipFamilies: 'Automatic',
    canonical: false,
    visibility: 'Public',
    ...o,
  };
}

function pol(o: Partial<Authorization> & { name: string }): Authorization {
  return { namespace: 'default', scope: 'Namespace', action: 'Allow', dryRun: false, rules: [], ...o };
}

function stateOf(s: Partial<StateSnapshot>, random?: () => number): ProxyState {
  const state = new ProxyState(random === undefined ? {} : { random });
  state.apply({ workloads: [], services: [], policies: [], ...s });
  return state;
}

const ep = (key: string, ports: [number, number][] = []): Map<string, Map<number, number>> => new Map([[key, new Map(ports)]]);

test('workloadByIp prefers Pod uids, then HBONE; HostNetwork is not indexed', () => {
  const state = stateOf({
    workloads: [
      wl({ uid: 'c//v1/WorkloadEntry/ns/a', workloadIps: ['10.0.0.1'], protocol: 'HBONE' }),
      wl({ uid: 'c//Pod/ns/tcp', workloadIps: ['10.0.0.1'], protocol: 'TCP' }),
      wl({ uid: 'c//Pod/ns/hbone', workloadIps: ['10.0.0.1'], protocol: 'HBONE' }),
      wl({ uid: 'host', workloadIps: ['10.0.0.2'], networkMode: 'HostNetwork' }),
      wl({ uid: 'other-net', network: 'remote', workloadIps: ['10.0.0.1'] }),
    ],
  });
  assert.equal(state.workloadByIp('', '10.0.0.1')?.uid, 'c//Pod/ns/hbone');
  assert.equal(state.workloadByIp('remote', '10.0.0.1')?.uid, 'other-net');
  assert.equal(state.workloadByIp('', '10.0.0.2'), undefined);
  assert.equal(state.workloadByUid('host')?.uid, 'host');
});

test('serviceByVip: visibility filter, then client namespace, canonical, first seen', () => {
  const vip = [{ network: '', ip: '10.96.0.1' }];
  const state = stateOf({
    services: [
      svc({ hostname: 'a', namespace: 'ns-a', vips: vip }),
      svc({ hostname: 'b', namespace: 'ns-b', vips: vip, canonical: true }),
      svc({ hostname: 'c', namespace: 'ns-c', vips: vip, visibility: 'Namespace' }),
    ],
  });
  assert.equal(state.serviceByVip('', '10.96.0.1', 'ns-a')?.hostname, 'a');
  assert.equal(state.serviceByVip('', '10.96.0.1', 'ns-c')?.hostname, 'c');
  assert.equal(state.serviceByVip('', '10.96.0.1', 'ns-x')?.hostname, 'b');
  assert.equal(state.serviceByVip('', '10.96.0.1')?.hostname, 'b');
  assert.equal(state.serviceByVip('other', '10.96.0.1'), undefined);
  const first = stateOf({ services: [svc({ hostname: 'x', vips: vip }), svc({ hostname: 'y', vips: vip })] });
  assert.equal(first.serviceByVip('', '10.96.0.1', 'elsewhere')?.hostname, 'x');
});

test('namespace-visible service hidden from other namespaces', () => {
  const state = stateOf({ services: [svc({ hostname: 'c', namespace: 'ns-c', vips: [{ network: '', ip: '10.96.0.1' }], visibility: 'Namespace' })] });
  assert.equal(state.serviceByVip('', '10.96.0.1', 'ns-x'), undefined);
  assert.equal(state.serviceByHostname('c', 'ns-x'), undefined);
  assert.equal(state.serviceByHostname('c', 'ns-c')?.namespace, 'ns-c');
});

test('CIDR VIPs only after an exact miss, ranked by namespace, prefix, canonical', () => {
  const state = stateOf({
    services: [
      svc({ hostname: 'wide', namespace: 'x', cidrVips: [{ network: '', ip: '10.0.0.0', prefixLength: 8 }] }),
      svc({ hostname: 'narrow', namespace: 'x', cidrVips: [{ network: '', ip: '10.1.0.0', prefixLength: 16 }] }),
      svc({ hostname: 'mine', namespace: 'me', cidrVips: [{ network: '', ip: '10.0.0.0', prefixLength: 8 }] }),
      svc({ hostname: 'exact', namespace: 'x', vips: [{ network: '', ip: '10.1.2.3' }] }),
      svc({ hostname: 'v6', namespace: 'x', cidrVips: [{ network: '', ip: 'fd00::', prefixLength: 64 }] }),
    ],
  });
  assert.equal(state.serviceByVip('', '10.1.2.3', 'me')?.hostname, 'exact');
  assert.equal(state.serviceByVip('', '10.1.2.4', 'me')?.hostname, 'mine');
  assert.equal(state.serviceByVip('', '10.1.2.4', 'other')?.hostname, 'narrow');
  assert.equal(state.serviceByVip('', '10.2.0.1', 'other')?.hostname, 'wide');
  assert.equal(state.serviceByVip('', '11.0.0.1', 'other'), undefined);
  assert.equal(state.serviceByVip('', 'fd00::5', 'other')?.hostname, 'v6');
  assert.equal(state.serviceByVip('', 'fd01::5', 'other'), undefined);
});

test('serviceByKey, serviceByHostname, servicesOf, endpoints staged before the service exists', () => {
  const w = wl({ uid: 'w', workloadIps: ['10.0.0.1'], services: new Map([['default/a', new Map()], ['default/later', new Map()]]) });
  const state = stateOf({
    workloads: [w],
    services: [svc({ hostname: 'a' }), svc({ hostname: 'a', namespace: 'other', canonical: true })],
  });
  assert.equal(state.serviceByKey('default/a')?.namespace, 'default');
  assert.equal(state.serviceByHostname('a')?.namespace, 'other');
  assert.equal(state.serviceByHostname('a', 'default')?.namespace, 'default');
  assert.deepEqual(state.servicesOf(w).map((s) => s.hostname), ['a']);
  assert.deepEqual(state.endpoints('default/later').map((e) => e.workloadUid), ['w']);
  assert.deepEqual(state.dump().stagedServices, ['default/later']);
  state.apply({ workloads: [w], services: [svc({ hostname: 'later' })], policies: [] });
  assert.equal(state.pickEndpoint(state.serviceByKey('default/later') as Service, 80)?.workload.uid, 'w');
  assert.deepEqual(state.dump().stagedServices, ['default/a']);
});

test('pickEndpoint port mapping: endpoint map, service target, app tunnel, else skipped', () => {
  const service = svc({ hostname: 's', ports: new Map([[80, 8080], [90, 0]]) });
  const key = 'default/s';
  const state = stateOf({
    services: [service],
    workloads: [
      wl({ uid: 'own', workloadIps: ['10.0.0.1'], services: ep(key, [[80, 9000], [90, 9090]]) }),
    ],
  });
  assert.deepEqual(state.pickEndpoint(service, 80), { workload: state.workloadByUid('own'), port: 9000 });
  assert.equal(state.pickEndpoint(service, 90)?.port, 9090);
  assert.equal(state.pickEndpoint(service, 81), undefined, 'service has no port 81');

  const svcTarget = stateOf({ services: [service], workloads: [wl({ uid: 'plain', workloadIps: ['10.0.0.2'], services: ep(key) })] });
  assert.equal(svcTarget.pickEndpoint(service, 80)?.port, 8080);
  assert.equal(svcTarget.pickEndpoint(service, 90), undefined, 'named port without endpoint mapping is skipped');

  const tunnel = stateOf({
    services: [service],
    workloads: [wl({ uid: 't', workloadIps: ['10.0.0.3'], services: ep(key), applicationTunnel: { protocol: 'PROXY', port: 15088 } })],
  });
  assert.equal(tunnel.pickEndpoint(service, 90)?.port, 90, 'app tunnel keeps the service port');
});

test('pickEndpoint excludes unhealthy endpoints unless AllowAll', () => {
  const key = 'default/s';
  const workloads = [wl({ uid: 'sick', workloadIps: ['10.0.0.1'], status: 'Unhealthy', services: ep(key) })];
  const strict = svc({ hostname: 's' });
  assert.equal(stateOf({ services: [strict], workloads }).pickEndpoint(strict, 80), undefined);
  const lenient = svc({ hostname: 's', loadBalancer: { routingPreferences: [], mode: 'Standard', healthPolicy: 'AllowAll' } });
  assert.equal(stateOf({ services: [lenient], workloads }).pickEndpoint(lenient, 80)?.workload.uid, 'sick');
});

test('pickEndpoint skips endpoints without an address unless reachable via a network gateway', () => {
  const key = 'default/s';
  const service = svc({ hostname: 's' });
  const gw = { destination: { kind: 'address' as const, network: 'remote', ip: '1.1.1.1' }, hboneMtlsPort: 15008 };
  const state = stateOf({ services: [service], workloads: [wl({ uid: 'far', network: 'remote', networkGateway: gw, services: ep(key) })] });
  assert.equal(state.pickEndpoint(service, 80), undefined, 'no source: cannot tell the network');
  const src = wl({ uid: 'src', network: '' });
  assert.equal(state.pickEndpoint(service, 80, src)?.workload.uid, 'far');
});

test('pickEndpoint weights by capacity using the injected random', () => {
  const key = 'default/s';
  const service = svc({ hostname: 's' });
  const workloads = [
    wl({ uid: 'one', workloadIps: ['10.0.0.1'], capacity: 1, services: ep(key) }),
    wl({ uid: 'three', workloadIps: ['10.0.0.2'], capacity: 3, services: ep(key) }),
  ];
  // Total weight 4: [0, 0.25) → one, [0.25, 1) → three.
  const cases: [number, string][] = [[0, 'one'], [0.2499, 'one'], [0.25, 'three'], [0.99, 'three']];
  for (const [r, want] of cases) {
    assert.equal(stateOf({ services: [service], workloads }, () => r).pickEndpoint(service, 80)?.workload.uid, want, `random=${r}`);
  }
  let n = 0;
  const counts = new Map<string, number>();
  const state = stateOf({ services: [service], workloads }, () => ((n++ % 100) + 0.5) / 100);
  for (let i = 0; i < 100; i++) {
    const uid = state.pickEndpoint(service, 80)?.workload.uid as string;
    counts.set(uid, (counts.get(uid) ?? 0) + 1);
  }
  assert.deepEqual(Object.fromEntries(counts), { one: 25, three: 75 });
});

test('Failover prefers the best locality rank; Strict requires every scope', () => {
  const key = 'default/s';
  const loc = (region: string, zone: string) => ({ region, zone, subzone: '' });
  const workloads = [
    wl({ uid: 'same-zone', workloadIps: ['10.0.0.1'], locality: loc('r1', 'z1'), services: ep(key) }),
    wl({ uid: 'same-region', workloadIps: ['10.0.0.2'], locality: loc('r1', 'z2'), services: ep(key) }),
    wl({ uid: 'far', workloadIps: ['10.0.0.3'], locality: loc('r2', 'z1'), services: ep(key) }),
  ];
  const source = wl({ uid: 'src', locality: loc('r1', 'z1') });
  const failover = svc({ hostname: 's', loadBalancer: { routingPreferences: ['Region', 'Zone'], mode: 'Failover', healthPolicy: 'OnlyHealthy' } });
  for (const r of [0, 0.5, 0.99]) {
    assert.equal(stateOf({ services: [failover], workloads }, () => r).pickEndpoint(failover, 80, source)?.workload.uid, 'same-zone');
  }
  const without = stateOf({ services: [failover], workloads: workloads.slice(1) }, () => 0.99);
  assert.equal(without.pickEndpoint(failover, 80, source)?.workload.uid, 'same-region');

  const strict = svc({ hostname: 's', loadBalancer: { routingPreferences: ['Region', 'Zone'], mode: 'Strict', healthPolicy: 'OnlyHealthy' } });
  assert.equal(stateOf({ services: [strict], workloads }).pickEndpoint(strict, 80, source)?.workload.uid, 'same-zone');
  assert.equal(stateOf({ services: [strict], workloads: workloads.slice(1) }).pickEndpoint(strict, 80, source), undefined);
  const byNode = svc({ hostname: 's', loadBalancer: { routingPreferences: ['Node'], mode: 'Strict', healthPolicy: 'OnlyHealthy' } });
  const nodes = [wl({ uid: 'n2', node: 'n2', workloadIps: ['10.0.0.4'], services: ep(key) }), wl({ uid: 'n1', node: 'n1', workloadIps: ['10.0.0.5'], services: ep(key) })];
  assert.equal(stateOf({ services: [byNode], workloads: nodes }, () => 0).pickEndpoint(byNode, 80, wl({ uid: 's', node: 'n1' }))?.workload.uid, 'n1');
});

test('policiesFor: namespace scope, all global, selector keys; unknown keys skipped', () => {
  const policies = [
    pol({ name: 'ns-a', namespace: 'a' }),
    pol({ name: 'ns-b', namespace: 'b' }),
    pol({ name: 'global', namespace: 'istio-system', scope: 'Global' }),
    pol({ name: 'sel', namespace: 'a', scope: 'WorkloadSelector' }),
    pol({ name: 'sel-unused', namespace: 'a', scope: 'WorkloadSelector' }),
  ];
  const w = wl({ uid: 'w', namespace: 'a', authorizationPolicies: ['a/sel', 'a/missing', 'a/ns-a'] });
  const state = stateOf({ policies, workloads: [w] });
  assert.deepEqual(state.policiesFor(w).map((p) => `${p.namespace}/${p.name}`).sort(), ['a/ns-a', 'a/sel', 'istio-system/global']);
  assert.equal(state.policyByKey('a/sel-unused')?.scope, 'WorkloadSelector');
});

test('localWorkloads and findLocalWorkload are node-scoped', () => {
  const a = wl({ uid: 'a', name: 'pod', namespace: 'ns', serviceAccount: 'sa', node: 'n1' });
  const b = wl({ uid: 'b', name: 'pod', namespace: 'ns', serviceAccount: 'sa', node: 'n2' });
  const state = stateOf({ workloads: [a, b] });
  assert.deepEqual(state.localWorkloads('n2').map((w) => w.uid), ['b']);
  assert.equal(state.findLocalWorkload('n1', { namespace: 'ns', name: 'pod', serviceAccount: 'sa' })?.uid, 'a');
  assert.equal(state.findLocalWorkload('n1', { namespace: 'ns', name: 'pod', serviceAccount: 'other' }), undefined);
  assert.equal(state.findLocalWorkload('n3', { namespace: 'ns', name: 'pod', serviceAccount: 'sa' }), undefined);
});

test('apply swaps atomically and reports what changed; listeners can unsubscribe', () => {
  const state = new ProxyState();
  const seen: unknown[] = [];
  const off = state.onChange((c) => seen.push({ ...c, uid: state.workloadByUid('w')?.uid ?? null }));
  const w = wl({ uid: 'w' });
  state.apply({ workloads: [w], services: [], policies: [] });
  state.apply({ workloads: [wl({ uid: 'w' })], services: [], policies: [pol({ name: 'p' })] });
  state.apply({ workloads: [], services: [svc({ hostname: 's' })], policies: [pol({ name: 'p' })] });
  off();
  state.apply({ workloads: [], services: [], policies: [] });
  assert.deepEqual(seen, [
    { workloadsChanged: true, servicesChanged: false, policiesChanged: false, uid: 'w' },
    { workloadsChanged: false, servicesChanged: false, policiesChanged: true, uid: 'w' },
    { workloadsChanged: true, servicesChanged: true, policiesChanged: false, uid: null },
  ]);
});

test('dump lists workloads, services and policies (as ztunnel) with Maps as objects', () => {
  const state = stateOf({
    workloads: [wl({ uid: 'w', services: ep('default/s', [[80, 8080]]) })],
    services: [svc({ hostname: 's' })],
    policies: [pol({ name: 'p' })],
  });
  const d = JSON.parse(JSON.stringify(state.dump())) as Record<string, Array<Record<string, unknown>>>;
  assert.equal(d.workloads?.[0]?.uid, 'w');
  assert.deepEqual(d.workloads?.[0]?.services, { 'default/s': { '80': 8080 } });
  assert.deepEqual(d.services?.[0]?.ports, { '80': 8080 });
  assert.equal(d.policies?.[0]?.name, 'p');
});
