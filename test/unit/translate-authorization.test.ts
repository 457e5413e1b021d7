// translateMesh, AuthorizationPolicy → Authorization: scopes, actions, what is not sent, every L4
// field with its value forms, and each HTTP field's handling in ALLOW and DENY policies.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { translateMesh } from '../../src/controlplane/index.js';
import { snapshotOf, type KubeObject } from '../../src/k8s/index.js';
import { policyMatches } from '../../src/rbac/index.js';
import type { Authorization, RbacMatch } from '../../src/state/index.js';
import { OPTS, ambientNs, authz, pod, problemLines, workloadNamed } from '../helpers/k8s-objects.js';

const E: RbacMatch = {
  namespaces: [], notNamespaces: [], principals: [], notPrincipals: [], serviceAccounts: [], notServiceAccounts: [],
  sourceIps: [], notSourceIps: [], destinationIps: [], notDestinationIps: [], destinationPorts: [], notDestinationPorts: [],
};
const m = (over: Partial<RbacMatch>): RbacMatch => ({ ...E, ...over });

function policy(over: Partial<Authorization>): Authorization {
  return { name: 'ap', namespace: 'default', scope: 'Namespace', action: 'Allow', dryRun: false, rules: [], ...over };
}

function translatePolicies(objects: KubeObject[]) {
  return translateMesh(snapshotOf(objects), OPTS);
}

interface Row {
  readonly name: string;
  readonly ap: KubeObject<'AuthorizationPolicy'>;
  readonly expected: Authorization | undefined;
  readonly problems?: string[];
}

const scopes: Row[] = [
  { name: 'no selector: Namespace scope, ALLOW by default', ap: authz('ap', 'default', { rules: [{}] }), expected: policy({ rules: [[]] }) },
  { name: 'no selector in the root namespace: Global', ap: authz('ap', 'istio-system', { rules: [{}] }), expected: policy({ namespace: 'istio-system', scope: 'Global', rules: [[]] }) },
  { name: 'selector: WorkloadSelector', ap: authz('ap', 'default', { selector: { matchLabels: { app: 'a' } }, rules: [{}] }), expected: policy({ scope: 'WorkloadSelector', rules: [[]] }) },
  { name: 'DENY', ap: authz('ap', 'default', { action: 'DENY', rules: [{}] }), expected: policy({ action: 'Deny', rules: [[]] }) },
  { name: 'spec {}: no rules (an ALLOW that denies all)', ap: authz('ap', 'default', {}), expected: policy({}) },
  { name: 'targetRefs: for the waypoint, not sent', ap: authz('ap', 'default', { targetRefs: [{ kind: 'Service', group: '', name: 's' }], rules: [{}] }), expected: undefined },
  { name: 'targetRef (singular): not sent', ap: authz('ap', 'default', { targetRef: { kind: 'Gateway', group: 'gateway.networking.k8s.io', name: 'wp' } }), expected: undefined },
  {
    name: 'AUDIT: not sent, reported',
    ap: authz('ap', 'default', { action: 'AUDIT' }), expected: undefined,
    problems: ['error AuthorizationPolicy/default/ap spec.action: UnsupportedValue: ztunnel does not support the AUDIT action'],
  },
  {
    name: 'CUSTOM: not sent, reported',
    ap: authz('ap', 'default', { action: 'CUSTOM', provider: { name: 'ext' } }), expected: undefined,
    problems: ['error AuthorizationPolicy/default/ap spec.action: UnsupportedValue: ztunnel does not support the CUSTOM action'],
  },
  {
    name: 'istio.io/dry-run: not sent to node agents',
    ap: authz('ap', 'default', { action: 'DENY', rules: [{}] }, { 'istio.io/dry-run': 'true' }), expected: undefined,
    problems: ['warning AuthorizationPolicy/default/ap metadata.annotations["istio.io/dry-run"]: dry-run policies are not sent to node agents (istiod leaves them out for ztunnel)'],
  },
  { name: 'istio.io/dry-run=false: sent', ap: authz('ap', 'default', { rules: [{}] }, { 'istio.io/dry-run': 'false' }), expected: policy({ rules: [[]] }) },
];

