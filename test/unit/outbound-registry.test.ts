// The outbound decision under outboundTrafficPolicy (REGISTRY_ONLY refuses what the mesh does not
// know, ALLOW_ANY passes it through), endpoints known only by hostname (DNS ServiceEntries), the
// ServiceEntryHosts name matching and its cache, and the Workload extension that carries the policy.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isMeshError, MeshError } from '../../src/common/errors.js';
import { OwnListeners, routeOutbound, routeToServiceHost, ServiceEntryHosts, type Route } from '../../src/proxy/index.js';
import { ProxyState, type Workload } from '../../src/state/index.js';
import { decodeAddress, encodeAddress, parseLocalConfig, protoType } from '../../src/xds/index.js';

function stateOf(yaml: string): ProxyState {
  const state = new ProxyState({ random: () => 0 });
  state.apply(parseLocalConfig(yaml, 'test.yaml').snapshot);
  return state;
}

const MESH = (policy: string) => `
workloads:
- uid: c//Pod/default/client
  name: client
  namespace: default
  workloadIps: ["10.0.0.1"]
  protocol: HBONE
  ${policy === '' ? '' : `outboundTrafficPolicy: ${policy}`}
- uid: c//Pod/default/web
  name: web
  namespace: default
  workloadIps: ["10.0.1.1"]
  protocol: HBONE
  services:
    "default/web.default.svc.cluster.local": {80: 8080}
- uid: c/networking.istio.io/ServiceEntry/default/ext/api.example.com
  name: ext
  namespace: default
  workloadIps: []
  hostname: api.example.com
  protocol: TCP
  services:
    "default/api.example.com": {443: 443}
- uid: c/networking.istio.io/ServiceEntry/default/db/192.0.2.20
  name: db
  namespace: default
  workloadIps: ["192.0.2.20"]
  protocol: TCP
  services:
    "default/db.example.com": {5432: 5432}
services:
- name: web
  namespace: default
  hostname: web.default.svc.cluster.local
  vips: ["/10.96.0.1"]
  ports: {80: 8080}
- name: ext
  namespace: default
  hostname: api.example.com
  vips: ["/240.240.0.7"]
  ports: {443: 443}
- name: db
  namespace: default
  hostname: db.example.com
  vips: ["/192.0.2.10"]
  ports: {5432: 5432}
- name: range
  namespace: default
  hostname: range.example.com
  cidrVips: ["/198.51.100.0/24"]
  ports: {443: 443}
  loadBalancer: {mode: Passthrough, healthPolicy: AllowAll}
`;

function route(state: ProxyState, ip: string, port: number): Route {
  const source = state.workloadByUid('c//Pod/default/client')!;
  const own = new OwnListeners({ listeners: () => [], localAddresses: () => [] });
  return routeOutbound({ state, source, dst: { ip, port }, network: '', hbonePort: 15008, ownListenerAt: (a) => own.at(a) });
}

function flat(r: Route): string {
  switch (r.kind) {
    case 'hbone':
      return `hbone ${r.nextHop.ip}:${r.nextHop.port} ${r.authority}`;
    case 'tcp':
      return `tcp ${r.target.ip}:${r.target.port}`;
    case 'dns':
      return `dns ${r.hostname}:${r.port} ${r.destService?.hostname}`;
    case 'passthrough':
      return `passthrough ${r.target.ip}:${r.target.port}`;
  }
}

