// The agent side of `ambit ctl explain`, on a ProxyState built from a local config: the route is
// routeOutbound's and the verdict authorize's (checked against direct calls), for every route kind
// and decision; the deciding policy/rule reported by authorize; endpoint candidates = what the pick
// chooses among; invalid queries refused with the reason.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isMeshError } from '../../src/common/errors.js';
import { loadConfig } from '../../src/config/index.js';
import { explainConnection, routeOutbound, type Explanation, type SocketAddr } from '../../src/proxy/index.js';
import { authorize, strictModePolicy } from '../../src/rbac/index.js';
import { ProxyState, type Authorization, type RbacMatch } from '../../src/state/index.js';
import { parseLocalConfig } from '../../src/xds/index.js';

const MESH = `workloads:
- {uid: u-client, name: client, namespace: default, serviceAccount: client, workloadIps: ["10.0.0.11"], protocol: HBONE, node: a}
- {uid: u-client2, name: client2, namespace: default, serviceAccount: other, workloadIps: ["10.0.0.12"], protocol: HBONE, node: a}
- uid: u-echo
  name: echo
  namespace: default
  serviceAccount: echo
  workloadIps: ["10.0.0.21"]
  protocol: HBONE
  node: b
  services: {"default/echo.default.svc.cluster.local": {80: 8080}}
  authorizationPolicies: ["istio-system/istio_converted_static_strict"]
- uid: u-echo2
  name: echo2
  namespace: default
  serviceAccount: echo
  workloadIps: ["10.0.0.23"]
  protocol: HBONE
  node: b
  services: {"default/echo.default.svc.cluster.local": {80: 8080}}
  authorizationPolicies: ["istio-system/istio_converted_static_strict"]
- uid: u-legacy
  name: legacy
  namespace: default
  workloadIps: ["10.0.0.22"]
  protocol: TCP
  node: b
  services: {"default/legacy.default.svc.cluster.local": {80: 8080}}
- uid: u-reviews
  name: reviews
  namespace: default
  serviceAccount: reviews
  workloadIps: ["10.0.0.31"]
  protocol: HBONE
  node: b
  services: {"default/reviews.default.svc.cluster.local": {9080: 9080}}
  authorizationPolicies: ["default/allow-waypoint"]
- {uid: u-wp, name: waypoint, namespace: default, serviceAccount: waypoint, workloadIps: ["10.0.0.40"], protocol: HBONE, node: b}
services:
- {name: echo, namespace: default, hostname: echo.default.svc.cluster.local, vips: ["/10.96.0.10"], ports: {80: 8080}}
- {name: legacy, namespace: default, hostname: legacy.default.svc.cluster.local, vips: ["/10.96.0.12"], ports: {80: 8080}}
- {name: reviews, namespace: default, hostname: reviews.default.svc.cluster.local, vips: ["/10.96.0.11"], ports: {9080: 9080}, waypoint: {destination: "/10.0.0.40"}}
- {name: empty, namespace: default, hostname: empty.default.svc.cluster.local, vips: ["/10.96.0.13"], ports: {80: 80}}
policies:
- {name: istio_converted_static_strict, namespace: istio-system, scope: WorkloadSelector, action: Deny, rules: [[[{notPrincipals: [{Presence: []}]}]]]}
- name: deny-other
  namespace: default
  scope: Namespace
  action: Deny
  rules:
  - [[{destinationPorts: [1]}]]
  - [[{principals: [{Exact: "cluster.local/ns/default/sa/other"}]}]]
- {name: allow-waypoint, namespace: default, scope: WorkloadSelector, action: Allow, rules: [[[{principals: [{Exact: "cluster.local/ns/default/sa/waypoint"}]}]]]}
`;

const config = loadConfig([], { NODE_NAME: 'a' });
/** 0 → the first candidate by weight: the picks are reproducible. */
const state = new ProxyState({ random: () => 0 });
state.apply(parseLocalConfig(MESH, 'test').snapshot);
const ownListenerAt = (d: SocketAddr) => (d.ip === '127.0.0.1' && d.port === 15000 ? { name: 'admin', host: '127.0.0.1', port: 15000 } : undefined);
const explain = (from: string | null, to: string | null): Explanation => explainConnection({ state, config, ownListenerAt, random: () => 0 }, { from, to });

