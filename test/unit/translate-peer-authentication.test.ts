// translateMesh, PeerAuthentication: STRICT / PERMISSIVE / DISABLE at mesh, namespace and workload
// level (workload > namespace > mesh, oldest wins), and port-level mTLS as per-workload DENY policies.
// Port-level rows follow istio's ambient testdata (pilot/pkg/serviceregistry/kube/controller/ambient/testdata/peer-authn-*).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { translateMesh } from '../../src/controlplane/index.js';
import { snapshotOf, type KubeObject } from '../../src/k8s/index.js';
import { strictModePolicy } from '../../src/rbac/index.js';
import type { Authorization, RbacMatch } from '../../src/state/index.js';
import { OPTS, ambientNs, peerAuthn, pod, problemLines, workloadNamed } from '../helpers/k8s-objects.js';

const STATIC = 'istio-system/istio_converted_static_strict';
const CONVERTED = 'foo/converted_peer_authentication_workload';
const E: RbacMatch = {
  namespaces: [], notNamespaces: [], principals: [], notPrincipals: [], serviceAccounts: [], notServiceAccounts: [],
  sourceIps: [], notSourceIps: [], destinationIps: [], notDestinationIps: [], destinationPorts: [], notDestinationPorts: [],
};
const noPrincipal = (over: Partial<RbacMatch> = {}): RbacMatch => ({ ...E, notPrincipals: [{ kind: 'presence' }], ...over });

const mesh = (mode: string, created?: string) => peerAuthn('default-mesh', 'istio-system', { mtls: { mode } }, created);
const ns = (mode: string, name = 'default-foo', created?: string) => peerAuthn(name, 'foo', { mtls: { mode } }, created);
const workload = (spec: Record<string, unknown>, name = 'workload') => peerAuthn(name, 'foo', { selector: { matchLabels: { app: 'a' } }, ...spec });

function run(objects: KubeObject[]) {
  const t = translateMesh(snapshotOf([ambientNs('foo'), pod('p', { ns: 'foo', labels: { app: 'a' } }), ...objects]), OPTS);
  return { t, keys: workloadNamed(t, 'p')?.authorizationPolicies, converted: t.policies.filter((p) => p.name.startsWith('converted_')) };
}

test('the static STRICT policy is istiod\'s, and the one the agent knows', () => {
  const { t } = run([mesh('PERMISSIVE')]);
  const expected: Authorization = {
    name: 'istio_converted_static_strict', namespace: 'istio-system', scope: 'WorkloadSelector', action: 'Deny', dryRun: false, rules: [[[noPrincipal()]]],
  };
  assert.deepEqual(t.policies, [expected]);
  assert.deepEqual(t.policies[0], strictModePolicy('istio-system'));
});

test('no PeerAuthentication at all: no static policy, no keys', () => {
  const { t, keys } = run([]);
  assert.deepEqual(t.policies, []);
  assert.deepEqual(keys, []);
});

const modes: [string, KubeObject[], string[]][] = [
  ['mesh STRICT', [mesh('STRICT')], [STATIC]],
  ['mesh PERMISSIVE', [mesh('PERMISSIVE')], []],
  ['mesh UNSET', [mesh('UNSET')], []],
  ['mesh STRICT, namespace PERMISSIVE', [mesh('STRICT'), ns('PERMISSIVE')], []],
  ['mesh STRICT, namespace DISABLE', [mesh('STRICT'), ns('DISABLE')], []],
  ['mesh PERMISSIVE, namespace STRICT', [mesh('PERMISSIVE'), ns('STRICT')], [STATIC]],
  ['namespace UNSET inherits mesh STRICT', [mesh('STRICT'), ns('UNSET')], [STATIC]],
  ['workload STRICT over namespace PERMISSIVE', [ns('PERMISSIVE'), workload({ mtls: { mode: 'STRICT' } })], [STATIC]],
  ['workload PERMISSIVE over mesh STRICT', [mesh('STRICT'), workload({ mtls: { mode: 'PERMISSIVE' } })], []],
  ['workload DISABLE over namespace STRICT', [ns('STRICT'), workload({ mtls: { mode: 'DISABLE' } })], []],
  ['workload UNSET inherits namespace STRICT', [ns('STRICT'), workload({ mtls: { mode: 'UNSET' } })], [STATIC]],
  ['a workload policy that does not select the pod does not apply', [ns('STRICT'), peerAuthn('w', 'foo', { selector: { matchLabels: { app: 'b' } }, mtls: { mode: 'PERMISSIVE' } })], [STATIC]],
  ['a policy of another namespace does not apply', [peerAuthn('x', 'bar', { mtls: { mode: 'STRICT' } })], []],
  ['a root-namespace policy with a selector is not mesh-wide', [peerAuthn('x', 'istio-system', { selector: { matchLabels: { app: 'a' } }, mtls: { mode: 'STRICT' } })], []],
  ['two namespace policies: the oldest wins', [ns('STRICT', 'newer', '2026-02-01T00:00:00Z'), ns('PERMISSIVE', 'older', '2026-01-01T00:00:00Z')], []],
  ['two namespace policies: the oldest wins (other order)', [ns('STRICT', 'older', '2026-01-01T00:00:00Z'), ns('PERMISSIVE', 'newer', '2026-02-01T00:00:00Z')], [STATIC]],
];

