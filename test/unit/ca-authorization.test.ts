// The control-plane CA's authorization rules, table-driven: own identity, impersonation by trusted
// and untrusted callers, the caller's node from its pod, trust domain, CSR identity, TTL cap.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import { ObjectStore, type KubeObject } from '../../src/k8s/index.js';
import {
  CaRefusal,
  DEFAULT_TRUSTED_NODE_ACCOUNTS,
  DEFAULT_WORKLOAD_CERT_TTL_SECONDS,
  MAX_WORKLOAD_CERT_TTL_SECONDS,
  PodNodeAuthorizer,
  checkCsrIdentity,
  grantIdentity,
  grantedTtlSeconds,
  type AuthorizationPolicy,
  type Caller,
  type NodeAuthorizer,
  type RefusalReason,
} from '../../src/controlplane/index.js';

const TD = 'cluster.local';
const id = (ns: string, sa: string, td = TD): string => `spiffe://${td}/ns/${ns}/sa/${sa}`;

function caller(ns: string, sa: string, extra: Partial<Caller> = {}): Caller {
  return { source: 'token', identity: id(ns, sa), namespace: ns, serviceAccount: sa, peer: '10.0.0.1:5000', ...extra };
}

const ZTUNNEL_ON_A = caller('istio-system', 'ztunnel', { pod: { name: 'ztunnel-a', uid: 'u-a' } });

/** Node a runs default/client; node b runs default/echo; the caller's node comes from its pod. */
const NODES: NodeAuthorizer = {
  nodeOfCaller: (c) => (c.pod?.name === 'ztunnel-a' ? 'a' : c.pod?.name === 'ztunnel-b' ? 'b' : undefined),
  workloadOnNode: (w, node) => (node === 'a' && `${w.namespace}/${w.serviceAccount}` === 'default/client') || (node === 'b' && `${w.namespace}/${w.serviceAccount}` === 'default/echo'),
};

const POLICY: AuthorizationPolicy = { trustDomain: TD, trustedNodeAccounts: new Set(DEFAULT_TRUSTED_NODE_ACCOUNTS), nodes: NODES };

const cases: Array<{
  name: string;
  caller: Caller;
  impersonate?: string;
  policy?: Partial<AuthorizationPolicy>;
  grant?: { identity: string; impersonated: boolean; node?: string };
  refused?: RefusalReason;
}> = [
  { name: 'same identity: a workload gets its own', caller: caller('default', 'client'), grant: { identity: id('default', 'client'), impersonated: false } },
  { name: 'empty ImpersonatedIdentity counts as absent (istiod GetStringValue)', caller: caller('default', 'client'), impersonate: '', grant: { identity: id('default', 'client'), impersonated: false } },
  { name: 'a trusted node agent gets its own identity too', caller: ZTUNNEL_ON_A, grant: { identity: id('istio-system', 'ztunnel'), impersonated: false } },
  {
    name: 'trusted node agent impersonates a workload on its node',
    caller: ZTUNNEL_ON_A,
    impersonate: id('default', 'client'),
    grant: { identity: id('default', 'client'), impersonated: true, node: 'a' },
  },
  {
    name: 'a node bound by the credential is used as is',
    caller: caller('istio-system', 'ztunnel', { node: 'b' }),
    impersonate: id('default', 'echo'),
    grant: { identity: id('default', 'echo'), impersonated: true, node: 'b' },
  },
  { name: 'untrusted caller may not impersonate', caller: caller('default', 'client'), impersonate: id('default', 'echo'), refused: 'untrusted_impersonation' },
  {
    name: 'untrusted even for an identity on its own node',
    caller: caller('default', 'client', { node: 'a' }),
    impersonate: id('default', 'client'),
    refused: 'untrusted_impersonation',
  },
  { name: 'wrong node: the workload runs elsewhere', caller: ZTUNNEL_ON_A, impersonate: id('default', 'echo'), refused: 'workload_not_on_node' },
  { name: 'caller node unknown (credential names no pod)', caller: caller('istio-system', 'ztunnel'), impersonate: id('default', 'client'), refused: 'caller_node_unknown' },
  {
    name: 'caller node unknown (pod not in the store)',
    caller: caller('istio-system', 'ztunnel', { pod: { name: 'ztunnel-gone' } }),
    impersonate: id('default', 'client'),
    refused: 'caller_node_unknown',
  },
  { name: 'wrong trust domain (impersonated)', caller: ZTUNNEL_ON_A, impersonate: id('default', 'client', 'evil.example'), refused: 'trust_domain' },
  {
    name: 'wrong trust domain (own identity)',
    caller: { ...caller('default', 'client'), source: 'mtls', identity: id('default', 'client', 'evil.example') },
    refused: 'trust_domain',
  },
  { name: 'malformed impersonated identity', caller: ZTUNNEL_ON_A, impersonate: 'spiffe://cluster.local/ns/default/sa/client/extra', refused: 'invalid_identity' },
  { name: 'impersonated identity that is not SPIFFE', caller: ZTUNNEL_ON_A, impersonate: '{"number_value":1}', refused: 'invalid_identity' },
  { name: 'no node authorizer: impersonation off', caller: ZTUNNEL_ON_A, impersonate: id('default', 'client'), policy: { nodes: undefined }, refused: 'impersonation_disabled' },
  {
    name: 'the trusted list is configurable: istio-system/ztunnel is not trusted when not listed',
    caller: ZTUNNEL_ON_A,
    impersonate: id('default', 'client'),
    policy: { trustedNodeAccounts: new Set(['kube-system/agent']) },
    refused: 'untrusted_impersonation',
  },
  {
    name: 'a configured node account is trusted',
    caller: caller('kube-system', 'agent', { node: 'a' }),
    impersonate: id('default', 'client'),
    policy: { trustedNodeAccounts: new Set(['kube-system/agent']) },
    grant: { identity: id('default', 'client'), impersonated: true, node: 'a' },
  },
];

