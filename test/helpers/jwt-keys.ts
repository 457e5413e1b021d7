// Test-time JWT material made with jose: key pairs (RS256, ES256, ...), their JWKS, signed tokens,
// and the JwtRule shape the waypoint model uses. Nothing is stored; every run makes new keys.

import { SignJWT, exportJWK, generateKeyPair, type JWK, type JWTPayload } from 'jose';
import type { webcrypto } from 'node:crypto';
import type { JwtRule } from '../../src/waypoint/index.js';

export interface TestKey {
  readonly alg: string;
  readonly kid: string | undefined;
  readonly privateKey: webcrypto.CryptoKey;
  /** The public JWK (with kid and alg when given). */
  readonly jwk: JWK;
}

export async function makeKey(alg: 'RS256' | 'ES256' | 'PS256' | 'ES384' | 'EdDSA', kid?: string, opts: { withAlg?: boolean } = {}): Promise<TestKey> {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = await exportJWK(publicKey);
  return {
    alg, kid, privateKey: privateKey as webcrypto.CryptoKey,
    jwk: { ...jwk, ...(kid !== undefined ? { kid } : {}), ...(opts.withAlg === false ? {} : { alg }), use: 'sig' },
  };
}

export const jwksOf = (...keys: TestKey[]): string => JSON.stringify({ keys: keys.map((k) => k.jwk) });

/** A signed token; `kid` defaults to the key's, `header` adds/overrides protected header fields. */
export async function sign(key: TestKey, payload: JWTPayload, opts: { kid?: string | null; header?: Record<string, unknown> } = {}): Promise<string> {
  const kid = opts.kid === null ? undefined : (opts.kid ?? key.kid);
  return new SignJWT(payload).setProtectedHeader({ alg: key.alg, ...(kid !== undefined ? { kid } : {}), ...opts.header }).sign(key.privateKey);
}

const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');

/** An unsigned `alg: none` token (RFC 7519 §6). */
export const unsecured = (payload: JWTPayload): string => `${b64({ alg: 'none', typ: 'JWT' })}.${b64(payload)}.`;

export function jwtRule(over: Partial<JwtRule> & Pick<JwtRule, 'issuer'>): JwtRule {
  return {
    source: 'default/ra#0', audiences: [], fetchTimeoutMs: 5000, fromHeaders: [], fromParams: [], fromCookies: [],
    forwardOriginalToken: false, outputClaimToHeaders: [], spaceDelimitedClaims: [], ...over,
  };
}

/** Seconds since the epoch for `Date`. */
export const epoch = (d: Date): number => Math.floor(d.getTime() / 1000);
