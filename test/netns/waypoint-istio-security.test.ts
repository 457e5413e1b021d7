// Istio's authorization and end-user authentication tutorials at the waypoint: AuthorizationPolicy
// with targetRefs (the waypoint Gateway or a Service) denying by path, method and principal, and
// RequestAuthentication with an inline JWKS (keys made now with jose): bad tokens refused as Envoy's
// jwt_authn refuses them, requestPrincipals and claims-based ALLOW.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { assertNoLeftovers, requireRoot } from '../helpers/netns-topology.js';
import { WaypointMesh, echoed } from '../helpers/waypoint-mesh.js';
import { epoch, jwksOf, makeKey, sign, type TestKey } from '../helpers/jwt-keys.js';
import { ECHO_PORTS, type EchoService } from '../helpers/waypoint-manifests.js';
import {
  GATEWAY_TARGET, authorizationPolicyYaml, requestAuthenticationYaml, securityNames, serviceTarget, tcpConnections, waypointMetric,
} from '../helpers/waypoint-istio-objects.js';

let wm: WaypointMesh;
const ISSUER = 'https://issuer.demo.example';
const AUDIENCE = 'echo.demo';
const CLIENT = 'cluster.local/ns/demo/sa/client';

/** Tokens made at test time; `alien` is another key pair claiming the real key's kid. */
const tokens: Record<string, string> = {};
let key: TestKey;

before(async () => {
  requireRoot('the Istio authorization and JWT tutorials at the waypoint');
  key = await makeKey('RS256', 'key-a');
  const alien = await makeKey('RS256', 'key-a');
  const now = epoch(new Date());
  const claims = (over: Record<string, unknown> = {}) => ({ iss: ISSUER, sub: 'alice', aud: AUDIENCE, iat: now, exp: now + 3600, groups: ['group1'], ...over });
  Object.assign(tokens, {
    valid: await sign(key, claims()),
    group2: await sign(key, claims({ groups: ['group2'] })),
    bob: await sign(key, claims({ sub: 'bob' })),
    wrongKey: await sign(alien, claims()),
    // Envoy allows 60 s of clock skew: an hour ago is expired beyond doubt.
    expired: await sign(key, claims({ iat: now - 7200, exp: now - 3600 })),
    wrongIssuer: await sign(key, claims({ iss: 'https://other-issuer.example' })),
    wrongAudience: await sign(key, claims({ aud: 'someone-else' })),
  });
  wm = await WaypointMesh.start();
});

after(async () => {
  const id = wm?.topo.id;
  await wm?.close();
  if (id) await assertNoLeftovers(id);
});

/** Replaces the test's security objects and waits until the waypoint enforces exactly those names. */
async function applySecurity(objects: readonly string[], want: { authz: string[]; jwt: string[] }): Promise<void> {
  await wm.apply({ 'security.yaml': objects.length > 0 ? objects.join('---\n') : undefined }, (c) => JSON.stringify(securityNames(c)) === JSON.stringify(want));
}

interface Row {
  readonly pod?: 'c1' | 'c2';
  readonly svc?: EchoService;
  readonly method?: string;
  readonly path: string;
  readonly token?: keyof typeof tokens | 'garbage';
  readonly status: number;
  /** The expected body of a refusal (Envoy's text). */
  readonly body?: string;
}

const label = (r: Row): string => `${r.pod ?? 'c1'} ${r.method ?? 'GET'} ${r.svc ?? 'echo'}${r.path}${r.token ? ` [${r.token}]` : ''}`;

/** Runs every row; compares the whole table at once (one diff shows every mismatch). */
async function runTable(rows: readonly Row[]): Promise<void> {
  const from = wm.mark();
  const got: Record<string, string> = {};
  const want: Record<string, string> = {};
  for (const row of rows) {
    const args = ['--path-as-is', '-X', row.method ?? 'GET'];
    if (row.token) args.push('-H', `authorization: Bearer ${row.token === 'garbage' ? 'not-a-jwt' : tokens[row.token]}`);
    const r = await wm.curl(wm.url(row.svc ?? 'echo', row.path), args, { pod: row.pod ?? 'c1' });
    assert.equal(r.exit, 0, `${label(row)}: ${r.error}`);
    got[label(row)] = r.status === 200 ? `200 ${echoed(r)?.pod ?? '?'}` : `${r.status} ${r.body}`;
    want[label(row)] = row.status === 200 ? `200 ${got[label(row)]!.split(' ')[1]}` : `${row.status} ${row.body ?? r.body}`;
    if (row.status === 401) assert.match(r.headers['www-authenticate']?.[0] ?? '', /^Bearer realm="http:\/\/[^"]+", error="invalid_token"$/, label(row));
  }
  assert.deepEqual(got, want);
  // Refused requests never reach a backend; allowed ones do, once each.
  const allowed = rows.filter((r) => r.status === 200).length;
  await new Promise((res) => setTimeout(res, 200));
  assert.equal(wm.seenSince(from).length, allowed, 'only the allowed requests reached a backend');
}

