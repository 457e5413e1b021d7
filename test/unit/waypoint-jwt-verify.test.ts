// JWT validation at the waypoint with keys made at test time: RS256/ES256/PS256/EdDSA, expiry and
// nbf with Envoy's 60 s skew, issuer and audience checks, wrong keys, alg none and HMAC, malformed
// tokens, kid selection and rotation — each failure with Envoy's status and message.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../../src/common/log.js';
import type { JwtRule } from '../../src/waypoint/index.js';
import { JwksCache, JwtAuthenticator, JWT_FAILURE_REPLY, jwtDetails, type JwtFailure } from '../../src/waypoint/security/index.js';
import { epoch, jwksOf, jwtRule, makeKey, sign, unsecured, type TestKey } from '../helpers/jwt-keys.js';
import { SignJWT } from 'jose';

const NOW = new Date('2026-06-01T12:00:00Z');
const T = epoch(NOW);
const ISS = 'https://issuer.example';
const SVC = 'default/reviews.default.svc.cluster.local';

async function authn(rules: JwtRule[], headers: Record<string, string | string[]>, query = '') {
  const cache = new JwksCache({ logger: silentLogger() });
  const a = new JwtAuthenticator(rules, cache, () => NOW);
  cache.sync(a.sources());
  const map = new Map(Object.entries(headers).map(([k, v]) => [k, Array.isArray(v) ? v : [v]]));
  const out = await a.authenticate(a.forService(SVC)!, map, query);
  return { out, headers: map };
}

const bearer = (t: string): Record<string, string> => ({ authorization: `Bearer ${t}` });

async function expectFailure(rules: JwtRule[], token: string, failure: JwtFailure): Promise<void> {
  const { out } = await authn(rules, bearer(token));
  assert.equal(out.kind, 'fail', `expected ${failure}`);
  if (out.kind !== 'fail') return;
  assert.equal(out.failure, failure);
  assert.equal(out.status, JWT_FAILURE_REPLY[failure].status);
  assert.equal(out.body, JWT_FAILURE_REPLY[failure].message);
  assert.equal(out.details, jwtDetails(failure));
}

let rs: TestKey;
let es: TestKey;
let rules: JwtRule[];
const claims = { iss: ISS, sub: 'user-1', aud: 'api', iat: T - 10, exp: T + 3600 };

test('setup keys', async () => {
  rs = await makeKey('RS256', 'rs1');
  es = await makeKey('ES256', 'es1');
  rules = [jwtRule({ issuer: ISS, jwks: jwksOf(rs, es) })];
});

for (const alg of ['RS256', 'ES256', 'PS256', 'ES384', 'EdDSA'] as const) {
  test(`a valid ${alg} token gives request.auth: principal iss/sub, audiences, presenter, claims`, async () => {
    const key = await makeKey(alg, `k-${alg}`);
    const token = await sign(key, { ...claims, aud: ['api', 'web'], azp: 'spa', scope: 'read write' });
    const { out } = await authn([jwtRule({ issuer: ISS, jwks: jwksOf(key) })], bearer(token));
    assert.equal(out.kind, 'ok');
    if (out.kind !== 'ok') return;
    assert.equal(out.auth?.principal, `${ISS}/user-1`);
    assert.deepEqual(out.auth?.audiences, ['api', 'web']);
    assert.equal(out.auth?.presenter, 'spa');
    assert.deepEqual(out.auth?.claims.scope, ['read', 'write']);
  });
}

test('expiry and nbf allow Envoy\'s 60 s clock skew, no more', async () => {
  assert.equal((await authn(rules, bearer(await sign(rs, { ...claims, exp: T - 30 })))).out.kind, 'ok');
  await expectFailure(rules, await sign(rs, { ...claims, exp: T - 120 }), 'expired');
  assert.equal((await authn(rules, bearer(await sign(rs, { ...claims, nbf: T + 30 })))).out.kind, 'ok');
  await expectFailure(rules, await sign(rs, { ...claims, nbf: T + 120 }), 'not_yet_valid');
  assert.equal((await authn(rules, bearer(await sign(rs, { iss: ISS, sub: 'no-exp' })))).out.kind, 'ok', 'no exp: does not expire');
});