const cases: { name: string; ip: string; port: number; allowAny: string; registryOnly: string }[] = [
  { name: 'an address outside the mesh', ip: '203.0.113.9', port: 443, allowAny: 'passthrough 203.0.113.9:443', registryOnly: 'NOT_REGISTERED' },
  { name: 'a mesh pod IP', ip: '10.0.1.1', port: 8080, allowAny: 'hbone 10.0.1.1:15008 10.0.1.1:8080', registryOnly: 'hbone 10.0.1.1:15008 10.0.1.1:8080' },
  { name: 'a Service VIP', ip: '10.96.0.1', port: 80, allowAny: 'hbone 10.0.1.1:15008 10.0.1.1:8080', registryOnly: 'hbone 10.0.1.1:15008 10.0.1.1:8080' },
  { name: 'a DNS ServiceEntry VIP: its endpoint is the host, resolved when connecting', ip: '240.240.0.7', port: 443, allowAny: 'dns api.example.com:443 api.example.com', registryOnly: 'dns api.example.com:443 api.example.com' },
  { name: 'a STATIC ServiceEntry VIP: its endpoint, plain TCP', ip: '192.0.2.10', port: 5432, allowAny: 'tcp 192.0.2.20:5432', registryOnly: 'tcp 192.0.2.20:5432' },
  { name: 'a STATIC ServiceEntry endpoint dialled directly (a known workload)', ip: '192.0.2.20', port: 5432, allowAny: 'tcp 192.0.2.20:5432', registryOnly: 'tcp 192.0.2.20:5432' },
  { name: 'inside a resolution NONE CIDR: passthrough', ip: '198.51.100.77', port: 443, allowAny: 'passthrough 198.51.100.77:443', registryOnly: 'passthrough 198.51.100.77:443' },
];

for (const c of cases) {
  test(`route under ALLOW_ANY and REGISTRY_ONLY: ${c.name}`, () => {
    for (const [policy, want] of [['', c.allowAny], ['ALLOW_ANY', c.allowAny], ['REGISTRY_ONLY', c.registryOnly]] as const) {
      const state = stateOf(MESH(policy));
      let got: string;
      try {
        got = flat(route(state, c.ip, c.port));
      } catch (err) {
        assert.ok(err instanceof MeshError, String(err));
        got = err.code;
      }
      assert.equal(got, want, `policy ${policy || '(none)'}`);
    }
  });
}

test('REGISTRY_ONLY refusal: response flag NR, a message naming the address and the policy', () => {
  const state = stateOf(MESH('REGISTRY_ONLY'));
  assert.throws(() => route(state, '2001:db8::9', 8443), (err: unknown) => {
    assert.ok(isMeshError(err, 'NOT_REGISTERED'));
    assert.equal(err.flag, 'NR');
    assert.equal(err.message, '[2001:db8::9]:8443 is no workload, service VIP or ServiceEntry host of the mesh; refused by outboundTrafficPolicy REGISTRY_ONLY');
    return true;
  });
});

test('a hostname endpoint with HBONE is refused (no HBONE to a hostname)', () => {
  const yaml = MESH('').replace('hostname: api.example.com\n  protocol: TCP', 'hostname: api.example.com\n  protocol: HBONE');
  assert.throws(() => route(stateOf(yaml), '240.240.0.7', 443), (err: unknown) => isMeshError(err, 'NO_HEALTHY_UPSTREAM') && /known only by hostname/.test(err.message));
});

/** A resolver answering from a table, counting lookups. */
function tableResolver(table: Record<string, string[] | Error>) {
  const calls: string[] = [];
  const resolver = async (h: string): Promise<readonly string[]> => {
    calls.push(h);
    const v = table[h];
    if (v === undefined) throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
    if (v instanceof Error) throw v;
    return v;
  };
  return { calls, resolver };
}

test('ServiceEntryHosts: an address a DNS ServiceEntry host resolves to, on one of its ports, is that host', async () => {
  const state = stateOf(MESH('REGISTRY_ONLY'));
  const source = state.workloadByUid('c//Pod/default/client')!;
  const { calls, resolver } = tableResolver({ 'api.example.com': ['203.0.113.5', '2001:db8::5'] });
  const hosts = new ServiceEntryHosts({ resolver });
  assert.deepEqual(hosts.candidates(state, source, 443).map((s) => s.hostname), ['api.example.com']);
  assert.deepEqual(hosts.candidates(state, source, 80), [], 'no DNS host declares port 80: nothing to look up');
  assert.equal((await hosts.serviceAt(state, source, { ip: '203.0.113.5', port: 443 }))?.hostname, 'api.example.com');
  assert.equal((await hosts.serviceAt(state, source, { ip: '2001:db8::5', port: 443 }))?.hostname, 'api.example.com');
  assert.equal(await hosts.serviceAt(state, source, { ip: '203.0.113.6', port: 443 }), undefined, 'another address');
  assert.deepEqual(calls, ['api.example.com'], 'one lookup, then the cache');
});