const RBAC = 'RBAC: access denied';

test('deny by default: an ALLOW policy without rules on the waypoint Gateway refuses every request of every service', async () => {
  await applySecurity([authorizationPolicyYaml('allow-nothing', { targetRefs: [GATEWAY_TARGET], action: 'ALLOW' })], { authz: ['allow-nothing'], jwt: [] });
  await runTable([
    { path: '/x', status: 403, body: RBAC },
    { svc: 'echo-v1', path: '/x', status: 403, body: RBAC },
    { pod: 'c2', svc: 'echo-v2', method: 'POST', path: '/x', status: 403, body: RBAC },
  ]);
});

test('403 by path, method and principal: Gateway-wide DENY on /admin, per-Service ALLOWs by method and by client principal', async () => {
  const deniedBefore = await waypointMetric(wm, 'ambit_waypoint_authz_denied_total', { policy: 'demo/deny-admin' });
  await applySecurity([
    // tasks/security/authorization/authz-deny: a DENY for every service behind the waypoint.
    authorizationPolicyYaml('deny-admin', { targetRefs: [GATEWAY_TARGET], action: 'DENY', rules: [{ to: [{ operation: { paths: ['/admin', '/admin/*'] } }] }] }),
    // authz-http's "viewer" policies: echo answers GET to anyone; echo-v1 only the client's service account.
    authorizationPolicyYaml('echo-viewer', { targetRefs: [serviceTarget('echo')], action: 'ALLOW', rules: [{ to: [{ operation: { methods: ['GET', 'HEAD'] } }] }] }),
    authorizationPolicyYaml('echo-v1-client', {
      targetRefs: [serviceTarget('echo-v1')],
      action: 'ALLOW',
      rules: [{ from: [{ source: { principals: [CLIENT] } }], to: [{ operation: { methods: ['GET', 'POST'] } }] }],
    }),
  ], { authz: ['deny-admin', 'echo-v1-client', 'echo-viewer'], jwt: [] });
  await runTable([
    { path: '/products', status: 200 },
    { pod: 'c2', path: '/products', status: 200 },
    { method: 'POST', path: '/products', status: 403, body: RBAC },
    { method: 'DELETE', path: '/products', status: 403, body: RBAC },
    { path: '/admin', status: 403, body: RBAC },
    { path: '/admin/users', status: 403, body: RBAC },
    { path: '/administrator', status: 200 },
    // The path policies match is the normalized one (dot segments resolved), and so is what the backend gets.
    { path: '/public/../admin/users', status: 403, body: RBAC },
    { path: '/%61dmin/users', status: 403, body: RBAC },
    { svc: 'echo-v1', method: 'POST', path: '/orders', status: 200 },
    { pod: 'c2', svc: 'echo-v1', path: '/orders', status: 403, body: RBAC },
    { svc: 'echo-v1', method: 'DELETE', path: '/orders', status: 403, body: RBAC },
    // echo-v2 has no ALLOW policy: allowed, except what the Gateway-wide DENY names.
    { pod: 'c2', svc: 'echo-v2', method: 'DELETE', path: '/orders', status: 200 },
    { pod: 'c2', svc: 'echo-v2', path: '/admin', status: 403, body: RBAC },
  ]);
  const deniedAdmin = (await waypointMetric(wm, 'ambit_waypoint_authz_denied_total', { policy: 'demo/deny-admin' })) - deniedBefore;
  assert.equal(deniedAdmin, 5, 'five requests matched the DENY');
  // Envoy has no RBAC response flag: a denial is 403 with flags "-".
  const line = wm.waypoint.lines.find((l) => l.msg === 'request complete' && l.path === '/admin/users');
  assert.deepEqual([line?.response_code, line?.response_flags, line?.response_code_details], [403, '-', 'rbac_access_denied_matched_policy[ns[demo]-policy[deny-admin]-rule[0]]']);
});

