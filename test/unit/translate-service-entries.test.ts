// translateMesh, ServiceEntries: one Service per host (addresses, automatic VIPs, ports, resolution,
// waypoint, SANs), endpoint Workloads (STATIC, DNS, implicit DNS), workloadSelector, hostname
// conflicts with Services and other entries, the webhook's checks, and the outbound traffic policy.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { translateMesh } from '../../src/controlplane/index.js';
import { snapshotOf, type KubeObject } from '../../src/k8s/index.js';
import type { Service } from '../../src/state/index.js';
import { OPTS, ambientNs, authz, expectedWorkload, gateway, namespace, pod, ports, problemLines, service } from '../helpers/k8s-objects.js';
import { expectedEntryService, expectedEntryWorkload, serviceEntry } from '../helpers/service-entry-objects.js';

const translate = (...objects: KubeObject[]) => translateMesh(snapshotOf(objects), OPTS);
const servicesOf = (t: ReturnType<typeof translate>, name: string): Service[] => t.services.filter((s) => s.name === name);
const HTTP = { number: 80, name: 'http', protocol: 'HTTP' };
const TLS = { number: 443, name: 'tls', protocol: 'TLS' };

const serviceRows: { name: string; spec: Record<string, unknown>; meta?: Parameters<typeof serviceEntry>[2]; expected: Service[] }[] = [
  {
    name: 'addresses + STATIC: the IPs are VIPs, targetPort maps, else the port number',
    spec: { hosts: ['db.example.com'], addresses: ['192.0.2.10', '2001:db8::10'], ports: [{ ...HTTP, targetPort: 8080 }, TLS], resolution: 'STATIC', endpoints: [{ address: '192.0.2.20' }] },
    expected: [expectedEntryService('se', 'db.example.com', { vips: [{ network: '', ip: '192.0.2.10' }, { network: '', ip: '2001:db8::10' }], ports: ports([80, 8080], [443, 443]) })],
  },
  {
    name: 'a CIDR address with resolution NONE: CIDR VIP, passthrough load balancing; a /32 is a plain VIP',
    spec: { hosts: ['range.example.com'], addresses: ['198.51.100.0/24', '192.0.2.7/32'], ports: [TLS], resolution: 'NONE' },
    expected: [
      expectedEntryService('se', 'range.example.com', {
        vips: [{ network: '', ip: '192.0.2.7' }],
        cidrVips: [{ network: '', ip: '198.51.100.0', prefixLength: 24 }],
        ports: ports([443, 443]),
        loadBalancer: { routingPreferences: [], mode: 'Passthrough', healthPolicy: 'AllowAll' },
      }),
    ],
  },
  {
    name: 'resolution absent is NONE: no automatic VIP, passthrough',
    spec: { hosts: ['none.example.com'], ports: [TLS] },
    expected: [expectedEntryService('se', 'none.example.com', { ports: ports([443, 443]), loadBalancer: { routingPreferences: [], mode: 'Passthrough', healthPolicy: 'AllowAll' } })],
  },
  {
    name: 'status.addresses written by istiod are used as they are',
    spec: { hosts: ['a.example.com', 'b.example.com'], ports: [HTTP], resolution: 'DNS' },
    meta: { status: { addresses: [{ value: '240.240.0.9', host: 'a.example.com' }, { value: '2001:2::9', host: 'a.example.com' }, { value: '240.240.1.1', host: 'b.example.com' }] } },
    expected: [
      expectedEntryService('se', 'a.example.com', { vips: [{ network: '', ip: '240.240.0.9' }, { network: '', ip: '2001:2::9' }], ports: ports([80, 80]) }),
      expectedEntryService('se', 'b.example.com', { vips: [{ network: '', ip: '240.240.1.1' }], ports: ports([80, 80]) }),
    ],
  },
  {
    name: 'networking.istio.io/enable-autoallocate-ip: "false" opts out of automatic VIPs',
    spec: { hosts: ['api.example.com'], ports: [HTTP], resolution: 'DNS' },
    meta: { labels: { 'networking.istio.io/enable-autoallocate-ip': 'False' } },
    expected: [expectedEntryService('se', 'api.example.com', { ports: ports([80, 80]) })],
  },
  {
    name: 'a wildcard host gets no automatic VIP; subjectAltNames and the traffic-distribution annotation are carried',
    spec: { hosts: ['*.example.com'], ports: [TLS], resolution: 'STATIC', endpoints: [{ address: '192.0.2.1' }], subjectAltNames: ['spiffe://example.com/ns/x/sa/y'] },
    meta: { annotations: { 'networking.istio.io/traffic-distribution': 'PreferClose' } },
    expected: [
      expectedEntryService('se', '*.example.com', {
        ports: ports([443, 443]),
        subjectAltNames: ['spiffe://example.com/ns/x/sa/y'],
        loadBalancer: { routingPreferences: ['Network', 'Region', 'Zone'], mode: 'Failover', healthPolicy: 'OnlyHealthy' },
      }),
    ],
  },
];