const fields: Row[] = [
  {
    name: 'principals: exact, prefix, suffix, presence',
    ap: authz('ap', 'default', { rules: [{ from: [{ source: { principals: ['td/ns/a/sa/b', 'td/ns/a/*', '*/sa/admin', '*'], notPrincipals: ['td/ns/x/sa/y'] } }] }] }),
    expected: policy({
      rules: [[[m({
        principals: [{ kind: 'exact', value: 'td/ns/a/sa/b' }, { kind: 'prefix', value: 'td/ns/a/' }, { kind: 'suffix', value: '/sa/admin' }, { kind: 'presence' }],
        notPrincipals: [{ kind: 'exact', value: 'td/ns/x/sa/y' }],
      })]]],
    }),
  },
  {
    name: 'namespaces and notNamespaces',
    ap: authz('ap', 'default', { rules: [{ from: [{ source: { namespaces: ['prod-*'], notNamespaces: ['prod-test'] } }] }] }),
    expected: policy({ rules: [[[m({ namespaces: [{ kind: 'prefix', value: 'prod-' }], notNamespaces: [{ kind: 'exact', value: 'prod-test' }] })]]] }),
  },
  {
    name: 'serviceAccounts `ns/sa` and bare `sa` (the policy namespace)',
    ap: authz('ap', 'default', { rules: [{ from: [{ source: { serviceAccounts: ['other/api', 'web'], notServiceAccounts: ['bad'] } }] }] }),
    expected: policy({
      rules: [[[m({
        serviceAccounts: [{ namespace: 'other', serviceAccount: 'api' }, { namespace: 'default', serviceAccount: 'web' }],
        notServiceAccounts: [{ namespace: 'default', serviceAccount: 'bad' }],
      })]]],
    }),
  },
  {
    name: 'ipBlocks: a bare IP is a full-length prefix, CIDRs kept, IPv6 canonical',
    ap: authz('ap', 'default', { rules: [{ from: [{ source: { ipBlocks: ['10.0.0.1', '10.1.0.0/16', 'FD00::1'], notIpBlocks: ['10.1.2.0/24'] } }] }] }),
    expected: policy({
      rules: [[[m({
        sourceIps: [{ ip: '10.0.0.1', prefixLength: 32 }, { ip: '10.1.0.0', prefixLength: 16 }, { ip: 'fd00::1', prefixLength: 128 }],
        notSourceIps: [{ ip: '10.1.2.0', prefixLength: 24 }],
      })]]],
    }),
  },
  {
    name: 'to: one match per operation, ports and notPorts',
    ap: authz('ap', 'default', { rules: [{ to: [{ operation: { ports: ['80', '443'] } }, { operation: { notPorts: ['8080'] } }] }] }),
    expected: policy({ rules: [[[m({ destinationPorts: [80, 443] }), m({ notDestinationPorts: [8080] })]]] }),
  },
  {
    name: 'clause order to, from, then one per when; values and notValues',
    ap: authz('ap', 'default', {
      rules: [{
        when: [{ key: 'source.ip', values: ['10.0.0.0/8'], notValues: ['10.9.0.0/16'] }, { key: 'destination.port', values: ['80'] }, { key: 'source.namespace', notValues: ['x'] },
          { key: 'source.principal', values: ['*'] }, { key: 'destination.ip', values: ['10.2.0.1'] }],
        from: [{ source: { namespaces: ['a'] } }],
        to: [{ operation: { ports: ['80'] } }],
      }],
    }),
    expected: policy({
      rules: [[
        [m({ destinationPorts: [80] })],
        [m({ namespaces: [{ kind: 'exact', value: 'a' }] })],
        [m({ sourceIps: [{ ip: '10.0.0.0', prefixLength: 8 }], notSourceIps: [{ ip: '10.9.0.0', prefixLength: 16 }] })],
        [m({ destinationPorts: [80] })],
        [m({ notNamespaces: [{ kind: 'exact', value: 'x' }] })],
        [m({ principals: [{ kind: 'presence' }] })],
        [m({ destinationIps: [{ ip: '10.2.0.1', prefixLength: 32 }] })],
      ]],
    }),
  },
  {
    name: 'values istiod cannot parse are skipped and reported',
    ap: authz('ap', 'default', { rules: [{ from: [{ source: { ipBlocks: ['10.0.0.0/8', 'ten', ''] } }], to: [{ operation: { ports: ['http', '70000', '81'] } }] }] }),
    expected: policy({ rules: [[[m({ destinationPorts: [81] })], [m({ sourceIps: [{ ip: '10.0.0.0', prefixLength: 8 }] })]]] }),
    problems: [
      'warning AuthorizationPolicy/default/ap spec.rules[0].to[0].operation.ports: "http" is not valid here; istiod skips the value, the rest of the rule is kept',
      'warning AuthorizationPolicy/default/ap spec.rules[0].to[0].operation.ports: "70000" is not valid here; istiod skips the value, the rest of the rule is kept',
      'warning AuthorizationPolicy/default/ap spec.rules[0].from[0].source.ipBlocks: "ten" is not valid here; istiod skips the value, the rest of the rule is kept',
    ],
  },
];