test('ServiceEntryHosts: answers expire after the TTL; failures are remembered briefly and admit nothing', async () => {
  const state = stateOf(MESH('REGISTRY_ONLY'));
  const source = state.workloadByUid('c//Pod/default/client')!;
  let now = 1_000_000;
  const table: Record<string, string[] | Error> = { 'api.example.com': new Error('SERVFAIL') };
  const { calls, resolver } = tableResolver(table);
  const hosts = new ServiceEntryHosts({ resolver, now: () => now, ttlMs: 30_000, failureTtlMs: 5_000 });
  const dst = { ip: '203.0.113.5', port: 443 };
  assert.equal(await hosts.serviceAt(state, source, dst), undefined);
  table['api.example.com'] = ['203.0.113.5'];
  now += 4_000;
  assert.equal(await hosts.serviceAt(state, source, dst), undefined, 'the failure is still remembered');
  now += 2_000;
  assert.equal((await hosts.serviceAt(state, source, dst))?.hostname, 'api.example.com');
  table['api.example.com'] = ['203.0.113.99'];
  now += 29_000;
  assert.ok(await hosts.serviceAt(state, source, dst), 'cached answer within the TTL');
  now += 2_000;
  assert.equal(await hosts.serviceAt(state, source, dst), undefined, 'after the TTL the new answer counts');
  assert.equal(calls.length, 3);
  assert.deepEqual(hosts.dump().map((d) => d.ips), [['203.0.113.99']]);
});

test('ServiceEntryHosts: concurrent lookups of one host share one query; a slow one times out', async (t) => {
  const state = stateOf(MESH(''));
  const source = state.workloadByUid('c//Pod/default/client')!;
  let calls = 0;
  const hosts = new ServiceEntryHosts({ resolver: () => (calls++, new Promise(() => undefined)), timeoutMs: 50 });
  const dst = { ip: '203.0.113.5', port: 443 };
  const started = Date.now();
  // The lookup timer is unref'd (it never keeps a process alive): hold the loop open meanwhile.
  const hold = setInterval(() => undefined, 1_000);
  t.after(() => clearInterval(hold));
  const answers = await Promise.all([hosts.serviceAt(state, source, dst), hosts.serviceAt(state, source, dst)]);
  assert.deepEqual(answers, [undefined, undefined]);
  assert.equal(calls, 1);
  assert.ok(Date.now() - started < 2_000);
  await assert.rejects(hosts.addressFor('api.example.com', '10.0.0.1'), (err: unknown) => isMeshError(err, 'DNS_LOOKUP') && /timed out/.test(err.message));
});

test('ServiceEntryHosts.addressFor: an answer of the dialled family when there is one', async () => {
  const { resolver } = tableResolver({ 'api.example.com': ['2001:db8::5', '203.0.113.5', '203.0.113.6'] });
  const hosts = new ServiceEntryHosts({ resolver });
  assert.equal(await hosts.addressFor('api.example.com', '240.240.0.7', () => 0.99), '203.0.113.6');
  assert.equal(await hosts.addressFor('api.example.com', '2001:2::7', () => 0), '2001:db8::5');
  await assert.rejects(hosts.addressFor('nowhere.example.com', '10.0.0.1'), (err: unknown) => isMeshError(err, 'DNS_LOOKUP') && /ENOTFOUND/.test(err.message));
});