test('dry run (authz-dry-run): a DENY annotated istio.io/dry-run is evaluated and logged, never enforced', async () => {
  await applySecurity([
    authorizationPolicyYaml('deny-path-headers', { targetRefs: [serviceTarget('echo')], action: 'DENY', rules: [{ to: [{ operation: { paths: ['/headers'] } }] }] }, { 'istio.io/dry-run': 'true' }),
  ], { authz: ['deny-path-headers'], jwt: [] });
  await runTable([
    { path: '/headers', status: 200 },
    { path: '/ip', status: 200 },
  ]);
  const result = (path: string) => wm.waypoint.lines.filter((l) => l.msg === 'request complete' && l.path === path).at(-1)?.dry_run_result;
  assert.deepEqual([result('/headers'), result('/ip')], ['denied[demo/deny-path-headers]', 'allowed']);
});

test('CUSTOM (ext-authz) is not supported: its targets fail closed — 403 with flag UAEX, as Envoy when the authorizer is unreachable', async () => {
  await applySecurity([
    authorizationPolicyYaml('ext-authz', { targetRefs: [serviceTarget('echo-v2')], action: 'CUSTOM', provider: { name: 'sample-ext-authz-http' }, rules: [{ to: [{ operation: { paths: ['/headers'] } }] }] }),
  ], { authz: ['ext-authz'], jwt: [] });
  await runTable([
    { svc: 'echo-v2', path: '/ip', status: 403 },
    { svc: 'echo-v1', path: '/ip', status: 200 },
  ]);
  const line = wm.waypoint.lines.filter((l) => l.msg === 'request complete' && l.path === '/ip' && l.response_code === 403).at(-1);
  assert.deepEqual([line?.response_flags, line?.response_code_details], ['UAEX', 'ext_authz_error']);
});

// tasks/security/authorization/authz-tcp at the waypoint: the opaque port 9000 is authorized at
// CONNECT with L4 attributes only. Each step: the policy, then 3 TCP connections and one HTTP request.
const TCP_STEPS: ReadonlyArray<{ name: string; action: 'ALLOW' | 'DENY'; operation: Record<string, unknown>; tcpEchoed: boolean; http: number }> = [
  { name: 'ALLOW ports 9000: TCP passes, HTTP on 80 is not allowed', action: 'ALLOW', operation: { ports: ['9000'] }, tcpEchoed: true, http: 403 },
  // An HTTP-only field in an ALLOW rule never matches a TCP connection (Istio's TCP rules)...
  { name: 'ALLOW GET on port 9000: the HTTP-only field never matches TCP, refused', action: 'ALLOW', operation: { methods: ['GET'], ports: ['9000'] }, tcpEchoed: false, http: 403 },
  // ...and in a DENY rule it counts as matching: refused too; HTTP on 80 is untouched.
  { name: 'DENY GET on port 9000: counts as matching at TCP, refused; HTTP on 80 allowed', action: 'DENY', operation: { methods: ['GET'], ports: ['9000'] }, tcpEchoed: false, http: 200 },
];

for (const step of TCP_STEPS) {
  test(`TCP authorization: ${step.name}`, async () => {
    const name = `tcp-${step.action.toLowerCase()}-${Object.keys(step.operation).join('-')}`;
    await applySecurity([authorizationPolicyYaml(name, { targetRefs: [serviceTarget('echo')], action: step.action, rules: [{ to: [{ operation: step.operation }] }] })], { authz: [name], jwt: [] });
    const deniedBefore = await waypointMetric(wm, 'ambit_waypoint_authz_denied_total', { protocol: 'tcp' });
    const r = await tcpConnections(wm, wm.vip('echo'), ECHO_PORTS.tcp, 3);
    assert.equal(r.echoed, step.tcpEchoed ? 3 : 0, JSON.stringify(r));
    if (!step.tcpEchoed) assert.equal((await waypointMetric(wm, 'ambit_waypoint_authz_denied_total', { protocol: 'tcp' })) - deniedBefore, 3, 'each refused connection counted');
    const h = await wm.curl(wm.url('echo', '/over-http'));
    assert.equal(h.status, step.http, h.body);
  });
}