for (const c of cases) {
  test(`grantIdentity: ${c.name}`, async () => {
    const p = grantIdentity(c.caller, c.impersonate, { ...POLICY, ...c.policy });
    if (c.grant) {
      const g = await p;
      assert.deepEqual({ identity: g.identity, impersonated: g.impersonated, ...(g.node !== undefined ? { node: g.node } : {}) }, c.grant);
    } else {
      await assert.rejects(p, (err: unknown) => err instanceof CaRefusal && err.reason === c.refused && err.code === 'CA_DENIED');
    }
  });
}

test('refusal statuses: authentication UNAUTHENTICATED, authorization PERMISSION_DENIED, malformed INVALID_ARGUMENT', () => {
  const expected: Array<[RefusalReason, status]> = [
    ['unauthenticated', status.UNAUTHENTICATED],
    ['cluster_id', status.UNAUTHENTICATED],
    ['authenticator_unavailable', status.UNAVAILABLE],
    ['untrusted_impersonation', status.PERMISSION_DENIED],
    ['workload_not_on_node', status.PERMISSION_DENIED],
    ['caller_node_unknown', status.PERMISSION_DENIED],
    ['trust_domain', status.PERMISSION_DENIED],
    ['identity_mismatch', status.PERMISSION_DENIED],
    ['invalid_csr', status.INVALID_ARGUMENT],
    ['invalid_identity', status.INVALID_ARGUMENT],
  ];
  for (const [reason, code] of expected) assert.equal(new CaRefusal(reason, 'x').grpcCode, code, reason);
});

const GRANT = { identity: id('default', 'client'), impersonated: false };
const csrCases: Array<{ name: string; uris: string[]; ok: boolean }> = [
  { name: 'exactly the granted identity', uris: [id('default', 'client')], ok: true },
  { name: 'another identity', uris: [id('default', 'echo')], ok: false },
  { name: 'the granted identity plus another', uris: [id('default', 'client'), id('default', 'echo')], ok: false },
  { name: 'no URI SAN', uris: [], ok: false },
  { name: 'same identity in another trust domain', uris: [id('default', 'client', 'evil.example')], ok: false },
];
for (const c of csrCases) {
  test(`checkCsrIdentity: ${c.name}`, () => {
    if (c.ok) checkCsrIdentity(c.uris, GRANT);
    else assert.throws(() => checkCsrIdentity(c.uris, GRANT), (err: unknown) => err instanceof CaRefusal && err.reason === 'identity_mismatch');
  });
}

