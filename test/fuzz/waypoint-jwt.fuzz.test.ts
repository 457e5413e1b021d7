// Fuzz: JWT validation at the waypoint (seeded fast-check, FUZZ_SEED). Thousands of malformed,
// mutated and re-signed tokens through JwtAuthenticator: it never throws, and a token passes only
// if its three segments decode to exactly the bytes of a genuinely signed token (base64url
// malleability and surrounding whitespace are not forgery); forged payloads never pass.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { SignJWT, exportSPKI } from 'jose';
import { silentLogger } from '../../src/common/log.js';
import { JwksCache, JwtAuthenticator, type JwtOutcome } from '../../src/waypoint/security/index.js';
import { fuzz } from '../helpers/fuzz.js';
import { jwksOf, jwtRule, makeKey, sign, unsecured, type TestKey } from '../helpers/jwt-keys.js';

const NOW = new Date('2026-06-01T12:00:00Z');
const T = Math.floor(NOW.getTime() / 1000);
const ISS = 'https://issuer.example';
const SVC = 'default/reviews.default.svc.cluster.local';
const CLAIMS = { iss: ISS, sub: 'alice', aud: 'api', exp: T + 600 };

let rsa: TestKey;
let ec: TestKey;
let genuine: string[];
let authn: JwtAuthenticator;

const segs = (t: string): string[] => t.trim().split('.');
const decoded = (t: string): string => segs(t).map((s) => Buffer.from(s, 'base64url').toString('hex')).join('.');
let genuineDecoded: Set<string>;

async function check(token: string, headerValue = `Bearer ${token}`): Promise<JwtOutcome> {
  const headers = new Map([['authorization', [headerValue]]]);
  const out = await authn.authenticate(authn.forService(SVC)!, headers, '');
  if (out.kind === 'ok' && out.auth !== undefined) {
    assert.ok(genuineDecoded.has(decoded(headerValue.slice('Bearer '.length))), `a token that is not a genuine one passed: ${JSON.stringify(token)}`);
    assert.equal(out.auth.principal, `${ISS}/alice`);
  }
  return out;
}

test('fuzz setup', async () => {
  rsa = await makeKey('RS256', 'rs');
  ec = await makeKey('ES256', 'ec');
  const cache = new JwksCache({ logger: silentLogger() });
  authn = new JwtAuthenticator([jwtRule({ issuer: ISS, jwks: jwksOf(rsa, ec), audiences: ['api'] })], cache, () => NOW);
  cache.sync(authn.sources());
  genuine = [await sign(rsa, CLAIMS), await sign(ec, CLAIMS), await sign(rsa, CLAIMS, { kid: null })];
  genuineDecoded = new Set(genuine.map(decoded));
  for (const g of genuine) assert.equal((await check(g)).kind, 'ok');
});

test('fuzz: random strings and dotted base64url soup never pass', async () => {
  const b64char = fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.'.split(''));
  const soup = fc.array(b64char, { maxLength: 400 }).map((a) => a.join(''));
  const anything = fc.string({ maxLength: 300, unit: 'binary' });
  const runs = await fuzz('jwt random', fc.asyncProperty(fc.oneof(soup, anything), async (s) => {
    const out = await check(s, `Bearer ${s}`);
    assert.ok(out.kind === 'fail' || out.auth === undefined);
  }), 1500);
  assert.ok(runs >= 1500);
});

test('fuzz: mutations of genuine tokens (flip, insert, delete, swap, truncate) never forge', async () => {
  const mutation = fc.record({
    which: fc.nat({ max: 2 }),
    op: fc.constantFrom('flip', 'insert', 'delete', 'truncate', 'swap', 'dup-dot', 'space'),
    at: fc.nat(),
    ch: fc.constantFrom(...'Aa0-_.=+/ \t%'.split('')),
  });
  const runs = await fuzz('jwt mutate', fc.asyncProperty(mutation, async (m) => {
    const t = genuine[m.which]!;
    const i = m.at % (t.length + 1);
    let x: string;
    switch (m.op) {
      case 'flip': { const c = t[i % t.length]!; x = t.slice(0, i % t.length) + (c === m.ch ? (c === 'A' ? 'B' : 'A') : m.ch) + t.slice((i % t.length) + 1); break; }
      case 'insert': x = t.slice(0, i) + m.ch + t.slice(i); break;
      case 'delete': x = t.slice(0, i % t.length) + t.slice((i % t.length) + 1); break;
      case 'truncate': x = t.slice(0, i); break;
      case 'swap': { const [h, p, s] = segs(t); x = [p, h, s].join('.'); break; }
      case 'dup-dot': x = `${t.slice(0, i)}.${t.slice(i)}`; break;
      default: x = `${t.slice(0, i)} ${t.slice(i)}`;
    }
    const out = await check(x);
    if (out.kind === 'ok' && out.auth !== undefined) assert.ok(genuineDecoded.has(decoded(x)));
  }), 2500);
  assert.ok(runs >= 2500);
});

test('fuzz: arbitrary payloads and headers under a genuine signature, alg none, and alg confusion never pass', async () => {
  const [h, , s] = segs(genuine[0]!) as [string, string, string];
  const pem = await exportSPKI(rsa.privateKey as never).catch(() => undefined);
  const json = fc.jsonValue({ maxDepth: 3 });
  const runs = await fuzz('jwt forge', fc.asyncProperty(json, fc.constantFrom('payload', 'header', 'none', 'hs256'), async (v, kind) => {
    const enc = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');
    let token: string;
    if (kind === 'payload') token = `${h}.${enc(typeof v === 'object' && v !== null && !Array.isArray(v) ? { ...CLAIMS, ...v, sub: 'mallory' } : v)}.${s}`;
    else if (kind === 'header') token = `${enc(typeof v === 'object' && v !== null && !Array.isArray(v) ? { ...v, alg: 'RS256', kid: 'rs' } : v)}.${segs(genuine[0]!)[1]}.${s}`;
    else if (kind === 'none') token = unsecured({ ...CLAIMS, extra: v });
    else token = await new SignJWT({ ...CLAIMS, extra: v }).setProtectedHeader({ alg: 'HS256', kid: 'rs' }).sign(new TextEncoder().encode(pem ?? JSON.stringify(rsa.jwk)));
    const out = await check(token);
    assert.ok(out.kind === 'fail' || genuineDecoded.has(decoded(token)), `${kind} passed`);
  }), 1500);
  assert.ok(runs >= 1500);
});