test('RequestAuthentication (inline JWKS) on Service echo: no token passes; bad tokens are refused as Envoy refuses them; echo-v1 is not covered', async () => {
  const ra = requestAuthenticationYaml('jwt-echo', { targetRefs: [serviceTarget('echo')], jwtRules: [{ issuer: ISSUER, audiences: [AUDIENCE], jwks: jwksOf(key) }] });
  await applySecurity([ra], { authz: [], jwt: ['jwt-echo'] });
  const failuresBefore = await waypointMetric(wm, 'ambit_waypoint_jwt_failures_total', {});
  const from = wm.mark();
  await runTable([
    { path: '/no-token', status: 200 },
    { path: '/valid', token: 'valid', status: 200 },
    { path: '/wrong-key', token: 'wrongKey', status: 401, body: 'Jwt verification fails' },
    { path: '/expired', token: 'expired', status: 401, body: 'Jwt is expired' },
    { path: '/wrong-issuer', token: 'wrongIssuer', status: 401, body: 'Jwt issuer is not configured' },
    // Envoy's jwt_authn answers a disallowed audience with 403, not 401 (filter.cc onComplete:
    // Status::JwtAudienceNotAllowed ⇒ Forbidden); asserted as Envoy does it.
    { path: '/wrong-audience', token: 'wrongAudience', status: 403, body: 'Audiences in Jwt are not allowed' },
    { path: '/garbage', token: 'garbage', status: 401, body: 'Jwt is not in the form of Header.Payload.Signature with two dots and 3 sections' },
    // The policy names Service echo only: echo-v1 ignores tokens altogether.
    { svc: 'echo-v1', path: '/not-covered', token: 'wrongKey', status: 200 },
  ]);
  // The verified token is not forwarded (forwardOriginalToken defaults to false); an unchecked one is.
  const valid = wm.seenSince(from).find((s) => s.url === '/valid')!;
  assert.equal(valid.headers.authorization, undefined);
  assert.ok(wm.seenSince(from).find((s) => s.url === '/not-covered')!.headers.authorization);
  assert.equal((await waypointMetric(wm, 'ambit_waypoint_jwt_failures_total', {})) - failuresBefore, 5);
  for (const reason of ['bad_signature', 'expired', 'issuer_not_configured', 'audience_not_allowed', 'malformed']) {
    assert.ok((await waypointMetric(wm, 'ambit_waypoint_jwt_failures_total', { reason })) >= 1, reason);
  }
});

test('require a token: ALLOW requestPrincipals ["<issuer>/*"] turns "no token" into 403; a valid token is let through', async () => {
  await applySecurity([
    requestAuthenticationYaml('jwt-echo', { targetRefs: [serviceTarget('echo')], jwtRules: [{ issuer: ISSUER, audiences: [AUDIENCE], jwks: jwksOf(key) }] }),
    authorizationPolicyYaml('require-jwt', { targetRefs: [serviceTarget('echo')], action: 'ALLOW', rules: [{ from: [{ source: { requestPrincipals: [`${ISSUER}/*`] } }] }] }),
  ], { authz: ['require-jwt'], jwt: ['jwt-echo'] });
  await runTable([
    { path: '/no-token', status: 403, body: RBAC },
    { path: '/valid', token: 'valid', status: 200 },
    { pod: 'c2', path: '/valid-c2', token: 'bob', status: 200 },
    { path: '/expired', token: 'expired', status: 401, body: 'Jwt is expired' },
  ]);
});

test('claims-based ALLOW (authz-jwt): requestPrincipals <issuer>/alice and request.auth.claims[groups] = group1', async () => {
  await applySecurity([
    requestAuthenticationYaml('jwt-echo', { targetRefs: [serviceTarget('echo')], jwtRules: [{ issuer: ISSUER, audiences: [AUDIENCE], jwks: jwksOf(key) }] }),
    authorizationPolicyYaml('require-group', {
      targetRefs: [GATEWAY_TARGET],
      action: 'ALLOW',
      rules: [{ from: [{ source: { requestPrincipals: [`${ISSUER}/alice`] } }], when: [{ key: 'request.auth.claims[groups]', values: ['group1'] }] }],
    }),
  ], { authz: ['require-group'], jwt: ['jwt-echo'] });
  await runTable([
    { path: '/alice-group1', token: 'valid', status: 200 },
    { path: '/alice-group2', token: 'group2', status: 403, body: RBAC },
    { path: '/bob-group1', token: 'bob', status: 403, body: RBAC },
    { path: '/no-token', status: 403, body: RBAC },
    // The policy targets the Gateway (every service) but tokens are verified for echo only, so on
    // echo-v1 nobody has a request principal: refused whatever they send.
    { svc: 'echo-v1', path: '/alice-group1', token: 'valid', status: 403, body: RBAC },
  ]);
  await applySecurity([], { authz: [], jwt: [] });
  await runTable([{ svc: 'echo-v1', path: '/open-again', status: 200 }]);
});