test('an issuer no rule names is 401 "Jwt issuer is not configured"; a token without iss too', async () => {
  await expectFailure(rules, await sign(rs, { ...claims, iss: 'https://evil.example' }), 'issuer_not_configured');
  await expectFailure(rules, await sign(rs, { sub: 'x' }), 'issuer_not_configured');
});

test('audiences: any match passes (scheme and trailing / ignored as Envoy does); none ⇒ 403', async () => {
  const withAud = [jwtRule({ issuer: ISS, jwks: jwksOf(rs), audiences: ['https://api.example/', 'other'] })];
  assert.equal((await authn(withAud, bearer(await sign(rs, { ...claims, aud: ['x', 'api.example'] })))).out.kind, 'ok');
  assert.equal((await authn(withAud, bearer(await sign(rs, { ...claims, aud: 'http://api.example' })))).out.kind, 'ok');
  await expectFailure(withAud, await sign(rs, { ...claims, aud: 'api' }), 'audience_not_allowed');
  await expectFailure(withAud, await sign(rs, { iss: ISS, sub: 'no-aud' }), 'audience_not_allowed');
});

test('a token signed by another key: same kid ⇒ bad signature; unknown kid ⇒ no matching key', async () => {
  const other = await makeKey('RS256', 'rs1');
  await expectFailure(rules, await sign(other, claims), 'bad_signature');
  const stranger = await makeKey('RS256', 'unknown');
  await expectFailure(rules, await sign(stranger, claims), 'no_matching_key');
});

test('a tampered payload or signature fails verification', async () => {
  const [h, p, s] = (await sign(rs, claims)).split('.') as [string, string, string];
  const evil = Buffer.from(JSON.stringify({ ...claims, sub: 'admin' })).toString('base64url');
  await expectFailure(rules, `${h}.${evil}.${s}`, 'bad_signature');
  await expectFailure(rules, `${h}.${p}.${s.slice(0, -4)}AAAA`, 'bad_signature');
});

test('alg none and HMAC are never accepted', async () => {
  await expectFailure(rules, unsecured(claims), 'alg_not_allowed');
  const hs = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', kid: 'rs1' }).sign(new TextEncoder().encode('a-shared-secret-of-32-bytes-long!'));
  await expectFailure(rules, hs, 'alg_not_allowed');
  // A header claiming RS256 but signed with an EC key.
  const lying = await sign(es, claims, { header: { alg: 'ES256' }, kid: 'rs1' });
  await expectFailure(rules, lying, 'no_matching_key');
});

test('malformed tokens are 401 with Envoy\'s format message', async () => {
  for (const t of ['abc', 'a.b', 'a.b.c', '....', `${Buffer.from('{"alg":"RS256"}').toString('base64url')}.bm90IGpzb24.sig`]) {
    await expectFailure(rules, t, 'malformed');
  }
});

test('kid selects the key; a token without kid tries every key of its algorithm; rotation by a new JWKS', async () => {
  const k1 = await makeKey('RS256', 'k1');
  const k2 = await makeKey('RS256', 'k2');
  const both = [jwtRule({ issuer: ISS, jwks: jwksOf(k1, k2) })];
  assert.equal((await authn(both, bearer(await sign(k2, claims)))).out.kind, 'ok');
  assert.equal((await authn(both, bearer(await sign(k2, claims, { kid: null })))).out.kind, 'ok', 'no kid: second key found');
  // Rotated: only k2 remains. k1 tokens now fail, k2 ones pass.
  const rotated = [jwtRule({ issuer: ISS, jwks: jwksOf(k2) })];
  await expectFailure(rotated, await sign(k1, claims), 'no_matching_key');
  assert.equal((await authn(rotated, bearer(await sign(k2, claims)))).out.kind, 'ok');
});

test('an unusable inline JWKS refuses every token of its issuer (fail closed); no token still passes', async () => {
  const broken = [jwtRule({ issuer: ISS, jwks: 'not json' })];
  await expectFailure(broken, await sign(rs, claims), 'jwks_unavailable');
  const { out } = await authn(broken, {});
  assert.deepEqual(out, { kind: 'ok', auth: undefined });
});
