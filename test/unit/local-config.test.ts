// Tests for the local config parser (ztunnel LOCAL_XDS_PATH format): ztunnel's own example, the
// embedded example, defaults, and error messages that name file, path, line:column and reason.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isMeshError } from '../../src/common/errors.js';
import { parseLocalConfig, EMBEDDED_EXAMPLE_YAML } from '../../src/xds/index.js';
import { ProxyState } from '../../src/state/index.js';

// ztunnel examples/localhost.yaml, as read by ztunnel's LocalConfig (src/xds.rs).
const ZTUNNEL_LOCALHOST = `
workloads:
- uid: cluster1//v1/Pod/default/local
  name: local
  namespace: default
  serviceAccount: default
  workloadIps: ["127.0.0.1"]
  protocol: HBONE
  node: local
  network: ""
  services:
    "default/example.com":
      80: 8080
    "default/example2.com":
      80: 8080
- uid: cluster1//v1/Pod/default/local-tcp
  name: local-tcp
  namespace: default
  serviceAccount: default
  workloadIps: ["127.0.0.2"]
  protocol: TCP
  node: local
  network: ""
  services:
    "default/example.com":
      80: 8080
    "default/example2.com":
      80: 8080
policies:
  - action: Allow
    rules:
    - - - notDestinationPorts:
          - 9999
    name: deny-9999
    namespace: default
    scope: Namespace
services:
- name: local
  namespace: default
  hostname: example.com
  vips:
    - /127.10.0.1
  ports:
    80: 8080
  subjectAltNames:
   - spiffe://cluster.local/ns/default/sa/local
  canonical: true
- name: remote
  namespace: default
  hostname: example2.com
  vips:
    - remote/127.10.0.2
  ports:
    80: 8080
`;

test('ztunnel examples/localhost.yaml parses', () => {
  const { snapshot, warnings } = parseLocalConfig(ZTUNNEL_LOCALHOST, 'localhost.yaml');
  assert.deepEqual(warnings, []);
  assert.equal(snapshot.workloads.length, 2);
  const [local, tcp] = snapshot.workloads;
  assert.equal(local?.uid, 'cluster1//v1/Pod/default/local');
  assert.equal(local?.protocol, 'HBONE');
  assert.equal(tcp?.protocol, 'TCP');
  assert.equal(local?.services.get('default/example.com')?.get(80), 8080);
  assert.equal(local?.trustDomain, 'cluster.local');
  assert.equal(local?.clusterId, 'Kubernetes');
  assert.equal(local?.capacity, 1);
  assert.equal(local?.status, 'Healthy');
  assert.equal(local?.workloadType, 'deployment');
  const policy = snapshot.policies[0];
  assert.equal(policy?.scope, 'Namespace');
  assert.equal(policy?.action, 'Allow');
  assert.deepEqual(policy?.rules[0]?.[0]?.[0]?.notDestinationPorts, [9999]);
  assert.deepEqual(snapshot.services[1]?.vips, [{ network: 'remote', ip: '127.10.0.2' }]);
  assert.equal(snapshot.services[0]?.canonical, true);
  assert.ok(Object.isFrozen(snapshot) && Object.isFrozen(snapshot.workloads[0]));
  assert.throws(() => (local?.services as Map<string, unknown>).set('x/y', new Map()), TypeError);
});

test('embedded example parses and routes example.com to both workloads', () => {
  const { snapshot, warnings } = parseLocalConfig(EMBEDDED_EXAMPLE_YAML, 'embedded');
  assert.deepEqual(warnings, []);
  const state = new ProxyState();
  state.apply(snapshot);
  const svc = state.serviceByVip('', '127.10.0.1');
  assert.equal(svc?.hostname, 'example.com');
  assert.deepEqual(state.endpoints('default/example.com').map((e) => e.workloadUid).sort(), [
    'Kubernetes//Pod/default/local',
    'Kubernetes//Pod/default/local-tcp',
  ]);
  assert.equal(state.localWorkloads('local').length, 2);
  assert.equal(state.workloadByIp('', '127.0.0.1')?.protocol, 'HBONE');
  const local = state.findLocalWorkload('local', { namespace: 'default', name: 'local', serviceAccount: 'default' });
  assert.ok(local);
  assert.deepEqual(state.policiesFor(local).map((p) => p.name), ['deny-9999']);
});

