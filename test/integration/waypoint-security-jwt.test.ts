// RequestAuthentication through a live WaypointProxy with a real JWKS HTTP server: keys fetched by
// the waypoint and cached, refreshed in the background and on an unknown kid (rotation), OpenID
// discovery, unreachable or hanging JWKS ⇒ tokens refused (fail closed), 401/403 replies with
// WWW-Authenticate, and the headers the backend sees.

import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import type { JwtRule, WaypointSecurityConfig } from '../../src/waypoint/index.js';
import { eventually, startJwksServer, type JwksServer } from '../helpers/jwks-server.js';
import { jwksOf, jwtRule, makeKey, sign, type TestKey } from '../helpers/jwt-keys.js';
import { captureLogs, type LogCapture } from '../helpers/log-capture.js';
import { seen, startWaypointRig, type WaypointRig } from '../helpers/waypoint-rig.js';

const ISS = 'https://issuer.example';

describe('waypoint RequestAuthentication with a JWKS server', () => {
  let rig: WaypointRig;
  let jwks: JwksServer;
  let logs: LogCapture;
  let k1: TestKey;
  let k2: TestKey;
  const claims = (): Record<string, unknown> => ({ iss: ISS, sub: 'alice', aud: 'reviews', exp: Math.floor(Date.now() / 1000) + 600, role: 'admin' });

  before(async () => {
    k1 = await makeKey('RS256', 'k1');
    k2 = await makeKey('ES256', 'k2');
    jwks = await startJwksServer(jwksOf(k1));
    logs = captureLogs('info');
    rig = await startWaypointRig({ accessLog: logs.logger, security: { jwks: { refreshMs: 60_000, retryMinMs: 50, retryMaxMs: 200, kidMissRefreshMs: 0 } } });
  });
  after(async () => {
    await rig.close();
    await jwks.close();
  });

  const config = (rule: Partial<JwtRule>, requireToken = false): void => {
    const security: WaypointSecurityConfig = {
      jwtRules: [jwtRule({ issuer: ISS, jwksUri: `${jwks.url}/jwks`, fetchTimeoutMs: 1000, ...rule })],
      authorization: requireToken ? [{ namespace: 'default', name: 'require-jwt', action: 'ALLOW', rules: [{ from: [{ requestPrincipals: ['*'] }] }] }] : [],
    };
    rig.config({}, undefined, security);
  };
  const get = (path: string, token?: string) => rig.request({ path, headers: token === undefined ? {} : { authorization: `Bearer ${token}` } });

  it('valid token: 200, the key fetched once and cached; the backend sees claim headers and no token', async () => {
    jwks.hits.clear();
    config({ outputClaimToHeaders: [{ header: 'x-jwt-sub', claim: 'sub' }], outputPayloadToHeader: 'x-jwt-payload' }, true);
    const token = await sign(k1, claims());
    for (let i = 0; i < 3; i++) assert.equal((await get(`/ok${i}`, token)).status, 200);
    assert.equal(jwks.hits.get('/jwks'), 1);
    const hit = rig.hits.find((h) => h.url === '/ok0')!;
    assert.deepEqual(seen(hit, 'authorization'), []);
    assert.deepEqual(seen(hit, 'x-jwt-sub'), ['alice']);
    assert.equal(JSON.parse(Buffer.from(seen(hit, 'x-jwt-payload')[0]!, 'base64url').toString()).role, 'admin');
    const line = logs.lines.find((l) => l.msg === 'request complete' && (l as Record<string, unknown>).path === '/ok0') as Record<string, unknown> | undefined;
    assert.equal(line?.request_principal, `${ISS}/alice`);
  });

  it('forwardOriginalToken keeps the Authorization header; a forged claim header never reaches the backend', async () => {
    config({ forwardOriginalToken: true, outputClaimToHeaders: [{ header: 'x-jwt-sub', claim: 'sub' }] });
    const token = await sign(k1, claims());
    assert.equal((await rig.request({ path: '/fwd', headers: { authorization: `Bearer ${token}` } })).status, 200);
    assert.deepEqual(seen(rig.hits.find((h) => h.url === '/fwd')!, 'authorization'), [`Bearer ${token}`]);
    assert.equal((await rig.request({ path: '/forged', headers: { 'x-jwt-sub': 'root' } })).status, 200);
    assert.deepEqual(seen(rig.hits.find((h) => h.url === '/forged')!, 'x-jwt-sub'), []);
  });

  it('no token passes without a principal; an ALLOW on requestPrincipals then denies with 403', async () => {
    config({});
    assert.equal((await get('/anon')).status, 200);
    config({}, true);
    const r = await get('/anon2');
    assert.equal(r.status, 403);
    assert.equal(r.body, 'RBAC: access denied');
  });

  it('invalid tokens: 401 with WWW-Authenticate and Envoy\'s message; a wrong audience 403; all counted', async () => {
    config({ audiences: ['reviews'] }, true);
    const expired = await sign(k1, { ...claims(), exp: Math.floor(Date.now() / 1000) - 3600 });
    const r = await get('/secure?a=1', expired);
    assert.equal(r.status, 401);
    assert.equal(r.body, 'Jwt is expired');
    assert.equal(r.headers['www-authenticate'], 'Bearer realm="http://reviews/secure?a=1", error="invalid_token"');
    const bad = await get('/secure', `${(await sign(k1, claims())).slice(0, -6)}AAAAAA`);
    assert.equal(bad.status, 401);
    assert.equal(bad.body, 'Jwt verification fails');
    const aud = await get('/secure', await sign(k1, { ...claims(), aud: 'other' }));
    assert.equal(aud.status, 403);
    assert.equal(aud.body, 'Audiences in Jwt are not allowed');
    const none = await get('/secure', `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify(claims())).toString('base64url')}.`);
    assert.equal(none.status, 401);
    const unknownIss = await get('/secure', await sign(k1, { ...claims(), iss: 'https://evil' }));
    assert.equal(unknownIss.body, 'Jwt issuer is not configured');
    const metric = await rig.registry.getSingleMetricAsString('ambit_waypoint_jwt_failures_total');
    for (const reason of ['expired', 'bad_signature', 'audience_not_allowed', 'alg_not_allowed', 'issuer_not_configured']) {
      assert.match(metric, new RegExp(`reason="${reason}"\\} [1-9]`), reason);
    }
    assert.equal(rig.hits.some((h) => h.url.startsWith('/secure')), false);
  });

  it('rotation: an unknown kid triggers a refetch; the new key then works, the removed one fails', async () => {
    config({});
    assert.equal((await get('/r1', await sign(k1, claims()))).status, 200);
    jwks.jwks = jwksOf(k2);
    const before = jwks.hits.get('/jwks') ?? 0;
    const t2 = await sign(k2, claims());
    // The first k2 request may still see the old set (401) and triggers the refetch.
    await eventually('k2 accepted after the refetch', async () => (await get('/r2', t2)).status === 200);
    assert.ok((jwks.hits.get('/jwks') ?? 0) > before);
    assert.equal((await get('/r3', await sign(k1, claims()))).status, 401);
  });

  it('background refresh picks up a new key set without any failing request', async () => {
    await rig.close();
    rig = await startWaypointRig({ accessLog: logs.logger, security: { jwks: { refreshMs: 150, retryMinMs: 50, retryMaxMs: 200, kidMissRefreshMs: 3_600_000 } } });
    jwks.jwks = jwksOf(k1);
    config({});
    assert.equal((await get('/b1', await sign(k1, claims()))).status, 200);
    const before = jwks.hits.get('/jwks') ?? 0;
    jwks.jwks = jwksOf(k1, k2);
    await eventually('two background refreshes', () => (jwks.hits.get('/jwks') ?? 0) >= before + 2);
    assert.equal((await get('/b2', await sign(k2, claims()))).status, 200);
  });

  it('a failed refresh keeps the cached keys', async () => {
    jwks.jwks = jwksOf(k1);
    config({});
    assert.equal((await get('/c1', await sign(k1, claims()))).status, 200);
    jwks.mode = 'error';
    const failures = async (): Promise<boolean> => /result="failure"\} [1-9]/.test(await rig.registry.getSingleMetricAsString('ambit_waypoint_jwks_fetches_total'));
    await eventually('a failed refresh', failures);
    assert.equal((await get('/c2', await sign(k1, claims()))).status, 200);
    jwks.mode = 'ok';
  });

  it('OpenID discovery when the rule names no keys', async () => {
    jwks.jwks = jwksOf(k2);
    jwks.hits.clear();
    rig.config({}, undefined, { authorization: [], jwtRules: [jwtRule({ issuer: jwks.url, fetchTimeoutMs: 1000 })] });
    assert.equal((await get('/oidc', await sign(k2, { ...claims(), iss: jwks.url }))).status, 200);
    assert.equal(jwks.hits.get('/.well-known/openid-configuration'), 1);
  });

  it('unreachable JWKS: tokens of the issuer are refused (401), requests without a token still pass', async () => {
    const dead = await startJwksServer('{}');
    const deadUrl = `${dead.url}/jwks`;
    await dead.close();
    rig.config({}, undefined, { authorization: [], jwtRules: [jwtRule({ issuer: ISS, jwksUri: deadUrl, fetchTimeoutMs: 500 })] });
    const r = await get('/dead', await sign(k1, claims()));
    assert.equal(r.status, 401);
    assert.equal(r.body, 'Jwks remote fetch is failed');
    assert.equal((await get('/dead-anon')).status, 200);
  });

  it('a hanging JWKS server: the fetch times out and the token is refused, within the rule\'s timeout', async () => {
    const slow = await startJwksServer(jwksOf(k1));
    slow.mode = 'hang';
    try {
      rig.config({}, undefined, { authorization: [], jwtRules: [jwtRule({ issuer: ISS, jwksUri: `${slow.url}/jwks`, fetchTimeoutMs: 300 })] });
      const t0 = Date.now();
      const r = await get('/hang', await sign(k1, claims()));
      assert.equal(r.status, 401);
      assert.ok(Date.now() - t0 < 5_000, `answered after ${Date.now() - t0} ms`);
    } finally {
      await slow.close();
    }
  });
});