for (const row of [...scopes, ...fields]) {
  test(`authorization: ${row.name}`, () => {
    const t = translatePolicies([row.ap]);
    assert.deepEqual(t.policies, row.expected ? [row.expected] : []);
    assert.deepEqual(problemLines(t), row.problems ?? []);
  });
}

/** Each HTTP-only field, alone in a rule next to an L4 field. */
const httpFields: [string, Record<string, unknown>, RbacMatch[][]][] = [
  ['hosts', { to: [{ operation: { hosts: ['a.com'], ports: ['80'] } }] }, [[m({ destinationPorts: [80] })]]],
  ['notHosts', { to: [{ operation: { notHosts: ['a.com'], ports: ['80'] } }] }, [[m({ destinationPorts: [80] })]]],
  ['methods', { to: [{ operation: { methods: ['GET'], ports: ['80'] } }] }, [[m({ destinationPorts: [80] })]]],
  ['notMethods', { to: [{ operation: { notMethods: ['GET'], ports: ['80'] } }] }, [[m({ destinationPorts: [80] })]]],
  ['paths', { to: [{ operation: { paths: ['/a'], ports: ['80'] } }] }, [[m({ destinationPorts: [80] })]]],
  ['notPaths', { to: [{ operation: { notPaths: ['/a'], ports: ['80'] } }] }, [[m({ destinationPorts: [80] })]]],
  ['requestPrincipals', { from: [{ source: { requestPrincipals: ['iss/sub'], namespaces: ['a'] } }] }, [[m({ namespaces: [{ kind: 'exact', value: 'a' }] })]]],
  ['notRequestPrincipals', { from: [{ source: { notRequestPrincipals: ['iss/sub'], namespaces: ['a'] } }] }, [[m({ namespaces: [{ kind: 'exact', value: 'a' }] })]]],
  ['remoteIpBlocks', { from: [{ source: { remoteIpBlocks: ['1.2.3.4'], namespaces: ['a'] } }] }, [[m({ namespaces: [{ kind: 'exact', value: 'a' }] })]]],
  ['notRemoteIpBlocks', { from: [{ source: { notRemoteIpBlocks: ['1.2.3.4'], namespaces: ['a'] } }] }, [[m({ namespaces: [{ kind: 'exact', value: 'a' }] })]]],
  ['request.headers[x-user]', { when: [{ key: 'request.headers[x-user]', values: ['bob'] }], from: [{ source: { namespaces: ['a'] } }] }, [[m({ namespaces: [{ kind: 'exact', value: 'a' }] })], [E]]],
];

