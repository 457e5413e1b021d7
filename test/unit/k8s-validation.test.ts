// Validation table for the objects the control plane reads: a good object of every kind in every
// accepted version passes; each rejection path gives its exact field path and reason.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KIND_INFO, KINDS, SCHEMA_MODELS, apiVersionsOf, formatFieldPath, rejectionOf, validateObject, NETNS_ANNOTATION, type Kind } from '../../src/k8s/index.js';
import { goodObject, withField } from '../helpers/k8s-good-objects.js';

const SUBDOMAIN =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const LABEL =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const DNS1035 =
  "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";

test('every accepted version of every kind has a schema model', () => {
  for (const kind of KINDS) {
    assert.deepEqual(Object.keys(SCHEMA_MODELS[kind]).sort(), [...KIND_INFO[kind].versions].sort(), kind);
  }
});

test('a good object of every kind passes in every accepted version, unchanged', () => {
  for (const kind of KINDS) {
    for (const apiVersion of apiVersionsOf(kind)) {
      const obj = { ...goodObject(kind), apiVersion };
      const result = validateObject(obj);
      assert.ok(result.ok, `${kind} ${apiVersion}: ${JSON.stringify(!result.ok && result.problems)}`);
      assert.equal(result.object, obj, 'the validated object is the input itself');
    }
  }
});

test('server-set fields (status, uid, creationTimestamp, managedFields) do not fail validation', () => {
  const pod = goodObject('Pod');
  const served = {
    ...pod,
    metadata: {
      ...(pod['metadata'] as object),
      uid: 'a8f3c2d0-0000-4000-8000-000000000001',
      resourceVersion: '1234',
      generation: 1,
      creationTimestamp: '2024-05-01T10:00:00Z',
      managedFields: [{ manager: 'kubectl', operation: 'Apply', apiVersion: 'v1', time: '2024-05-01T10:00:00Z', fieldsType: 'FieldsV1', fieldsV1: {} }],
    },
  };
  assert.ok(validateObject(served).ok);
});

interface Case {
  readonly name: string;
  readonly object: unknown;
  readonly path: string;
  readonly reason: string;
}

const pod = goodObject('Pod');
const longName = 'a'.repeat(254);