test('TTL: istiod defaults (24 h default, 90 d max); requests above the max are capped', () => {
  assert.equal(DEFAULT_WORKLOAD_CERT_TTL_SECONDS, 86_400);
  assert.equal(MAX_WORKLOAD_CERT_TTL_SECONDS, 90 * 86_400);
  const policy = { defaultTtlSeconds: 3600, maxTtlSeconds: 7200 };
  for (const [requested, granted] of [
    [1800, 1800],
    [7200, 7200],
    [7201, 7200],
    [10 * 365 * 86_400, 7200],
    [0, 3600],
    [-5, 3600],
    [Number.NaN, 3600],
    [0.5, 1],
    [99.9, 99],
  ] as const) {
    assert.equal(grantedTtlSeconds(requested, policy), granted, `requested ${requested}`);
  }
});

function pod(ns: string, name: string, sa: string | undefined, node: string | undefined, uid = `uid-${name}`): KubeObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { namespace: ns, name, uid }, spec: { containers: [], ...(sa ? { serviceAccountName: sa } : {}), ...(node ? { nodeName: node } : {}) } } as KubeObject;
}

test('PodNodeAuthorizer: the caller node is its own pod’s (name, UID, service account); workloads by node and ns/sa', () => {
  const store = new ObjectStore();
  store.replaceKinds(['Pod'], [
    pod('istio-system', 'ztunnel-a', 'ztunnel', 'a'),
    pod('istio-system', 'ztunnel-pending', 'ztunnel', undefined),
    pod('default', 'client', 'client', 'a'),
    pod('default', 'no-sa', undefined, 'b'),
    pod('other', 'client', 'client', 'b'),
  ]);
  const nodes = new PodNodeAuthorizer(() => store.snapshot());
  const zt = (podName: string, uid?: string, sa = 'ztunnel'): Caller => caller('istio-system', sa, { pod: { name: podName, ...(uid ? { uid } : {}) } });
  assert.equal(nodes.nodeOfCaller(zt('ztunnel-a', 'uid-ztunnel-a')), 'a');
  assert.equal(nodes.nodeOfCaller(zt('ztunnel-a')), 'a', 'no UID in the credential: name and SA decide');
  assert.equal(nodes.nodeOfCaller(zt('ztunnel-a', 'uid-recreated')), undefined, 'UID mismatch');
  assert.equal(nodes.nodeOfCaller(zt('ztunnel-a', undefined, 'other-sa')), undefined, 'service account mismatch');
  assert.equal(nodes.nodeOfCaller(zt('ztunnel-pending')), undefined, 'not scheduled');
  assert.equal(nodes.nodeOfCaller(zt('missing')), undefined, 'unknown pod');
  assert.equal(nodes.nodeOfCaller(caller('istio-system', 'ztunnel')), undefined, 'no pod in the credential');

  assert.equal(nodes.workloadOnNode({ namespace: 'default', serviceAccount: 'client' }, 'a'), true);
  assert.equal(nodes.workloadOnNode({ namespace: 'default', serviceAccount: 'client' }, 'b'), false);
  assert.equal(nodes.workloadOnNode({ namespace: 'other', serviceAccount: 'client' }, 'b'), true);
  assert.equal(nodes.workloadOnNode({ namespace: 'default', serviceAccount: 'default' }, 'b'), true, 'empty serviceAccountName is "default"');
  assert.equal(nodes.workloadOnNode({ namespace: 'istio-system', serviceAccount: 'ztunnel' }, ''), false);
  // The index follows the store: a deleted pod is gone at once.
  store.apply([{ type: 'delete', kind: 'Pod', namespace: 'default', name: 'client' }]);
  assert.equal(nodes.workloadOnNode({ namespace: 'default', serviceAccount: 'client' }, 'a'), false);
});
