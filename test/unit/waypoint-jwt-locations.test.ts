// Where tokens are read and what the waypoint forwards: default locations (Authorization: Bearer,
// access_token), fromHeaders/fromParams/fromCookies, tokens outside their issuer's locations, token
// removal (forwardOriginalToken), payload and claim headers, and forged output headers removed.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../../src/common/log.js';
import type { JwtRule } from '../../src/waypoint/index.js';
import { JwksCache, JwtAuthenticator } from '../../src/waypoint/security/index.js';
import { epoch, jwksOf, jwtRule, makeKey, sign, type TestKey } from '../helpers/jwt-keys.js';

const NOW = new Date('2026-06-01T12:00:00Z');
const ISS = 'https://issuer.example';
const ISS2 = 'https://other.example';
const SVC = 'default/reviews.default.svc.cluster.local';

let key: TestKey;
let token: string;
let token2: string;

async function run(rules: JwtRule[], headers: Record<string, string | string[]>, query = '', svc = SVC) {
  const cache = new JwksCache({ logger: silentLogger() });
  const a = new JwtAuthenticator(rules, cache, () => NOW);
  cache.sync(a.sources());
  const map = new Map(Object.entries(headers).map(([k, v]) => [k, Array.isArray(v) ? v : [v]]));
  const sj = a.forService(svc);
  const out = sj === undefined ? undefined : await a.authenticate(sj, map, query);
  return { out, headers: Object.fromEntries(map) };
}

test('setup', async () => {
  key = await makeKey('ES256', 'k');
  const claims = { sub: 'u', aud: 'api', exp: epoch(NOW) + 600, groups: ['a', 'b'], n: 7, ok: true, nested: { team: 'blue' }, obj: { x: 1 } };
  token = await sign(key, { ...claims, iss: ISS });
  token2 = await sign(key, { ...claims, iss: ISS2, sub: 'v' });
});

const rule = (over: Partial<JwtRule> = {}): JwtRule => jwtRule({ issuer: ISS, jwks: jwksOf(key), ...over });

test('default locations: Authorization Bearer (scheme case-insensitive) and access_token; the header is removed', async () => {
  const h = await run([rule()], { authorization: `Bearer ${token}`, 'x-keep': '1' });
  assert.equal(h.out?.kind === 'ok' && h.out.auth?.principal, `${ISS}/u`);
  assert.deepEqual(h.headers, { 'x-keep': ['1'] });
  assert.equal((await run([rule()], { authorization: `bearer ${token}` })).out?.kind === 'ok' && true, true);
  const q = await run([rule()], {}, `a=1&access_token=${token}`);
  assert.equal(q.out?.kind === 'ok' && q.out.auth?.principal, `${ISS}/u`);
  // Another scheme is not a token location: no token, no principal.
  const basic = await run([rule()], { authorization: 'Basic dXNlcjpwYXNz' });
  assert.deepEqual(basic.out, { kind: 'ok', auth: undefined });
  assert.deepEqual(basic.headers, { authorization: ['Basic dXNlcjpwYXNz'] });
});

test('fromHeaders (with and without prefix), fromParams, fromCookies replace the defaults', async () => {
  const r = rule({ fromHeaders: [{ name: 'X-Jwt', prefix: '' }, { name: 'x-auth', prefix: 'Token ' }], fromParams: ['jwt'], fromCookies: ['session'] });
  for (const [headers, query] of [
    [{ 'x-jwt': token }, ''],
    [{ 'x-auth': `Token ${token}` }, ''],
    [{}, `jwt=${token}`],
    [{ cookie: `a=b; session=${token}; c=d` }, ''],
  ] as const) {
    const { out } = await run([r], headers, query);
    assert.equal(out?.kind === 'ok' && out.auth?.principal, `${ISS}/u`, JSON.stringify(headers) + query);
  }
  // The defaults are no longer read.
  assert.deepEqual((await run([r], { authorization: `Bearer ${token}` })).out, { kind: 'ok', auth: undefined });
  // Query and cookie tokens stay in the request (Envoy removes only header tokens).
  const c = await run([r], { cookie: `session=${token}` });
  assert.deepEqual(c.headers, { cookie: [`session=${token}`] });
});

test('a token at a location its issuer\'s rule does not read is refused (issuer not configured there)', async () => {
  const rules = [rule({ fromHeaders: [{ name: 'x-a', prefix: '' }] }), jwtRule({ issuer: ISS2, jwks: jwksOf(key), fromHeaders: [{ name: 'x-b', prefix: '' }] })];
  assert.equal((await run(rules, { 'x-a': token, 'x-b': token2 })).out?.kind, 'ok');
  const wrong = await run(rules, { 'x-a': token2 });
  assert.equal(wrong.out?.kind === 'fail' && wrong.out.failure, 'issuer_not_configured');
});

test('every token present must verify; the first gives the principal', async () => {
  const rules = [rule(), jwtRule({ issuer: ISS2, jwks: jwksOf(key), fromParams: ['t2'] })];
  const both = await run(rules, { authorization: `Bearer ${token}` }, `t2=${token2}`);
  assert.equal(both.out?.kind === 'ok' && both.out.auth?.principal, `${ISS}/u`);
  const oneBad = await run(rules, { authorization: `Bearer ${token}` }, 't2=garbage');
  assert.equal(oneBad.out?.kind === 'fail' && oneBad.out.failure, 'malformed');
  // Anything after the token makes it malformed (Envoy would keep the leading token; we refuse).
  const trailing = await run(rules, { authorization: `Bearer ${token}+junk` });
  assert.equal(trailing.out?.kind, 'fail');
});

test('forwardOriginalToken keeps the header; outputs: payload (base64url) and claims; forged outputs removed', async () => {
  const r = rule({
    forwardOriginalToken: true,
    outputPayloadToHeader: 'X-Jwt-Payload',
    outputClaimToHeaders: [
      { header: 'x-sub', claim: 'sub' }, { header: 'x-groups', claim: 'groups' }, { header: 'x-n', claim: 'n' },
      { header: 'x-ok', claim: 'ok' }, { header: 'x-team', claim: 'nested.team' }, { header: 'x-obj', claim: 'obj' }, { header: 'x-none', claim: 'missing' },
    ],
  });
  const { out, headers } = await run([r], { authorization: `Bearer ${token}`, 'x-sub': 'forged', 'x-none': 'forged', 'x-obj': 'forged' });
  assert.equal(out?.kind, 'ok');
  assert.deepEqual(headers, {
    authorization: [`Bearer ${token}`],
    'x-jwt-payload': [token.split('.')[1]!],
    'x-sub': ['u'], 'x-groups': ['a,b'], 'x-n': ['7'], 'x-ok': ['true'], 'x-team': ['blue'],
  });
  assert.deepEqual(JSON.parse(Buffer.from(headers['x-jwt-payload']![0]!, 'base64url').toString()).iss, ISS);
  // No token: the forged outputs still go.
  const none = await run([r], { 'x-sub': 'forged', 'x-jwt-payload': 'forged' });
  assert.deepEqual(none.headers, {});
});

test('rules scoped to other services do not apply', async () => {
  const r = rule({ services: ['default/ratings.default.svc.cluster.local'] });
  assert.equal((await run([r], { authorization: `Bearer ${token}` })).out, undefined);
  assert.equal((await run([r], { authorization: `Bearer ${token}` }, '', 'default/ratings.default.svc.cluster.local')).out?.kind, 'ok');
});