const httpMessage = (found: string, allow: boolean): string =>
  `warning AuthorizationPolicy/default/ap spec.rules: UnsupportedValue: ztunnel does not support HTTP attributes (found: ${found}). ` +
  'In ambient mode you must use a waypoint proxy to enforce HTTP rules. ' +
  (allow
    ? 'Within an ALLOW policy, rules matching HTTP attributes are omitted. This will be more restrictive than requested.'
    : 'DENY policy with HTTP attributes is enforced without the HTTP rules. This will be more restrictive than requested.');

for (const [field, rule, denyRule] of httpFields) {
  test(`HTTP field ${field} in an ALLOW policy: the whole rule is dropped, the L4-only rule kept`, () => {
    const t = translatePolicies([authz('ap', 'default', { rules: [rule, { to: [{ operation: { ports: ['9000'] } }] }] })]);
    assert.deepEqual(t.policies, [policy({ rules: [[[m({ destinationPorts: [9000] })]]] })]);
    assert.deepEqual(problemLines(t), [httpMessage(field, true)]);
  });
  test(`HTTP field ${field} in a DENY policy: the HTTP part removed, the L4 part kept`, () => {
    const t = translatePolicies([authz('ap', 'default', { action: 'DENY', rules: [rule] })]);
    assert.deepEqual(t.policies, [policy({ action: 'Deny', rules: [denyRule] })]);
    assert.deepEqual(problemLines(t), [httpMessage(field, false)]);
  });
}

test('an ALLOW policy whose only rule is HTTP keeps existing with no rules: it denies everything', () => {
  const t = translatePolicies([authz('ap', 'default', { rules: [{ to: [{ operation: { methods: ['GET'] } }] }] })]);
  assert.deepEqual(t.policies, [policy({ rules: [] })]);
  const conn = { srcIp: '10.0.0.2', srcPort: 1, dstIp: '10.0.0.1', dstPort: 80, srcIdentity: undefined };
  assert.equal(policyMatches(t.policies[0]!, conn), false);
});

test('a DENY `to` made only of HTTP fields becomes an all-empty match, which node agents skip: the rule never fires', () => {
  const t = translatePolicies([authz('ap', 'default', { action: 'DENY', rules: [{ to: [{ operation: { methods: ['POST'] } }] }] })]);
  assert.deepEqual(t.policies, [policy({ action: 'Deny', rules: [[[E]]] })]);
  const conn = { srcIp: '10.0.0.2', srcPort: 1, dstIp: '10.0.0.1', dstPort: 80, srcIdentity: undefined };
  assert.equal(policyMatches(t.policies[0]!, conn), false);
});

test('selector policies attach to the workloads they select, in their namespace or from the root namespace, sorted', () => {
  const t = translatePolicies([
    ambientNs(), ambientNs('other'),
    pod('p', { labels: { app: 'a', tier: 'web' } }), pod('q', { labels: { app: 'b' } }), pod('r', { ns: 'other', labels: { app: 'a' } }),
    authz('z-sel', 'default', { selector: { matchLabels: { app: 'a' } } }),
    authz('a-sel', 'default', { selector: { matchLabels: { app: 'a', tier: 'web' } } }),
    authz('mesh-sel', 'istio-system', { selector: { matchLabels: { app: 'a' } } }),
    authz('ns-wide', 'default', {}),
    authz('no-labels', 'default', { selector: {} }),
  ]);
  assert.deepEqual(workloadNamed(t, 'p')?.authorizationPolicies, ['default/a-sel', 'default/z-sel', 'istio-system/mesh-sel']);
  assert.deepEqual(workloadNamed(t, 'q')?.authorizationPolicies, []);
  assert.deepEqual(workloadNamed(t, 'r')?.authorizationPolicies, ['istio-system/mesh-sel']);
  assert.deepEqual(t.policies.map((p) => `${p.namespace}/${p.name}:${p.scope}`), [
    'default/a-sel:WorkloadSelector', 'default/no-labels:WorkloadSelector', 'default/ns-wide:Namespace',
    'default/z-sel:WorkloadSelector', 'istio-system/mesh-sel:WorkloadSelector',
  ]);
  assert.deepEqual(problemLines(t), ['warning AuthorizationPolicy/default/no-labels spec.selector: selector without matchLabels selects no workload']);
});