test('Workload extension ambit.dev/outbound-traffic-policy: round trip, absent = no field, an unknown mode is refused', () => {
  const state = stateOf(MESH('REGISTRY_ONLY'));
  const w = state.workloadByUid('c//Pod/default/client')!;
  const roundTrip = (x: Workload): Workload => {
    const d = decodeAddress(encodeAddress(x), x.uid);
    assert.equal(d.kind, 'workload');
    return (d as { workload: Workload }).workload;
  };
  assert.deepEqual(roundTrip(w), w);
  const { outboundTrafficPolicy: _dropped, ...open } = w;
  assert.equal(Object.hasOwn(roundTrip(open), 'outboundTrafficPolicy'), false);
  // The same bytes with the mode replaced by one this agent does not know.
  const Address = protoType('istio.workload.Address');
  const msg = Address.toObject(Address.decode(encodeAddress(w))) as { workload: { extensions: Array<{ name: string; config: { type_url: string; value: Uint8Array } }> } };
  for (const e of msg.workload.extensions) {
    if (e.name === 'ambit.dev/outbound-traffic-policy') e.config.value = protoType('google.protobuf.StringValue').encode({ value: 'DENY_ALL' }).finish();
  }
  const forged = Address.encode(Address.fromObject(msg)).finish();
  assert.throws(() => decodeAddress(forged, w.uid), (err: unknown) => isMeshError(err, 'XDS_INVALID') && /unknown outbound traffic policy "DENY_ALL"/.test(err.message));
});

test('REGISTRY_ONLY and a resolution NONE entry: only its declared ports pass through (ALLOW_ANY passes any, as ztunnel)', () => {
  const strict = stateOf(MESH('REGISTRY_ONLY'));
  assert.equal(flat(route(strict, '198.51.100.77', 443)), 'passthrough 198.51.100.77:443');
  assert.throws(() => route(strict, '198.51.100.77', 22), (err: unknown) => isMeshError(err, 'NOT_REGISTERED'));
  assert.equal(flat(route(stateOf(MESH('')), '198.51.100.77', 22)), 'passthrough 198.51.100.77:22');
});

test('routeToServiceHost: a DNS host with a waypoint is routed as its VIP (to the waypoint); without a VIP it passes through as that service', async () => {
  const yaml = `${MESH('REGISTRY_ONLY')}
- name: egress
  namespace: default
  hostname: egress.example.com
  vips: ["/240.240.0.9", "/2001:2::9"]
  ports: {443: 443}
  waypoint: {destination: "/10.0.3.1", hboneMtlsPort: 15008}
- name: novip
  namespace: default
  hostname: novip.example.com
  ports: {443: 443}
`.replace('\nservices:', `
- uid: c//Pod/default/waypoint
  name: waypoint
  namespace: default
  serviceAccount: waypoint
  workloadIps: ["10.0.3.1"]
  protocol: HBONE
services:`);
  const state = stateOf(yaml);
  const source = state.workloadByUid('c//Pod/default/client')!;
  const own = new OwnListeners({ listeners: () => [], localAddresses: () => [] });
  const input = (ip: string) => ({ state, source, dst: { ip, port: 443 }, network: '', hbonePort: 15008, ownListenerAt: (a: { ip: string; port: number }) => own.at(a) });
  assert.equal(flat(routeToServiceHost(input('203.0.113.5'), state.serviceByKey('default/egress.example.com')!)), 'hbone 10.0.3.1:15008 240.240.0.9:443');
  assert.equal(flat(routeToServiceHost(input('2001:db8::5'), state.serviceByKey('default/egress.example.com')!)), 'hbone 10.0.3.1:15008 [2001:2::9]:443', 'the VIP of the dialled family');
  const r = routeToServiceHost(input('203.0.113.6'), state.serviceByKey('default/novip.example.com')!);
  assert.equal(flat(r), 'passthrough 203.0.113.6:443');
  assert.equal(r.kind === 'passthrough' ? r.destService?.hostname : undefined, 'novip.example.com');
});