test('defaults, uid synthesis, IP canonicalisation, netns, gateways, StringMatch forms', () => {
  const { snapshot } = parseLocalConfig(
    `
workloads:
- name: a
  namespace: ns
  clusterId: c1
  workloadIps: ["FD00:0:0::1", "10.0.0.1"]
  netns: /var/run/netns/a
  waypoint: {destination: "/10.0.0.9", hboneMtlsPort: 15008}
  networkGateway: {destination: "istio-system/gw.example"}
  applicationTunnel: {protocol: PROXY, port: 15088}
  locality: {region: r, zone: z}
services:
- name: s
  namespace: ns
  hostname: s.ns.svc
  cidrVips: ["/10.96.0.0/16"]
  loadBalancer: {routingPreferences: [Region, Zone], mode: Failover, healthPolicy: AllowAll}
  visibility: Namespace
policies:
- name: p
  namespace: ns
  scope: WorkloadSelector
  action: Deny
  dryRun: true
  rules:
  - - - principals: [{Presence: []}, {Presence: {}}, {Presence: null}, {Prefix: "td/"}, {Suffix: "/sa/x"}, {Exact: e}]
        sourceIps: ["10.0.0.0/8", "::1"]
        serviceAccounts: [{namespace: ns, serviceAccount: sa}]
`,
    'x.yaml',
  );
  const w = snapshot.workloads[0];
  assert.equal(w?.uid, 'c1//Pod/ns/a');
  assert.deepEqual(w?.workloadIps, ['fd00::1', '10.0.0.1']);
  assert.equal(w?.netns, '/var/run/netns/a');
  assert.equal(w?.serviceAccount, 'default');
  assert.deepEqual(w?.waypoint, { destination: { kind: 'address', network: '', ip: '10.0.0.9' }, hboneMtlsPort: 15008 });
  assert.deepEqual(w?.networkGateway?.destination, { kind: 'hostname', namespace: 'istio-system', hostname: 'gw.example' });
  assert.deepEqual(w?.applicationTunnel, { protocol: 'PROXY', port: 15088 });
  assert.deepEqual(w?.locality, { region: 'r', zone: 'z', subzone: '' });
  const s = snapshot.services[0];
  assert.deepEqual(s?.cidrVips, [{ network: '', ip: '10.96.0.0', prefixLength: 16 }]);
  assert.deepEqual(s?.loadBalancer, { routingPreferences: ['Region', 'Zone'], mode: 'Failover', healthPolicy: 'AllowAll' });
  assert.equal(s?.visibility, 'Namespace');
  const m = snapshot.policies[0]?.rules[0]?.[0]?.[0];
  assert.deepEqual(m?.principals, [
    { kind: 'presence' },
    { kind: 'presence' },
    { kind: 'presence' },
    { kind: 'prefix', value: 'td/' },
    { kind: 'suffix', value: '/sa/x' },
    { kind: 'exact', value: 'e' },
  ]);
  assert.deepEqual(m?.sourceIps, [{ ip: '10.0.0.0', prefixLength: 8 }, { ip: '::1', prefixLength: 128 }]);
  assert.deepEqual(m?.serviceAccounts, [{ namespace: 'ns', serviceAccount: 'sa' }]);
  assert.equal(snapshot.policies[0]?.dryRun, true);
});

test('empty document is an empty snapshot', () => {
  const { snapshot } = parseLocalConfig('# nothing\n', 'empty.yaml');
  assert.deepEqual(snapshot, { workloads: [], services: [], policies: [] });
});

test('warnings for references to undefined services and policies, inline endpoints folded', () => {
  const { snapshot, warnings } = parseLocalConfig(
    `
workloads:
- {uid: w1, namespace: ns, workloadIps: [10.0.0.1], services: {"ns/missing": {80: 80}}, authorizationPolicies: [ns/nope]}
services:
- name: s
  namespace: ns
  hostname: s.ns
  ports: {80: 8080}
  endpoints:
    w1: {workloadUid: w1, port: {80: 9090}, status: Healthy}
    w9: {workloadUid: w9, port: {}}
`,
    'w.yaml',
  );
  assert.equal(warnings.length, 3, warnings.join('\n'));
  assert.ok(warnings.some((w) => w.includes('ns/missing')));
  assert.ok(warnings.some((w) => w.includes('ns/nope')));
  assert.ok(warnings.some((w) => w.includes('"w9"')));
  assert.equal(snapshot.workloads[0]?.services.get('ns/s.ns')?.get(80), 9090);
});

interface BadCase {
  name: string;
  yaml: string;
  /** Fragments that must all appear in the message. */
  expect: string[];
}

