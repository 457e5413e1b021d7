// Translation of AuthorizationPolicy and RequestAuthentication with targetRefs into the waypoint's
// WaypointConfig.security: attachment by kind (waypoint Gateway, Service, GatewayClass in the root
// namespace), selector policies ignored, CUSTOM refused (fail closed), bad fields reported with paths.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../src/k8s/index.js';
import type { JwtRule } from '../../src/waypoint/index.js';
import { authz, gateway } from '../helpers/k8s-objects.js';
import { meshWithWaypoint, svc, translateWp } from '../helpers/waypoint-objects.js';

const GW = { group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'wp' };
const SVC_A = { group: '', kind: 'Service', name: 'a' };
const HOST_A = 'default/a.default.svc.cluster.local';

function reqAuthn(name: string, ns: string, spec: Record<string, unknown>, created?: string): KubeObject<'RequestAuthentication'> {
  return {
    apiVersion: 'security.istio.io/v1', kind: 'RequestAuthentication',
    metadata: { name, namespace: ns, ...(created ? { creationTimestamp: created } : {}) }, spec,
  } as unknown as KubeObject<'RequestAuthentication'>;
}

test('no policy with targetRefs ⇒ no security field; selector and namespace-wide policies are left to node agents', () => {
  const t = translateWp(meshWithWaypoint(svc('a'),
    authz('sel', 'default', { selector: { matchLabels: { app: 'a' } }, action: 'DENY', rules: [{}] }),
    authz('ns-wide', 'default', { action: 'DENY', rules: [{}] }),
    reqAuthn('sel', 'default', { selector: { matchLabels: { app: 'a' } }, jwtRules: [{ issuer: 'x' }] }),
  ));
  assert.equal(t.config.security, undefined);
});

test('attachment: the waypoint Gateway and GatewayClass (root ns) ⇒ all services; a Service ⇒ that one; others ignored', () => {
  const t = translateWp(meshWithWaypoint(svc('a'), svc('bb'),
    authz('gw', 'default', { targetRefs: [GW], action: 'DENY', rules: [{ to: [{ operation: { paths: ['/admin'] } }] }] }),
    authz('class', 'istio-system', { targetRefs: [{ group: 'gateway.networking.k8s.io', kind: 'GatewayClass', name: 'istio-waypoint' }], rules: [{}] }),
    authz('svc', 'default', { targetRefs: [SVC_A], action: 'ALLOW', rules: [{ from: [{ source: { namespaces: ['default'] } }] }] }),
    authz('other-gw', 'default', { targetRefs: [{ ...GW, name: 'ingress' }], rules: [{}] }),
    authz('unserved', 'default', { targetRefs: [{ ...SVC_A, name: 'nope' }], rules: [{}] }),
    authz('class-outside-root', 'default', { targetRefs: [{ group: 'gateway.networking.k8s.io', kind: 'GatewayClass', name: 'istio-waypoint' }], rules: [{}] }),
  ));
  const sec = t.config.security!;
  assert.deepEqual(sec.authorization.map((p) => [`${p.namespace}/${p.name}`, p.action, p.services]), [
    ['default/gw', 'DENY', undefined],
    ['default/svc', 'ALLOW', [HOST_A]],
    ['istio-system/class', 'ALLOW', undefined],
  ]);
  assert.deepEqual(sec.authorization[0]!.rules, [{ to: [{ paths: ['/admin'] }] }]);
  assert.deepEqual(t.problems, ['error AuthorizationPolicy/default/class-outside-root spec.targetRefs[0]: a GatewayClass target is honoured only for policies in the root namespace (istio-system)']);
});

test('targetRefs problems: other namespace, unsupported kinds, an absent ServiceEntry, selector alongside', () => {
  const t = translateWp(meshWithWaypoint(svc('a'),
    authz('p', 'default', {
      selector: { matchLabels: { app: 'a' } },
      targetRefs: [{ ...SVC_A, namespace: 'other' }, { group: 'apps', kind: 'Deployment', name: 'a' }, { group: 'networking.istio.io', kind: 'ServiceEntry', name: 'se' }, SVC_A],
      rules: [{}],
    }),
  ));
  assert.deepEqual(t.config.security!.authorization.map((p) => p.services), [[HOST_A]]);
  assert.deepEqual(t.problems, [
    'warning AuthorizationPolicy/default/p spec.selector: selector and targetRefs are mutually exclusive; waypoints use targetRefs and ignore the selector',
    'error AuthorizationPolicy/default/p spec.targetRefs[0].namespace: targetRefs must be in the policy\'s namespace (default); "other" ignored',
    'error AuthorizationPolicy/default/p spec.targetRefs[1]: unsupported target apps/Deployment: expected gateway.networking.k8s.io/Gateway, Service, networking.istio.io/ServiceEntry, or gateway.networking.k8s.io/GatewayClass istio-waypoint',
    // A ServiceEntry target this waypoint does not serve reaches nothing here (no problem).
  ]);
});

