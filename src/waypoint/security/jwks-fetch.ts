// One JWKS download by the waypoint (the data plane; the control plane never fetches keys): an
// http(s) GET with a deadline and a size cap, no redirects (as Envoy's remote_jwks), the body
// parsed into a jose key set. OpenID discovery first when only the issuer is known.

import * as http from 'node:http';
import * as https from 'node:https';
import type { createLocalJWKSet, JSONWebKeySet } from 'jose';
import { loadJose, requireJose } from './jose-loader.js';

export type KeySet = ReturnType<typeof createLocalJWKSet>;

export interface FetchedKeys {
  readonly keys: KeySet;
  readonly keyCount: number;
  /** The JWKS URL actually read (after discovery). */
  readonly uri: string;
}

/** A JWKS or discovery document larger than this is refused, bytes. */
export const MAX_JWKS_BYTES = 1 << 20;

/** GET `uri` as JSON within `timeoutMs`; rejects on any non-200, oversize or invalid body. */
export function getJson(uri: string, timeoutMs: number, signal?: AbortSignal): Promise<unknown> {
  return new Promise((resolve, reject) => {
    let url: URL;
    try {
      url = new URL(uri);
    } catch {
      reject(new Error(`invalid URL ${uri}`));
      return;
    }
    const mod = url.protocol === 'https:' ? https : url.protocol === 'http:' ? http : undefined;
    if (mod === undefined) {
      reject(new Error(`unsupported scheme ${url.protocol}`));
      return;
    }
    const req = mod.get(url, { agent: false, headers: { accept: 'application/json' }, signal });
    const timer = setTimeout(() => req.destroy(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
    req.once('close', () => clearTimeout(timer));
    req.once('error', reject);
    req.once('response', (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        reject(new Error(`status ${res.statusCode ?? 0}`));
        return;
      }
      const parts: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_JWKS_BYTES) req.destroy(new Error(`body larger than ${MAX_JWKS_BYTES} bytes`));
        else parts.push(c);
      });
      res.once('error', reject);
      res.once('end', () => {
        try {
          resolve(JSON.parse(Buffer.concat(parts).toString('utf8')));
        } catch (err) {
          reject(new Error(`invalid JSON: ${(err as Error).message}`));
        }
      });
    });
  });
}

/** A JWKS JSON value → a key set; throws when it is not `{ "keys": [...] }` of JWK objects. jose must be loaded. */
export function keySetOf(value: unknown): { keys: KeySet; keyCount: number } {
  const v = value as JSONWebKeySet;
  if (typeof v !== 'object' || v === null || !Array.isArray(v.keys)) throw new Error('not a JSON Web Key Set ({"keys": [...]})');
  return { keys: requireJose().createLocalJWKSet(v), keyCount: v.keys.length };
}

/** Downloads a JWKS. */
export async function fetchJwks(uri: string, timeoutMs: number, signal?: AbortSignal): Promise<FetchedKeys> {
  const [json] = await Promise.all([getJson(uri, timeoutMs, signal), loadJose()]);
  return { ...keySetOf(json), uri };
}

/** OpenID Connect discovery (`<issuer>/.well-known/openid-configuration` → `jwks_uri`), then the JWKS. */
export async function discoverJwks(issuer: string, timeoutMs: number, signal?: AbortSignal): Promise<FetchedKeys> {
  const doc = (await getJson(`${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`, timeoutMs, signal)) as { jwks_uri?: unknown };
  if (typeof doc !== 'object' || doc === null || typeof doc.jwks_uri !== 'string') throw new Error('discovery document has no jwks_uri');
  return fetchJwks(doc.jwks_uri, timeoutMs, signal);
}