for (const [name, objects, expectedKeys] of modes) {
  test(`mTLS mode: ${name}`, () => {
    const { keys, converted } = run(objects);
    assert.deepEqual(keys, expectedKeys);
    assert.deepEqual(converted, []);
  });
}

const converted = (rules: Authorization['rules'], name = 'workload'): Authorization => ({
  name: `converted_peer_authentication_${name}`, namespace: 'foo', scope: 'WorkloadSelector', action: 'Deny', dryRun: false, rules,
});

const portLevel: [string, KubeObject[], Authorization | undefined, string[]][] = [
  [
    'STRICT with a DISABLE port (peer-authn-strict-and-disable-port-mtls): one rule, STRICT except that port',
    [workload({ mtls: { mode: 'STRICT' }, portLevelMtls: { 9090: { mode: 'DISABLE' } } })],
    converted([[[noPrincipal()], [{ ...E, notDestinationPorts: [9090] }]]]),
    [CONVERTED],
  ],
  [
    'PERMISSIVE mesh and namespace, STRICT ports (…-permissive-namespace-strict-workload-ports): a rule per port, sorted',
    [mesh('PERMISSIVE'), ns('PERMISSIVE'), workload({ portLevelMtls: { 9090: { mode: 'STRICT' }, 8080: { mode: 'STRICT' } } })],
    converted([[[noPrincipal({ destinationPorts: [8080] })]], [[noPrincipal({ destinationPorts: [9090] })]]]),
    [CONVERTED],
  ],
  [
    'mesh STRICT, PERMISSIVE port (peer-authn-strict-root-permissive-workload): STRICT merged in, no static key',
    [mesh('STRICT'), workload({ portLevelMtls: { 9090: { mode: 'PERMISSIVE' } } })],
    converted([[[{ ...E, notDestinationPorts: [9090] }], [noPrincipal()]]]),
    [CONVERTED],
  ],
  [
    'workload PERMISSIVE with a STRICT port, no mesh policy',
    [workload({ mtls: { mode: 'PERMISSIVE' }, portLevelMtls: { 8080: { mode: 'STRICT' } } })],
    converted([[[noPrincipal({ destinationPorts: [8080] })]]]),
    [CONVERTED],
  ],
  [
    'workload PERMISSIVE: its PERMISSIVE/DISABLE ports add nothing, only the STRICT port counts',
    [workload({ mtls: { mode: 'PERMISSIVE' }, portLevelMtls: { 8080: { mode: 'DISABLE' }, 8081: { mode: 'PERMISSIVE' }, 9090: { mode: 'STRICT' } } })],
    converted([[[noPrincipal({ destinationPorts: [9090] })]]]),
    [CONVERTED],
  ],
  [
    'STRICT with every port STRICT: just the static policy',
    [workload({ mtls: { mode: 'STRICT' }, portLevelMtls: { 8080: { mode: 'STRICT' } } })],
    undefined,
    [STATIC],
  ],
  [
    'STRICT port under an inherited STRICT: nothing to add',
    [ns('STRICT'), workload({ portLevelMtls: { 8080: { mode: 'STRICT' } } })],
    undefined,
    [STATIC],
  ],
  [
    'PERMISSIVE port with no STRICT anywhere: nothing to exempt',
    [workload({ portLevelMtls: { 8080: { mode: 'PERMISSIVE' } } })],
    undefined,
    [],
  ],
  [
    // Upstream's condition (Go precedence) skips a STRICT port whenever the mesh is STRICT and the
    // namespace sets nothing, even under a PERMISSIVE workload; the workload then references a
    // policy that is not sent, which the agent skips: port 8080 stays PERMISSIVE. Kept as istiod.
    'istiod quirk: mesh STRICT, workload PERMISSIVE with a STRICT port',
    [mesh('STRICT'), workload({ mtls: { mode: 'PERMISSIVE' }, portLevelMtls: { 8080: { mode: 'STRICT' } } })],
    undefined,
    [CONVERTED],
  ],
];

for (const [name, objects, expectedPolicy, expectedKeys] of portLevel) {
  test(`port-level mTLS: ${name}`, () => {
    const { t, keys, converted: got } = run(objects);
    assert.deepEqual(got, expectedPolicy ? [expectedPolicy] : []);
    assert.deepEqual(keys, expectedKeys);
    assert.ok(t.policies.some((p) => p.name === 'istio_converted_static_strict'));
  });
}

test('port-level mTLS in the root namespace is not converted', () => {
  const { converted: got } = run([peerAuthn('x', 'istio-system', { selector: { matchLabels: { app: 'a' } }, portLevelMtls: { 80: { mode: 'STRICT' } } })]);
  assert.deepEqual(got, []);
});

test('a portLevelMtls key that is not a port is reported and left out', () => {
  const { t, converted: got } = run([workload({ mtls: { mode: 'PERMISSIVE' }, portLevelMtls: { http: { mode: 'STRICT' }, 8080: { mode: 'STRICT' } } })]);
  assert.deepEqual(got, [converted([[[noPrincipal({ destinationPorts: [8080] })]]])]);
  assert.deepEqual(problemLines(t), ['error PeerAuthentication/foo/workload spec.portLevelMtls["http"]: not a port number; entry left out']);
});