const bad: BadCase[] = [
  {
    name: 'unknown workload field',
    yaml: 'workloads:\n- namespace: ns\n  workloadIps: []\n  workloadIp: 1.2.3.4\n',
    expect: ['bad.yaml:4:3', 'workloads[0].workloadIp', 'unknown field "workloadIp"'],
  },
  { name: 'unknown top-level field', yaml: 'workload: []\n', expect: ['bad.yaml:1:1', 'workload', 'unknown field'] },
  { name: 'missing namespace', yaml: 'workloads:\n- name: a\n  workloadIps: []\n', expect: ['workloads[0].namespace', 'missing required field "namespace"'] },
  { name: 'missing workloadIps', yaml: 'workloads:\n- name: a\n  namespace: n\n', expect: ['workloads[0].workloadIps', 'missing required'] },
  {
    name: 'bad IP',
    yaml: 'workloads:\n- namespace: n\n  workloadIps: ["10.0.0.1", "10.0.0.300"]\n',
    expect: ['bad.yaml:3:29', 'workloads[0].workloadIps[1]', '"10.0.0.300" is not a valid'],
  },
  { name: 'bad enum', yaml: 'workloads:\n- namespace: n\n  workloadIps: []\n  status: Sick\n', expect: ['workloads[0].status', 'Healthy | Unhealthy', 'Sick'] },
  { name: 'legacy protocol refused', yaml: 'workloads:\n- namespace: n\n  workloadIps: []\n  protocol: LEGACY_ISTIO_MTLS\n', expect: ['workloads[0].protocol', 'TCP | HBONE'] },
  {
    name: 'bad StringMatch (two variants)',
    yaml: 'policies:\n- {name: p, namespace: n, scope: Global, action: Deny, rules: [[[{namespaces: [{Exact: a, Prefix: b}]}]]]}\n',
    expect: ['policies[0].rules[0][0][0].namespaces[0]', 'StringMatch'],
  },
  {
    name: 'bad StringMatch variant',
    yaml: 'policies:\n- {name: p, namespace: n, scope: Global, action: Deny, rules: [[[{principals: [{Regex: a}]}]]]}\n',
    expect: ['principals[0].Regex', 'unknown StringMatch variant "Regex"'],
  },
  { name: 'Presence with a value', yaml: 'policies:\n- {name: p, namespace: n, scope: Global, action: Deny, rules: [[[{principals: [{Presence: x}]}]]]}\n', expect: ['Presence takes no value'] },
  { name: 'bad scope', yaml: 'policies:\n- {name: p, namespace: n, scope: Cluster, action: Deny}\n', expect: ['policies[0].scope', 'Global | Namespace | WorkloadSelector'] },
  { name: 'vip without network', yaml: 'services:\n- {name: s, namespace: n, hostname: h, vips: ["10.0.0.1"]}\n', expect: ['services[0].vips[0]', '"network/ip"'] },
  { name: 'bad port key', yaml: 'services:\n- {name: s, namespace: n, hostname: h, ports: {http: 80}}\n', expect: ['services[0].ports.http', '1..65535'] },
  { name: 'service key without slash', yaml: 'workloads:\n- {namespace: n, workloadIps: [], services: {"svc": {80: 80}}}\n', expect: ['workloads[0].services.svc', 'namespace/hostname'] },
  { name: 'duplicate uid', yaml: 'workloads:\n- {uid: x, namespace: n, workloadIps: []}\n- {uid: x, namespace: n, workloadIps: []}\n', expect: ['workloads[1].uid', 'duplicate workload uid "x"'] },
  { name: 'relative netns', yaml: 'workloads:\n- {namespace: n, workloadIps: [], netns: netns/a}\n', expect: ['workloads[0].netns', 'absolute'] },
  { name: 'gateway without slash', yaml: 'workloads:\n- {namespace: n, workloadIps: [], waypoint: {destination: wp}}\n', expect: ['workloads[0].waypoint.destination'] },
  { name: 'YAML syntax', yaml: 'workloads: [\n', expect: ['bad.yaml:2:1', 'YAML syntax'] },
  { name: 'duplicate YAML key', yaml: 'workloads: []\nworkloads: []\n', expect: ['bad.yaml:', 'YAML syntax'] },
  // yaml resolves aliases in toJS, which throws a ReferenceError: it used to escape as such.
  { name: 'alias without an anchor', yaml: 'workloads: *nope\n', expect: ['bad.yaml: YAML aliases', 'Unresolved alias'] },
  {
    name: 'alias expansion past the limit',
    yaml: `a: &a [x,x,x,x,x,x,x,x,x,x]\n${[...'bcdefghi'].map((c, i) => `${c}: &${c} [${Array(10).fill(`*${'abcdefgh'[i]}`).join(',')}]`).join('\n')}\nworkloads: *i\n`,
    expect: ['bad.yaml: YAML aliases', 'alias count'],
  },
];

for (const t of bad) {
  test(`bad: ${t.name}`, () => {
    assert.throws(
      () => parseLocalConfig(t.yaml, 'bad.yaml'),
      (err: unknown) => {
        assert.ok(isMeshError(err, 'CONFIG_INVALID'), String(err));
        assert.ok(err.message.includes('bad.yaml'), err.message);
        for (const frag of t.expect) assert.ok(err.message.includes(frag), `expected "${frag}" in:\n${err.message}`);
        return true;
      },
    );
  });
}

test('every problem is collected, not just the first', () => {
  assert.throws(
    () => parseLocalConfig('workloads:\n- {namespace: n, workloadIps: [x]}\n- {workloadIps: []}\nservices:\n- {name: s}\n', 'many.yaml'),
    (err: unknown) => {
      assert.ok(isMeshError(err, 'CONFIG_INVALID'));
      assert.match(err.message, /4 problems/);
      assert.match(err.message, /workloads\[0\]\.workloadIps\[0\]/);
      assert.match(err.message, /workloads\[1\]\.namespace/);
      assert.match(err.message, /services\[0\]\.namespace/);
      assert.match(err.message, /services\[0\]\.hostname/);
      return true;
    },
  );
});