test('explain: HBONE to a service, endpoint picked from two candidates, both checked, allowed (no ALLOW policy)', () => {
  const e = explain('default/client', 'echo:80');
  assert.equal(e.from.captured, true);
  assert.deepEqual([e.to.ip, e.to.port, e.to.service?.hostname], ['10.96.0.10', 80, 'echo.default.svc.cluster.local']);
  assert.equal(e.route.kind, 'hbone');
  // The same decision as routeOutbound itself on the same state.
  const source = state.workloadByUid('u-client')!;
  const direct = routeOutbound({ state, source, dst: { ip: '10.96.0.10', port: 80 }, network: '', hbonePort: config.ports.hbone, ownListenerAt, random: () => 0 }, '10.0.0.11');
  assert.equal(direct.kind, 'hbone');
  if (direct.kind !== 'hbone') return;
  assert.equal(e.route.nextHop, `${direct.nextHop.ip}:${direct.nextHop.port}`);
  assert.equal(e.route.authority, direct.authority);
  assert.deepEqual(e.route.expectedIdentities, direct.expectedSans);
  assert.equal(e.route.endpoint?.workload.uid, direct.destWorkload.uid);
  assert.deepEqual(e.route.candidates.map((c) => c.address).sort(), ['10.0.0.21:8080', '10.0.0.23:8080']);
  assert.deepEqual(e.authorization.map((c) => [c.workload.name, c.chosen, c.allowed, c.decision]), [
    [direct.destWorkload.name, true, true, 'allow-no-policies'],
    [direct.destWorkload.name === 'echo' ? 'echo2' : 'echo', false, true, 'allow-no-policies'],
  ]);
  // As policiesFor gives them: the namespace's, then those the workload names.
  assert.deepEqual(e.authorization[0]!.policies, ['default/deny-other', 'istio-system/istio_converted_static_strict']);
  assert.equal(e.verdict, 'allow');
  assert.equal(e.evaluatedBy, 'a');
});

test('explain: denied by the DENY policy, naming the rule that matched (rule 1, not rule 0)', () => {
  const e = explain('default/client2', '10.96.0.10:80');
  assert.equal(e.verdict, 'deny');
  const c = e.authorization.find((x) => x.chosen)!;
  assert.deepEqual([c.decision, c.policy, c.action, c.rule], ['deny-policy', 'default/deny-other', 'Deny', 1]);
  assert.equal(c.connection.srcIdentity, 'spiffe://cluster.local/ns/default/sa/other');
  assert.equal(e.summary, 'denied by DENY policy default/deny-other rule 1');
});

test('explain: straight to a pod IP whose ALLOW policy does not match the client: denied, no ALLOW matched', () => {
  const e = explain('default/client', '10.0.0.31:9080');
  assert.equal(e.route.kind, 'hbone');
  assert.equal(e.route.waypoint, undefined, 'the waypoint is the service\'s, not the workload\'s');
  assert.equal(e.authorization.length, 1);
  assert.equal(e.authorization[0]!.decision, 'deny-no-allow-match');
  assert.equal(e.summary, 'denied: no ALLOW policy matched (ALLOW policies: default/allow-waypoint)');
});

test('explain: through the service\'s waypoint; the destination authorizes the waypoint\'s identity', () => {
  const e = explain('default/client', 'reviews.default.svc.cluster.local:9080');
  assert.equal(e.route.kind, 'hbone');
  assert.equal(e.route.waypoint?.name, 'waypoint');
  assert.equal(e.route.nextHop, '10.0.0.40:15008');
  assert.equal(e.route.authority, '10.96.0.11:9080');
  assert.deepEqual(e.route.expectedIdentities, ['spiffe://cluster.local/ns/default/sa/waypoint']);
  assert.equal(e.route.endpoint, undefined, 'the waypoint picks the endpoint');
  assert.deepEqual(e.route.candidates.map((c) => c.address), ['10.0.0.31:9080']);
  const c = e.authorization[0]!;
  assert.equal(c.connection.srcIdentity, 'spiffe://cluster.local/ns/default/sa/waypoint');
  assert.equal(c.connection.srcIp, '10.0.0.40');
  assert.deepEqual([c.decision, c.policy, c.rule], ['allow-policy', 'default/allow-waypoint', 0]);
  assert.equal(e.verdict, 'allow');
  assert.ok(e.notes.some((n) => n.includes('through waypoint default/waypoint') && n.includes('L7')));
});