test('CUSTOM is refused with a clear problem and compiled to fail closed; dry-run is carried', () => {
  const t = translateWp(meshWithWaypoint(svc('a'),
    authz('ext', 'default', { targetRefs: [GW], action: 'CUSTOM', provider: { name: 'opa' }, rules: [{ to: [{ operation: { paths: ['/x'] } }] }] }),
    authz('dry', 'default', { targetRefs: [GW], action: 'DENY', rules: [{}] }, { 'istio.io/dry-run': 'true' }),
  ));
  assert.deepEqual(t.config.security!.authorization, [
    { namespace: 'default', name: 'dry', action: 'DENY', dryRun: true, rules: [{}] },
    { namespace: 'default', name: 'ext', action: 'CUSTOM', rules: [] },
  ]);
  assert.deepEqual(t.problems, ['error AuthorizationPolicy/default/ext spec.action: CUSTOM (ext-authz) is not supported: every request to the policy\'s targets is denied (403, flag UAEX) until it is removed (fail closed)']);
});

test('fields: serviceAccounts resolved to the policy namespace, ports parsed, every field carried', () => {
  const t = translateWp(meshWithWaypoint(svc('a'),
    authz('p', 'default', {
      targetRefs: [GW],
      rules: [{
        from: [{ source: { serviceAccounts: ['sleep', 'prod/api'], ipBlocks: ['10.0.0.0/8'], notRemoteIpBlocks: ['1.2.3.4'], requestPrincipals: ['*'] } }],
        to: [{ operation: { hosts: ['a.example.com'], ports: ['80', '8080'], notMethods: ['DELETE'], paths: ['/v1/{*}'] } }],
        when: [{ key: 'request.auth.claims[groups]', values: ['dev'] }, { key: 'destination.port', notValues: ['9090'] }],
      }],
    }),
  ));
  assert.deepEqual(t.config.security!.authorization[0]!.rules, [{
    from: [{ serviceAccounts: ['default/sleep', 'prod/api'], ipBlocks: ['10.0.0.0/8'], notRemoteIpBlocks: ['1.2.3.4'], requestPrincipals: ['*'] }],
    to: [{ hosts: ['a.example.com'], ports: [80, 8080], notMethods: ['DELETE'], paths: ['/v1/{*}'] }],
    when: [{ key: 'request.auth.claims[groups]', values: ['dev'] }, { key: 'destination.port', notValues: ['9090'] }],
  }]);
  assert.deepEqual(t.problems, []);
});

test('bad fields are reported with their path: an ALLOW rule is dropped, a DENY rule kept (fails closed at the waypoint)', () => {
  const badRule = {
    from: [{ source: { ipBlocks: ['10.0.0.0/33'] } }],
    to: [{ operation: { ports: ['http'], paths: ['/{**}/x/{*}'] } }],
    when: [{ key: 'source.ip', values: ['nope'] }, { key: 'request.headers[x]' }],
  };
  const t = translateWp(meshWithWaypoint(svc('a'),
    authz('allow', 'default', { targetRefs: [GW], rules: [badRule, {}] }),
    authz('deny', 'default', { targetRefs: [GW], action: 'DENY', rules: [badRule] }),
    authz('unknown-key', 'default', { targetRefs: [GW], rules: [{ when: [{ key: 'experimental.envoy.filters.x[y]', values: ['z'] }] }] }),
  ));
  const [allow, deny, unknown] = t.config.security!.authorization;
  assert.deepEqual(allow!.rules, [{}]);
  assert.deepEqual(deny!.rules, [{
    from: [{ ipBlocks: ['10.0.0.0/33'] }],
    to: [{ paths: ['/{**}/x/{*}'] }],
    when: [{ key: 'source.ip', values: ['nope'] }],
  }]);
  assert.deepEqual(unknown!.rules, [{ when: [{ key: 'experimental.envoy.filters.x[y]', values: ['z'] }] }]);
  const lines = (p: string): string[] => [
    `error AuthorizationPolicy/default/${p} spec.rules[0].from[0].source.ipBlocks: "10.0.0.0/33" is not an IP or CIDR: prefix length "33" is not an integer in 0..32`,
    `error AuthorizationPolicy/default/${p} spec.rules[0].to[0].operation.ports: "http" is not a port (0..65535)`,
    `error AuthorizationPolicy/default/${p} spec.rules[0].to[0].operation.paths: "/{**}/x/{*}": {**} must be the last operator of a path template`,
    `error AuthorizationPolicy/default/${p} spec.rules[0].when[0].values: "nope" is not an IP or CIDR: "nope" is not an IP address`,
    `error AuthorizationPolicy/default/${p} spec.rules[0].when[1]: a condition needs values or notValues`,
  ];
  assert.deepEqual(t.problems, [
    ...lines('allow'),
    'error AuthorizationPolicy/default/allow spec.rules[0]: invalid rule dropped: it allows nothing',
    ...lines('deny'),
    'error AuthorizationPolicy/default/deny spec.rules[0]: invalid rule kept: what the waypoint cannot evaluate counts as matching, so it denies more than written',
    'warning AuthorizationPolicy/default/unknown-key spec.rules[0].when[0].key: "experimental.envoy.filters.x[y]" is not a condition the waypoint evaluates: this rule never matches (allows less)',
  ]);
});

