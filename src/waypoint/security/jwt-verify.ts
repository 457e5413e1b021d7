// Verification of one JWT against one jwtRule and its key set (jose, loaded lazily): signature with an allowed
// asymmetric algorithm, issuer, exp/nbf with Envoy's 60 s clock skew, then the audiences.

import type { webcrypto } from 'node:crypto';
import type { JWTPayload, JWTVerifyResult } from 'jose';
import type { JwtRule } from '../model/security-model.js';
import type { KeySet } from './jwks-fetch.js';
import type { JwtFailure } from './jwt-failure.js';
import { loadedJose, loadJose, requireJose, type JoseLib } from './jose-loader.js';

/** Envoy jwt_authn `clock_skew_seconds` default (Istio sets none). */
export const JWT_CLOCK_SKEW_S = 60;

/**
 * Envoy's JWT algorithms with public keys. `none` is never accepted; HMAC (HS*) needs symmetric
 * keys in the JWKS, which jose's key sets do not take, so it is not offered.
 */
export const JWT_ALGORITHMS: readonly string[] = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'];

export type Unverified = { readonly ok: true; readonly issuer: string | undefined; readonly kid: string | undefined } | { readonly ok: false; readonly failure: 'malformed' };

/** Reads a token's header and payload without trusting them, to pick its rule by `iss`. jose must be loaded (loadJose). */
export function peek(token: string): Unverified {
  const { decodeJwt, decodeProtectedHeader } = requireJose();
  try {
    const header = decodeProtectedHeader(token);
    const payload = decodeJwt(token);
    return { ok: true, issuer: typeof payload.iss === 'string' ? payload.iss : undefined, kid: typeof header.kid === 'string' ? header.kid : undefined };
  } catch {
    return { ok: false, failure: 'malformed' };
  }
}

/** Envoy compares audiences without the `http://` / `https://` scheme and one trailing `/`. */
export function normalizeAudience(a: string): string {
  return a.replace(/^https?:\/\//, '').replace(/\/$/, '');
}

function failureOf(err: unknown, { errors }: JoseLib): JwtFailure {
  if (err instanceof errors.JWTExpired) return 'expired';
  if (err instanceof errors.JWTClaimValidationFailed) return err.claim === 'nbf' ? 'not_yet_valid' : 'invalid_claims';
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'bad_signature';
  if (err instanceof errors.JWKSNoMatchingKey) return 'no_matching_key';
  if (err instanceof errors.JOSEAlgNotAllowed || err instanceof errors.JOSENotSupported) return 'alg_not_allowed';
  if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid) return 'malformed';
  // Anything else (a key that does not import, an unexpected error) verifies nothing.
  return 'bad_signature';
}

export type Verified = { readonly ok: true; readonly payload: JWTPayload } | { readonly ok: false; readonly failure: JwtFailure };

/**
 * Verifies `token` for `rule`. Several keys match a token without `kid`: each is tried (Envoy
 * tries every key of the set whose algorithm fits).
 */
export async function verifyJwt(token: string, rule: JwtRule, keys: KeySet, now: Date): Promise<Verified> {
  const jose = loadedJose() ?? (await loadJose());
  const { errors, jwtVerify } = jose;
  const options = { issuer: rule.issuer, algorithms: [...JWT_ALGORITHMS], clockTolerance: JWT_CLOCK_SKEW_S, currentDate: now };
  let result: JWTVerifyResult;
  try {
    result = await jwtVerify(token, keys, options);
  } catch (err) {
    if (!(err instanceof errors.JWKSMultipleMatchingKeys)) return { ok: false, failure: failureOf(err, jose) };
    let last: unknown = err;
    let found: JWTVerifyResult | undefined;
    for await (const key of err as unknown as AsyncIterable<webcrypto.CryptoKey>) {
      try {
        found = await jwtVerify(token, key, options);
        break;
      } catch (e) {
        last = e;
      }
    }
    if (found === undefined) return { ok: false, failure: failureOf(last, jose) };
    result = found;
  }
  const payload = result.payload;
  if (rule.audiences.length > 0) {
    const aud = payload.aud === undefined ? [] : Array.isArray(payload.aud) ? payload.aud : [payload.aud];
    const allowed = new Set(rule.audiences.map(normalizeAudience));
    if (!aud.some((a) => typeof a === 'string' && allowed.has(normalizeAudience(a)))) return { ok: false, failure: 'audience_not_allowed' };
  }
  return { ok: true, payload };
}