for (const row of serviceRows) {
  test(`ServiceEntry Service: ${row.name}`, () => {
    const t = translate(serviceEntry('se', row.spec, row.meta));
    assert.deepEqual(problemLines(t), []);
    assert.deepEqual(servicesOf(t, 'se'), row.expected);
  });
}

test('automatic VIPs: one IPv4 in 240.240.0.0/16 and one IPv6 in 2001:2::/48 per host, distinct, stable across snapshots', () => {
  const a = serviceEntry('a', { hosts: ['one.example.com', 'two.example.com'], ports: [HTTP], resolution: 'DNS' }, { created: '2025-01-01T00:00:00Z' });
  const b = serviceEntry('b', { hosts: ['three.example.com'], ports: [HTTP], resolution: 'STATIC', endpoints: [{ address: '192.0.2.3' }] }, { created: '2025-01-02T00:00:00Z' });
  const t = translate(a, b);
  const vips = t.services.map((s) => s.vips.map((v) => v.ip));
  assert.equal(vips.length, 3);
  for (const [v4, v6, ...rest] of vips) {
    assert.match(v4!, /^240\.240\.\d+\.\d+$/);
    assert.match(v6!, /^2001:2::[0-9a-f]+$/);
    assert.deepEqual(rest, []);
  }
  assert.equal(new Set(vips.map((v) => v[0])).size, 3, 'distinct');
  // Another entry coming later never moves the VIPs of the ones there before (it is younger).
  const c = serviceEntry('c', { hosts: ['four.example.com'], ports: [HTTP], resolution: 'DNS' }, { created: '2030-01-01T00:00:00Z' });
  const later = translate(a, b, c);
  assert.deepEqual(later.services.filter((s) => s.name !== 'c').map((s) => s.vips.map((v) => v.ip)), vips);
});

test('an automatic VIP already recorded in status is not handed to another host', () => {
  const first = translate(serviceEntry('x', { hosts: ['x.example.com'], ports: [HTTP], resolution: 'DNS' })).services[0]!.vips[0]!.ip;
  const holder = serviceEntry('holder', { hosts: ['h.example.com'], ports: [HTTP], resolution: 'DNS' }, { status: { addresses: [{ value: first, host: 'h.example.com' }] } });
  const t = translate(holder, serviceEntry('x', { hosts: ['x.example.com'], ports: [HTTP], resolution: 'DNS' }));
  const x = t.services.find((s) => s.name === 'x')!;
  assert.notEqual(x.vips[0]!.ip, first);
  assert.equal(t.services.find((s) => s.name === 'holder')!.vips[0]!.ip, first);
});