test('empty source/operation and serviceAccounts with principals are invalid', () => {
  const t = translateWp(meshWithWaypoint(svc('a'),
    authz('p', 'default', { targetRefs: [GW], rules: [{ from: [{ source: {} }] }, { to: [{}] }, { from: [{ source: { serviceAccounts: ['a'], principals: ['x'] } }] }] }),
  ));
  assert.deepEqual(t.config.security!.authorization[0]!.rules, []);
  assert.equal(t.problems.filter((p) => p.includes('invalid rule dropped')).length, 3);
  assert.ok(t.problems.includes('error AuthorizationPolicy/default/p spec.rules[0].from[0].source: from.source must not be empty (istiod refuses it)'));
  assert.ok(t.problems.includes('error AuthorizationPolicy/default/p spec.rules[2].from[0].source: serviceAccounts cannot be combined with principals or namespaces'));
});

test('RequestAuthentication: jwtRules with defaults, ordered oldest first, scoped like policies', () => {
  const t = translateWp(meshWithWaypoint(svc('a'), svc('bb'),
    reqAuthn('newer', 'default', { targetRefs: [SVC_A], jwtRules: [{ issuer: 'https://b', jwksUri: 'https://b/jwks', audiences: ['api'], timeout: '1.5s' }] }, '2026-02-01T00:00:00Z'),
    reqAuthn('older', 'default', {
      targetRefs: [GW],
      jwtRules: [{
        issuer: 'https://a', jwks: '{"keys":[]}', fromHeaders: [{ name: 'x-jwt' }, { name: 'Authorization', prefix: 'Bearer ' }],
        fromParams: ['token'], fromCookies: ['session'], forwardOriginalToken: true, outputPayloadToHeader: 'x-payload',
        outputClaimToHeaders: [{ header: 'x-sub', claim: 'sub' }], spaceDelimitedClaims: ['roles'],
      }],
    }, '2026-01-01T00:00:00Z'),
  ));
  const rules = t.config.security!.jwtRules;
  const want: JwtRule[] = [
    {
      source: 'default/older#0', issuer: 'https://a', audiences: [], jwks: '{"keys":[]}', fetchTimeoutMs: 5000,
      fromHeaders: [{ name: 'x-jwt', prefix: '' }, { name: 'Authorization', prefix: 'Bearer ' }], fromParams: ['token'], fromCookies: ['session'],
      forwardOriginalToken: true, outputPayloadToHeader: 'x-payload', outputClaimToHeaders: [{ header: 'x-sub', claim: 'sub' }], spaceDelimitedClaims: ['roles'],
    },
    {
      source: 'default/newer#0', services: [HOST_A], issuer: 'https://b', audiences: ['api'], jwksUri: 'https://b/jwks', fetchTimeoutMs: 1500,
      fromHeaders: [], fromParams: [], fromCookies: [], forwardOriginalToken: false, outputClaimToHeaders: [], spaceDelimitedClaims: [],
    },
  ];
  assert.deepEqual(rules, want);
  assert.deepEqual(t.problems, []);
});