const CASES: readonly Case[] = [
  { name: 'not a map', object: ['a'], path: '(object)', reason: 'expected a Kubernetes object (a map), got a list' },
  { name: 'apiVersion missing', object: withField(pod, 'apiVersion', undefined), path: 'apiVersion', reason: 'required field is missing' },
  { name: 'kind missing', object: withField(pod, 'kind', undefined), path: 'kind', reason: 'required field is missing' },
  {
    name: 'unknown kind',
    object: { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'default' } },
    path: 'kind',
    reason: `unknown kind "Deployment"; Ambit reads: ${KINDS.join(', ')}`,
  },
  {
    name: 'apiVersion not served for the kind',
    object: withField(goodObject('HTTPRoute'), 'apiVersion', 'gateway.networking.k8s.io/v2'),
    path: 'apiVersion',
    reason: '"gateway.networking.k8s.io/v2" is not a served version of HTTPRoute; accepted: gateway.networking.k8s.io/v1, gateway.networking.k8s.io/v1beta1',
  },
  {
    name: 'apiVersion of another group',
    object: withField(goodObject('AuthorizationPolicy'), 'apiVersion', 'networking.istio.io/v1'),
    path: 'apiVersion',
    reason: '"networking.istio.io/v1" is not a served version of AuthorizationPolicy; accepted: security.istio.io/v1, security.istio.io/v1beta1',
  },
  { name: 'metadata missing', object: withField(pod, 'metadata', undefined), path: 'metadata', reason: 'required field is missing' },
  { name: 'name missing', object: withField(pod, 'metadata.name', undefined), path: 'metadata.name', reason: 'name or generateName is required' },
  {
    name: 'generateName only',
    object: withField(withField(pod, 'metadata.name', undefined), 'metadata.generateName', 'web-'),
    path: 'metadata.name',
    reason: 'name or generateName is required (generateName is not supported: objects here are applied, not created)',
  },
  { name: 'name not a string', object: withField(pod, 'metadata.name', 7), path: 'metadata.name', reason: 'must be a string, got number 7' },
  { name: 'name not a DNS-1123 subdomain', object: withField(pod, 'metadata.name', 'Web_1'), path: 'metadata.name', reason: SUBDOMAIN },
  { name: 'name too long', object: withField(pod, 'metadata.name', longName), path: 'metadata.name', reason: 'must be no more than 253 characters' },
  { name: 'Service name not a DNS-1035 label', object: withField(goodObject('Service'), 'metadata.name', '1web'), path: 'metadata.name', reason: DNS1035 },
  { name: 'Namespace name not a DNS-1123 label', object: withField(goodObject('Namespace'), 'metadata.name', 'a.b'), path: 'metadata.name', reason: LABEL },
  { name: 'namespace missing', object: withField(pod, 'metadata.namespace', undefined), path: 'metadata.namespace', reason: 'required for namespaced kind Pod' },
  { name: 'namespace invalid', object: withField(pod, 'metadata.namespace', 'Bad_NS'), path: 'metadata.namespace', reason: LABEL },
  {
    name: 'namespace on a cluster-scoped kind',
    object: withField(goodObject('Node'), 'metadata.namespace', 'default'),
    path: 'metadata.namespace',
    reason: 'not allowed on this type (Node is cluster-scoped)',
  },
  {
    name: 'schema: wrong type deep in a list',
    object: withField(pod, 'spec.containers.0.ports.0.containerPort', 'x'),
    path: 'spec.containers[0].ports[0].containerPort',
    reason: 'must be integer, got string "x"',
  },
  { name: 'schema: required field', object: withField(goodObject('EndpointSlice'), 'addressType', undefined), path: 'addressType', reason: 'required field is missing' },
  { name: 'schema: required spec of a CRD', object: withField(goodObject('HTTPRoute'), 'spec', undefined), path: 'spec', reason: 'required field is missing' },
  {
    name: 'schema: enum',
    object: withField(goodObject('AuthorizationPolicy'), 'spec.action', 'ALOW'),
    path: 'spec.action',
    reason: 'must be one of: ALLOW, DENY, AUDIT, CUSTOM, got string "ALOW"',
  },
  {
    name: 'schema: enum through a substitute model (PeerAuthentication v1 ⇒ v1beta1 model)',
    object: withField(goodObject('PeerAuthentication'), 'spec.mtls.mode', 'BOGUS'),
    path: 'spec.mtls.mode',
    reason: 'must be one of: UNSET, DISABLE, PERMISSIVE, STRICT, got string "BOGUS"',
  },
  {
    name: 'schema: maximum (HTTPRoute v1)',
    object: withField(goodObject('HTTPRoute'), 'spec.rules.0.backendRefs.0.port', 70000),
    path: 'spec.rules[0].backendRefs[0].port',
    reason: 'must be <= 65535, got number 70000',
  },
  {
    name: 'schema: GRPCRoute v1 validated with the v1alpha2 model',
    object: withField(goodObject('GRPCRoute'), 'spec.rules.0.backendRefs.0.port', 0),
    path: 'spec.rules[0].backendRefs[0].port',
    reason: 'must be >= 1, got number 0',
  },
  {
    name: 'schema: DestinationRule v1 validated with the v1beta1 model',
    object: withField(goodObject('DestinationRule'), 'spec.trafficPolicy.tls.mode', 'MUTUAL_TLS'),
    path: 'spec.trafficPolicy.tls.mode',
    reason: 'must be one of: DISABLE, SIMPLE, MUTUAL, ISTIO_MUTUAL, got string "MUTUAL_TLS"',
  },
  { name: 'schema: list expected', object: withField(goodObject('VirtualService'), 'spec.hosts', 'web'), path: 'spec.hosts', reason: 'must be array, got string "web"' },
  {
    name: 'schema: map key that is not an identifier',
    object: withField(pod, 'metadata.labels', { 'app.kubernetes.io/name': 3 }),
    path: 'metadata.labels[app.kubernetes.io/name]',
    reason: 'must be string, got number 3',
  },
  {
    name: 'schema: int-or-string alternatives merged',
    object: withField(goodObject('Service'), 'spec.ports.0.targetPort', true),
    path: 'spec.ports[0].targetPort',
    reason: 'must be string or must be integer, got boolean true',
  },
];