test('istio.io/use-waypoint on the ServiceEntry (or its namespace) sends its hosts through the waypoint', () => {
  const wp = gateway('egress', { ns: 'egress', labels: { 'istio.io/waypoint-for': 'service' }, addresses: [{ type: 'IPAddress', value: '10.1.1.1' }] });
  const se = serviceEntry('se', { hosts: ['api.example.com'], ports: [HTTP], resolution: 'DNS' }, { ns: 'egress', labels: { 'istio.io/use-waypoint': 'egress' } });
  const t = translate(namespace('egress'), wp, se);
  assert.deepEqual(t.services.find((s) => s.name === 'se')!.waypoint, { destination: { kind: 'address', network: '', ip: '10.1.1.1' }, hboneMtlsPort: 15008 });
  const byNs = serviceEntry('se', { hosts: ['api.example.com'], ports: [HTTP], resolution: 'DNS' }, { ns: 'egress' });
  const t2 = translate(namespace('egress', { 'istio.io/use-waypoint': 'egress' }), wp, byNs);
  assert.ok(t2.services.find((s) => s.name === 'se')!.waypoint, 'the namespace label applies too');
  // A workload-only waypoint does not take service traffic: reported.
  const wl = gateway('egress', { ns: 'egress', labels: { 'istio.io/waypoint-for': 'workload' }, addresses: [{ type: 'IPAddress', value: '10.1.1.1' }] });
  const t3 = translate(namespace('egress'), wl, se);
  assert.equal(t3.services.find((s) => s.name === 'se')!.waypoint, undefined);
  assert.match(problemLines(t3).join('\n'), /warning ServiceEntry\/egress\/se metadata\.labels\["istio\.io\/use-waypoint"\]: UnsupportedTrafficType/);
});

test('STATIC endpoints: one Workload each, joined to every host; port overrides, weight, locality, network, account, endpoint waypoint', () => {
  const wp = gateway('wp', { labels: { 'istio.io/waypoint-for': 'workload' }, addresses: [{ type: 'IPAddress', value: '10.1.1.1' }] });
  const se = serviceEntry('se', {
    hosts: ['a.example.com', 'b.example.com'],
    addresses: ['192.0.2.1'],
    ports: [{ ...HTTP, targetPort: 8080 }, { number: 443, name: 'https', protocol: 'HTTPS' }],
    resolution: 'STATIC',
    endpoints: [
      { address: '192.0.2.20', ports: { http: 9080 }, weight: 3, locality: 'r1/z1', network: 'n2', serviceAccount: 'vm', labels: { 'istio.io/use-waypoint': 'wp' } },
      { address: '2001:db8::20' },
    ],
  }, { labels: { app: 'vmapp', version: 'v2' } });
  const t = translate(wp, se);
  assert.deepEqual(problemLines(t), []);
  const portsA = ports([80, 9080], [443, 443]);
  const services = (p: ReturnType<typeof ports>) => new Map([['default/a.example.com', p], ['default/b.example.com', p]]);
  assert.deepEqual(t.workloads.filter((w) => w.name === 'se'), [
    expectedEntryWorkload('se', '192.0.2.20', {
      services: services(portsA), capacity: 3, locality: { region: 'r1', zone: 'z1', subzone: '' }, network: 'n2', serviceAccount: 'vm',
      canonicalName: 'vmapp', canonicalRevision: 'v2', waypoint: { destination: { kind: 'address', network: '', ip: '10.1.1.1' }, hboneMtlsPort: 15008 },
    }),
    expectedEntryWorkload('se', '2001:db8::20', { services: services(ports([80, 8080], [443, 443])), canonicalName: 'vmapp', canonicalRevision: 'v2' }),
  ].sort((a, b) => (a.uid < b.uid ? -1 : 1)));
});

test('resolution DNS without endpoints: one Workload per host, known by hostname, joined to that host only', () => {
  const t = translate(serviceEntry('se', { hosts: ['a.example.com', 'b.example.com'], ports: [HTTP, TLS], resolution: 'DNS' }));
  assert.deepEqual(problemLines(t), []);
  assert.deepEqual(t.workloads, [
    expectedEntryWorkload('se', 'a.example.com', { services: new Map([['default/a.example.com', ports([80, 80], [443, 443])]]) }),
    expectedEntryWorkload('se', 'b.example.com', { services: new Map([['default/b.example.com', ports([80, 80], [443, 443])]]) }),
  ]);
});