test('RequestAuthentication problems: no issuer or a bad jwksUri drop the rule; bad jwks, headers and timeout are reported', () => {
  const t = translateWp(meshWithWaypoint(svc('a'),
    reqAuthn('ra', 'default', {
      targetRefs: [GW],
      jwtRules: [
        { jwksUri: 'https://x/jwks' },
        { issuer: 'i2', jwksUri: 'ftp://x/jwks' },
        { issuer: 'i3', jwks: 'not json', timeout: 'soon', outputClaimToHeaders: [{ header: 'bad header', claim: 'sub' }, { header: 'host', claim: 'sub' }], outputPayloadToHeader: 'x-ok' },
        { issuer: 'i4', jwks: '{"keys":[]}', jwksUri: 'https://x/jwks' },
      ],
    }),
  ));
  assert.deepEqual(t.config.security!.jwtRules.map((r) => [r.issuer, r.jwks, r.jwksUri, r.fetchTimeoutMs, r.outputClaimToHeaders.length]), [
    ['i3', 'not json', undefined, 5000, 0],
    ['i4', '{"keys":[]}', undefined, 5000, 0],
  ]);
  assert.deepEqual(t.problems.map((p) => p.replace(/not JSON: .*: tokens/, 'not JSON: …: tokens')), [
    'error RequestAuthentication/default/ra spec.jwtRules[0].issuer: issuer is required; rule dropped',
    'error RequestAuthentication/default/ra spec.jwtRules[1].jwksUri: "ftp://x/jwks" is not an http(s) URL; rule dropped',
    'error RequestAuthentication/default/ra spec.jwtRules[2].jwks: not JSON: …: tokens of issuer i3 are refused (401)',
    'error RequestAuthentication/default/ra spec.jwtRules[2].timeout: "soon" is not a positive duration; the default 5s is used',
    'error RequestAuthentication/default/ra spec.jwtRules[2].outputClaimToHeaders[0].header: "bad header" is not a valid header name',
    'error RequestAuthentication/default/ra spec.jwtRules[2].outputClaimToHeaders[1].header: "host" cannot be written by a JWT rule',
    'warning RequestAuthentication/default/ra spec.jwtRules[3].jwksUri: both jwks and jwksUri are set; the inline jwks is used',
  ]);
});

test('trusted X-Forwarded-For hops come from the waypoint Gateway proxy.istio.io/config annotation', () => {
  const objs = meshWithWaypoint(svc('a')).map((o) => (o.kind === 'Gateway' ? gateway('wp', { annotations: { 'proxy.istio.io/config': 'gatewayTopology:\n  numTrustedProxies: 2\n' } }) : o));
  assert.deepEqual(translateWp(objs).config.security, { authorization: [], jwtRules: [], xffTrustedHops: 2 });
  const bad = meshWithWaypoint(svc('a')).map((o) => (o.kind === 'Gateway' ? gateway('wp', { annotations: { 'proxy.istio.io/config': '{gatewayTopology: {numTrustedProxies: -1}}' } }) : o));
  const t = translateWp(bad);
  assert.equal(t.config.security, undefined);
  assert.deepEqual(t.problems, ['warning Gateway/default/wp metadata.annotations["proxy.istio.io/config"].gatewayTopology.numTrustedProxies: expected an integer 0..64; X-Forwarded-For is not trusted']);
});

test('a JWKS timeout above one hour is capped (the waypoint would refuse the config otherwise)', () => {
  const t = translateWp(meshWithWaypoint(svc('a'), reqAuthn('ra', 'default', { targetRefs: [GW], jwtRules: [{ issuer: 'i', jwksUri: 'https://i/jwks', timeout: '2h' }] })));
  assert.equal(t.config.security!.jwtRules[0]!.fetchTimeoutMs, 3_600_000);
  assert.deepEqual(t.problems, ['warning RequestAuthentication/default/ra spec.jwtRules[0].timeout: "2h" is longer than 60 min; capped']);
});

test('paths without an operator are plain match forms, braces included', () => {
  const t = translateWp(meshWithWaypoint(svc('a'), authz('p', 'default', { targetRefs: [GW], rules: [{ to: [{ operation: { paths: ['/items/{id}', '/v1/*'] } }] }] })));
  assert.deepEqual(t.config.security!.authorization[0]!.rules, [{ to: [{ paths: ['/items/{id}', '/v1/*'] }] }]);
  assert.deepEqual(t.problems, []);
});