for (const c of CASES) {
  test(`rejected: ${c.name}`, () => {
    const result = validateObject(c.object);
    assert.equal(result.ok, false, 'must be rejected');
    if (result.ok) return;
    assert.equal(result.problems[0]?.path, c.path);
    assert.equal(result.problems[0]?.reason, c.reason);
  });
}

test('a rejection carries identity, document place, every problem, and the List item prefix', () => {
  const bad = withField(withField(pod, 'spec.containers.0.ports.0.containerPort', 'x'), 'metadata.name', 'Web');
  const result = validateObject(bad);
  assert.ok(!result.ok);
  const r = rejectionOf({ source: 'apps/web.yaml', documentIndex: 2, pathPrefix: 'items[1]' }, result.identity, result.problems);
  assert.deepEqual(r, {
    source: 'apps/web.yaml',
    documentIndex: 2,
    kind: 'Pod',
    namespace: 'default',
    name: 'Web',
    path: 'items[1].metadata.name',
    reason: `${SUBDOMAIN}; also: items[1].spec.containers[0].ports[0].containerPort: must be integer, got string "x"`,
  });
});

test('field paths: indexes only where the data holds a list, odd keys bracketed', () => {
  const obj = { spec: { ports: [{ port: 1 }], selector: { '0': 'x', 'a/b': 'y' } } };
  assert.equal(formatFieldPath(obj, ['spec', 'ports', '0', 'port']), 'spec.ports[0].port');
  assert.equal(formatFieldPath(obj, ['spec', 'selector', '0']), 'spec.selector[0]');
  assert.equal(formatFieldPath(obj, ['spec', 'selector', 'a/b']), 'spec.selector[a/b]');
  assert.equal(formatFieldPath(obj, []), '(object)');
});

test('the in-pod netns annotation name is ambit.dev/netns', () => {
  assert.equal(NETNS_ANNOTATION, 'ambit.dev/netns');
});

test('kind table and validation agree on scope for every kind', () => {
  for (const kind of KINDS as readonly Kind[]) {
    const obj = goodObject(kind);
    const meta = obj['metadata'] as Record<string, unknown>;
    assert.equal(meta['namespace'] !== undefined, KIND_INFO[kind].namespaced, kind);
  }
});

test('Gateway API open enums (filter, path, header, query, path-modifier, gRPC method types): an unknown value is kept for route status to report', () => {
  const accepted: [string, Kind, string, unknown][] = [
    ['HTTPRoute filter type', 'HTTPRoute', 'spec.rules.0.filters', [{ type: 'ExternalAuth', externalAuth: {} }]],
    ['HTTPRoute backendRef filter type', 'HTTPRoute', 'spec.rules.0.backendRefs.0.filters', [{ type: 'Teleport' }]],
    ['HTTPRoute path match type', 'HTTPRoute', 'spec.rules.0.matches.0.path.type', 'Glob'],
    ['HTTPRoute header match type', 'HTTPRoute', 'spec.rules.0.matches.0.headers', [{ type: 'Fuzzy', name: 'a', value: 'b' }]],
    ['HTTPRoute URLRewrite path type', 'HTTPRoute', 'spec.rules.0.filters', [{ type: 'URLRewrite', urlRewrite: { path: { type: 'ReplaceSuffix' } } }]],
    ['GRPCRoute filter type', 'GRPCRoute', 'spec.rules.0.filters', [{ type: 'URLRewrite' }]],
    ['GRPCRoute method match type', 'GRPCRoute', 'spec.rules.0.matches.0.method.type', 'Prefix'],
  ];
  for (const [name, kind, field, value] of accepted) assert.equal(validateObject(withField(goodObject(kind), field, value)).ok, true, name);
  // Closed enums stay refused, in routes too.
  const method = validateObject(withField(goodObject('HTTPRoute'), 'spec.rules.0.matches.0.method', 'FETCH'));
  assert.ok(!method.ok);
  assert.equal(method.problems[0]?.path, 'spec.rules[0].matches[0].method');
});