test('resolution DNS with endpoints: hostname and IP endpoints; DNS_ROUND_ROBIN with one; the tunnel label makes them HBONE', () => {
  const t = translate(
    serviceEntry('dns', { hosts: ['svc.example.com'], ports: [HTTP], resolution: 'DNS', endpoints: [{ address: 'us.example.com' }, { address: '192.0.2.5' }] }),
    serviceEntry('rr', { hosts: ['rr.example.com'], ports: [HTTP], resolution: 'DNS_ROUND_ROBIN', endpoints: [{ address: 'lb.example.com' }] }, { labels: { 'networking.istio.io/tunnel': 'http' } }),
  );
  assert.deepEqual(problemLines(t), []);
  const dns = new Map([['default/svc.example.com', ports([80, 80])]]);
  assert.deepEqual(t.workloads, [
    expectedEntryWorkload('dns', '192.0.2.5', { services: dns }),
    expectedEntryWorkload('dns', 'us.example.com', { services: dns }),
    expectedEntryWorkload('rr', 'lb.example.com', { services: new Map([['default/rr.example.com', ports([80, 80])]]), protocol: 'HBONE', nativeTunnel: true }),
  ]);
});

test('workloadSelector: pods of the namespace with those labels serve every host (targetPort, else the port); other namespaces do not', () => {
  const se = serviceEntry('se', { hosts: ['legacy.example.com'], addresses: ['192.0.2.30'], ports: [{ ...HTTP, targetPort: 8080 }, TLS], resolution: 'STATIC', workloadSelector: { labels: { app: 'legacy' } } });
  const t = translate(ambientNs(), ambientNs('other'), se, pod('p1', { labels: { app: 'legacy' } }), pod('p2', { ns: 'other', ip: '10.0.0.2', labels: { app: 'legacy' } }), pod('p3', { ip: '10.0.0.3' }));
  assert.deepEqual(problemLines(t), []);
  assert.deepEqual(t.workloads.find((w) => w.name === 'p1')!.services, new Map([['default/legacy.example.com', ports([80, 8080], [443, 443])]]));
  assert.deepEqual(t.workloads.find((w) => w.name === 'p2')!.services, new Map());
  assert.deepEqual(t.workloads.find((w) => w.name === 'p3')!.services, new Map());
  assert.equal(t.workloads.filter((w) => w.name === 'se').length, 0, 'no endpoint Workloads of its own');
});

test('selector AuthorizationPolicies that select the entry labels are on its endpoint Workloads', () => {
  const se = serviceEntry('se', { hosts: ['a.example.com'], ports: [HTTP], resolution: 'STATIC', endpoints: [{ address: '192.0.2.1' }] }, { labels: { app: 'vm' } });
  const t = translate(se, authz('deny', 'default', { selector: { matchLabels: { app: 'vm' } }, action: 'DENY', rules: [{}] }));
  assert.deepEqual(t.workloads[0]!.authorizationPolicies, ['default/deny']);
});