test('explain: a source outside the mesh reaches STRICT endpoints as plaintext: every candidate denies it', () => {
  const e = explain('10.9.9.9', 'echo.default:80');
  assert.equal(e.from.captured, false);
  assert.equal(e.from.workload, undefined);
  assert.equal(e.route.kind, 'plaintext');
  assert.equal(e.authorization.length, 2);
  for (const c of e.authorization) {
    assert.deepEqual([c.decision, c.policy, c.allowed, c.connection.srcIdentity], ['deny-strict', 'istio-system/istio_converted_static_strict', false, undefined]);
    assert.match(c.enforcedBy, /inbound plaintext \(15006\)/);
    // The same verdict authorize gives for the plaintext connection.
    const d = authorize(state.policiesFor(state.workloadByUid(c.workload.uid)!), { srcIp: '10.9.9.9', srcPort: 0, dstIp: c.connection.dstIp, dstPort: 8080, srcIdentity: undefined });
    assert.equal(d.allowed, false);
  }
  assert.equal(e.verdict, 'deny');
  assert.match(e.summary, /^every candidate endpoint denies it \(denied: PeerAuthentication STRICT refuses plaintext/);
});

test('explain: a workload outside the mesh (protocol TCP) as source is plaintext too', () => {
  const e = explain('default/legacy', '10.0.0.21:8080');
  assert.equal(e.from.captured, false);
  assert.equal(e.route.kind, 'plaintext');
  assert.equal(e.authorization.length, 1);
  assert.equal(e.authorization[0]!.chosen, true);
  assert.equal(e.authorization[0]!.decision, 'deny-strict');
  assert.ok(!e.notes.some((n) => n.includes('runs on node')), 'no agent takes its traffic: no note about the node');
});

const unenforced: Array<[string, string, string, RegExp]> = [
  ['to a workload outside the mesh: plain TCP', 'legacy:80', 'tcp', /does not accept HBONE/],
  ['to an address outside the mesh: passthrough', '192.0.2.7:443', 'passthrough', /not a mesh address/],
];
for (const [name, to, kind, summary] of unenforced) {
  test(`explain: ${name}, no mesh authorization`, () => {
    const e = explain('default/client', to);
    assert.equal(e.route.kind, kind);
    assert.deepEqual(e.authorization, []);
    assert.equal(e.verdict, 'unenforced');
    assert.match(e.summary, summary);
  });
}

const refused: Array<[string, string, string]> = [
  ['a service with no endpoint', 'empty:80', 'NO_HEALTHY_UPSTREAM'],
  ["the agent's own admin listener", '127.0.0.1:15000', 'SELF_CALL'],
];
for (const [name, to, code] of refused) {
  test(`explain: ${name} is refused by the outbound path (${code})`, () => {
    const e = explain('default/client', to);
    assert.equal(e.route.kind, 'error');
    assert.equal(e.route.error?.code, code);
    assert.equal(e.verdict, 'error');
  });
}

test('explain: a source on another node is evaluated here, with a note', () => {
  const e = explain('default/reviews', 'echo:80');
  assert.ok(e.notes.some((n) => n.startsWith('default/reviews runs on node b: the agent there takes its traffic; this agent (node a)')));
});

const badQueries: Array<[string | null, string | null, RegExp]> = [
  [null, 'echo:80', /from is required/],
  ['default/client', null, /to is required/],
  ['bad', 'echo:80', /from "bad": expected <namespace>\/<pod> or an IP address/],
  ['default/nope', 'echo:80', /no workload default\/nope in this agent's state \(node a\)/],
  ['default/client', 'echo', /to "echo": expected <host>:<port>/],
  ['default/client', 'echo:0', /port 1-65535/],
  ['default/client', 'fd00::1:80', /write an IPv6 address in brackets/],
  ['default/client', 'nosuch:80', /no service with hostname nosuch or nosuch.svc.cluster.local or nosuch.default.svc.cluster.local/],
  ['default/client', 'default/ghost:80', /no workload default\/ghost with an address/],
];
for (const [from, to, message] of badQueries) {
  test(`explain refuses from=${from} to=${to}`, () => {
    assert.throws(() => explain(from, to), (err: unknown) => isMeshError(err, 'ADMIN_QUERY_INVALID') && message.test(err.message));
  });
}

// authorize reports what decided, without changing the decision.
const EMPTY: RbacMatch = {
  namespaces: [], notNamespaces: [], principals: [], notPrincipals: [], serviceAccounts: [], notServiceAccounts: [],
  sourceIps: [], notSourceIps: [], destinationIps: [], notDestinationIps: [], destinationPorts: [], notDestinationPorts: [],
};
const pol = (name: string, action: 'Allow' | 'Deny', ports: number[][], dryRun = false): Authorization => ({
  name, namespace: 'ns', scope: 'Namespace', action, dryRun,
  rules: ports.map((p) => [[{ ...EMPTY, destinationPorts: p }]]),
});
const conn = { srcIp: '10.0.0.1', srcPort: 1, dstIp: '10.0.0.2', dstPort: 80, srcIdentity: { trustDomain: 'td', namespace: 'ns', serviceAccount: 'sa' } };
const decided: Array<[string, Authorization[], boolean, string | undefined, number | undefined]> = [
  ['no policies', [], true, undefined, undefined],
  ['first matching ALLOW and its rule', [pol('a1', 'Allow', [[81]]), pol('a2', 'Allow', [[82], [80]]), pol('a3', 'Allow', [[80]])], true, 'a2', 1],
  ['DENY wins over ALLOW, its rule named', [pol('allow', 'Allow', [[80]]), pol('deny', 'Deny', [[81], [82], [80]])], false, 'deny', 2],
  ['no ALLOW matched: nothing decided', [pol('a', 'Allow', [[81]])], false, undefined, undefined],
  ['dry-run DENY does not decide', [pol('dry', 'Deny', [[80]], true)], true, undefined, undefined],
  ['dry-run ALLOW does not decide', [pol('dry', 'Allow', [[80]], true), pol('real', 'Allow', [[80]])], true, 'real', 0],
  ['STRICT static policy denies plaintext', [strictModePolicy()], false, 'istio_converted_static_strict', 0],
];
for (const [name, policies, allowed, by, rule] of decided) {
  test(`authorize reports the deciding policy and rule: ${name}`, () => {
    const plaintext = by === 'istio_converted_static_strict';
    const d = authorize(policies, plaintext ? { ...conn, srcIdentity: undefined } : conn);
    assert.equal(d.allowed, allowed);
    assert.equal(d.decidedBy?.name, by);
    assert.equal(d.rule, rule);
  });
}

test('endpointCandidates is exactly the set pickEndpoint chooses from (Failover locality: the best rank only)', () => {
  const yaml = `workloads:
- {uid: src, name: src, namespace: d, workloadIps: ["10.1.0.1"], node: n1, locality: {region: r1, zone: z1}}
- {uid: near1, name: near1, namespace: d, workloadIps: ["10.1.0.2"], node: n1, locality: {region: r1, zone: z1}, services: {"d/s.d.svc.cluster.local": {80: 80}}}
- {uid: near2, name: near2, namespace: d, workloadIps: ["10.1.0.3"], node: n2, locality: {region: r1, zone: z1}, services: {"d/s.d.svc.cluster.local": {80: 80}}, capacity: 3}
- {uid: far, name: far, namespace: d, workloadIps: ["10.1.0.4"], node: n3, locality: {region: r2, zone: z9}, services: {"d/s.d.svc.cluster.local": {80: 80}}}
- {uid: sick, name: sick, namespace: d, workloadIps: ["10.1.0.5"], node: n1, locality: {region: r1, zone: z1}, status: Unhealthy, services: {"d/s.d.svc.cluster.local": {80: 80}}}
services:
- {name: s, namespace: d, hostname: s.d.svc.cluster.local, vips: ["/10.2.0.1"], ports: {80: 80}, loadBalancer: {mode: Failover, routingPreferences: [Region, Zone]}}
`;
  let r = 0;
  const st = new ProxyState({ random: () => r });
  st.apply(parseLocalConfig(yaml, 'test').snapshot);
  const svc = st.serviceByKey('d/s.d.svc.cluster.local')!;
  const src = st.workloadByUid('src')!;
  const candidates = st.endpointCandidates(svc, 80, src).map((c) => c.workload.uid).sort();
  assert.deepEqual(candidates, ['near1', 'near2']);
  const picked = new Set<string>();
  for (let i = 0; i < 100; i++) {
    r = i / 100;
    picked.add(st.pickEndpoint(svc, 80, src)!.workload.uid);
  }
  assert.deepEqual([...picked].sort(), candidates);
  assert.deepEqual(st.endpointCandidates(svc, 81, src), [], 'no such service port');
});