test('hostname conflicts: a Service of the namespace wins, then the oldest entry; across namespaces the oldest is canonical', () => {
  const old = '2020-01-01T00:00:00Z';
  const young = '2021-01-01T00:00:00Z';
  const t = translate(
    service('web'),
    serviceEntry('shadow', { hosts: ['web.default.svc.cluster.local', 'x.example.com'], ports: [HTTP], resolution: 'DNS' }, { created: young }),
    serviceEntry('first', { hosts: ['x.example.com'], ports: [HTTP], resolution: 'DNS' }, { created: old }),
    serviceEntry('elsewhere', { hosts: ['x.example.com'], ports: [HTTP], resolution: 'DNS' }, { ns: 'team', created: young }),
  );
  assert.deepEqual(problemLines(t), [
    'warning ServiceEntry/default/shadow spec.hosts[0]: host web.default.svc.cluster.local is Service default/web of this namespace, which takes precedence; this host is left out',
    'warning ServiceEntry/default/shadow spec.hosts[1]: host x.example.com is already defined in this namespace by the older ServiceEntry default/first; this host is left out',
  ]);
  const hosts = t.services.map((s) => `${s.namespace}/${s.hostname} ${s.name} canonical=${s.canonical}`);
  assert.deepEqual(hosts, [
    'default/web.default.svc.cluster.local web canonical=true',
    'default/x.example.com first canonical=true',
    'team/x.example.com elsewhere canonical=false',
  ]);
  assert.deepEqual(t.workloads.map((w) => w.uid), [
    'c1/networking.istio.io/ServiceEntry/default/first/x.example.com',
    'c1/networking.istio.io/ServiceEntry/team/elsewhere/x.example.com',
  ], 'the left-out hosts of "shadow" have no endpoints either');
});

const invalidRows: { name: string; spec: Record<string, unknown>; problems: string[] }[] = [
  { name: 'no hosts', spec: { ports: [HTTP] }, problems: ['spec.hosts: service entry must have at least one host'] },
  { name: 'host *', spec: { hosts: ['*'], ports: [HTTP] }, problems: ['spec.hosts[0]: invalid host *'] },
  { name: 'bad host', spec: { hosts: ['Bad_Host.example.com'], ports: [HTTP] }, problems: ['spec.hosts[0]: domain name "Bad_Host.example.com" invalid (label "Bad_Host" invalid)'] },
  { name: 'bad address', spec: { hosts: ['a.example.com'], addresses: ['10.0.0.300'], ports: [HTTP] }, problems: ['spec.addresses[0]: 10.0.0.300 is not a valid IP address or CIDR block'] },
  {
    name: 'CIDR with DNS',
    spec: { hosts: ['a.example.com'], addresses: ['10.0.0.0/8'], ports: [HTTP], resolution: 'DNS' },
    problems: ['spec.addresses: CIDR addresses are allowed only for NONE/STATIC resolution types'],
  },
  {
    name: 'duplicate port name and number, bad name, bad protocol, bad targetPort',
    spec: { hosts: ['a.example.com'], ports: [HTTP, { number: 80, name: 'http', protocol: 'HTTP' }, { number: 81, name: 'Web', protocol: 'SPDY', targetPort: 70000 }] },
    problems: [
      'spec.ports[1].name: service entry port name "http" already defined',
      'spec.ports[1].number: service entry port 80 already defined',
      'spec.ports[2].name: invalid port name: "Web"',
      'spec.ports[2].targetPort: targetPort 70000 must be in the range 1..65535',
      'spec.ports[2].protocol: unsupported protocol: SPDY',
    ],
  },
  {
    name: 'workloadSelector and endpoints',
    spec: { hosts: ['a.example.com'], ports: [HTTP], resolution: 'STATIC', workloadSelector: { labels: { app: 'x' } }, endpoints: [{ address: '192.0.2.1' }] },
    problems: ['spec: only one of WorkloadSelector or Endpoints is allowed in Service Entry'],
  },
  { name: 'endpoints with NONE', spec: { hosts: ['a.example.com'], ports: [HTTP], endpoints: [{ address: '192.0.2.1' }] }, problems: ['spec.endpoints: no endpoints should be provided for resolution type none'] },
  {
    name: 'STATIC endpoint that is a hostname, endpoint port not declared',
    spec: { hosts: ['a.example.com'], ports: [HTTP], resolution: 'STATIC', endpoints: [{ address: 'vm.example.com', ports: { grpc: 9090 } }] },
    problems: ['spec.endpoints[0].address: vm.example.com is not a valid IP', 'spec.endpoints[0].ports[grpc]: endpoint port 9090 is not defined by the service entry'],
  },
  { name: 'DNS with a wildcard host and no endpoints', spec: { hosts: ['*.example.com'], ports: [TLS], resolution: 'DNS' }, problems: ['spec.hosts[0]: hosts must be FQDN if no endpoints are provided for resolution mode DNS'] },
  {
    name: 'DNS_ROUND_ROBIN with two endpoints',
    spec: { hosts: ['a.example.com'], ports: [HTTP], resolution: 'DNS_ROUND_ROBIN', endpoints: [{ address: 'x.example.com' }, { address: 'y.example.com' }] },
    problems: ['spec.endpoints: there must only be 0 or 1 endpoint for resolution type DNS_ROUND_ROBIN'],
  },
  {
    name: 'several hosts on a TCP port with DNS',
    spec: { hosts: ['a.example.com', 'b.example.com'], ports: [{ number: 5432, name: 'pg', protocol: 'TCP' }], resolution: 'DNS' },
    problems: ['spec.hosts: multiple hosts provided with non-HTTP, non-TLS ports'],
  },
  { name: 'unix socket endpoint', spec: { hosts: ['a.example.com'], ports: [HTTP], resolution: 'STATIC', endpoints: [{ address: 'unix:///var/run/x.sock' }] }, problems: ['spec.endpoints[0].address: unix domain socket endpoints are not supported by node agents'] },
  { name: 'exportTo duplicates', spec: { hosts: ['a.example.com'], ports: [HTTP], exportTo: ['.', 'default', 'Bad'] }, problems: ['spec.exportTo[1]: duplicate entries in exportTo for entry default', 'spec.exportTo[2]: "Bad" is neither ".", "*", "~" nor a namespace name'] },
];

for (const row of invalidRows) {
  test(`invalid ServiceEntry (left out, every problem named): ${row.name}`, () => {
    const t = translate(serviceEntry('se', row.spec));
    assert.deepEqual(problemLines(t), row.problems.map((p) => `error ServiceEntry/default/se ${p}; the ServiceEntry is left out`));
    assert.deepEqual(t.services, []);
    assert.deepEqual(t.workloads, []);
  });
}

test('an invalid ServiceEntry never affects another one', () => {
  const t = translate(serviceEntry('bad', { hosts: ['*'] }), serviceEntry('good', { hosts: ['g.example.com'], addresses: ['192.0.2.9'], ports: [HTTP] }));
  assert.deepEqual(t.services.map((s) => s.name), ['good']);
});

test('exportTo narrower than * is valid but reported: node agents do not enforce it', () => {
  const t = translate(serviceEntry('se', { hosts: ['a.example.com'], addresses: ['192.0.2.9'], ports: [HTTP], exportTo: ['.'] }));
  assert.deepEqual(problemLines(t), ['warning ServiceEntry/default/se spec.exportTo: exportTo is not enforced by node agents (as in Istio ambient): every namespace sees these hosts']);
  assert.equal(t.services.length, 1);
});

test('outboundTrafficPolicy REGISTRY_ONLY is written on every pod Workload, never on entry endpoints; ALLOW_ANY writes nothing', () => {
  const objects = [ambientNs(), pod('p'), serviceEntry('se', { hosts: ['a.example.com'], ports: [HTTP], resolution: 'DNS' })];
  const strict = translateMesh(snapshotOf(objects), { ...OPTS, outboundTrafficPolicy: 'REGISTRY_ONLY' });
  assert.deepEqual(strict.workloads.find((w) => w.name === 'p'), { ...expectedWorkload('p'), outboundTrafficPolicy: 'REGISTRY_ONLY' });
  assert.equal(strict.workloads.find((w) => w.name === 'se')!.outboundTrafficPolicy, undefined);
  const open = translateMesh(snapshotOf(objects), { ...OPTS, outboundTrafficPolicy: 'ALLOW_ANY' });
  assert.deepEqual(open.workloads.find((w) => w.name === 'p'), expectedWorkload('p'));
  assert.equal(Object.hasOwn(open.workloads.find((w) => w.name === 'p')!, 'outboundTrafficPolicy'), false);
});
