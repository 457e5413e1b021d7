// Where a request carries JWTs (RequestAuthentication fromHeaders / fromParams / fromCookies, or
// Istio's defaults `Authorization: Bearer` and `access_token`), extraction and removal (Envoy
// jwt_authn extractor.cc semantics).

import type { JwtRule } from '../model/security-model.js';
import type { HeaderMap } from '../routing/index.js';

export type TokenLocation =
  | { readonly kind: 'header'; readonly name: string; readonly prefix: string }
  | { readonly kind: 'param'; readonly name: string }
  | { readonly kind: 'cookie'; readonly name: string };

export interface FoundToken {
  readonly token: string;
  readonly location: TokenLocation;
  /** locationKey(location). */
  readonly key: string;
}

/** Istio's default locations when a rule names none. */
const DEFAULTS: readonly TokenLocation[] = [
  { kind: 'header', name: 'authorization', prefix: 'Bearer ' },
  { kind: 'param', name: 'access_token' },
];

export function locationKey(l: TokenLocation): string {
  return l.kind === 'header' ? `header:${l.name}:${l.prefix}` : `${l.kind}:${l.name}`;
}

export function locationsOf(rule: JwtRule): readonly TokenLocation[] {
  if (rule.fromHeaders.length === 0 && rule.fromParams.length === 0 && rule.fromCookies.length === 0) return DEFAULTS;
  return [
    ...rule.fromHeaders.map((h): TokenLocation => ({ kind: 'header', name: h.name.toLowerCase(), prefix: h.prefix })),
    ...rule.fromParams.map((name): TokenLocation => ({ kind: 'param', name })),
    ...rule.fromCookies.map((name): TokenLocation => ({ kind: 'cookie', name })),
  ];
}

function decode(s: string): string | undefined {
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
}

function firstParam(query: string, name: string): string | undefined {
  if (query === '') return undefined;
  for (const part of query.split('&')) {
    const eq = part.indexOf('=');
    const k = decode(eq < 0 ? part : part.slice(0, eq));
    if (k === name) return decode(eq < 0 ? '' : part.slice(eq + 1)) ?? '';
  }
  return undefined;
}

function firstCookie(headers: HeaderMap, name: string): string | undefined {
  for (const line of headers.get('cookie') ?? []) {
    for (const pair of line.split(';')) {
      const eq = pair.indexOf('=');
      if (eq < 0) continue;
      if (pair.slice(0, eq).trim() !== name) continue;
      let v = pair.slice(eq + 1).trim();
      if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) v = v.slice(1, -1);
      return v;
    }
  }
  return undefined;
}

/**
 * Every token at the given locations (each location read once). A header value counts when it
 * starts with the prefix (compared case-insensitively: `Bearer` is an RFC 7235 auth-scheme);
 * an empty token is no token.
 */
export function extractTokens(locations: Iterable<TokenLocation>, headers: HeaderMap, query: string): FoundToken[] {
  const out: FoundToken[] = [];
  const seen = new Set<string>();
  for (const location of locations) {
    const key = locationKey(location);
    if (seen.has(key)) continue;
    seen.add(key);
    const push = (raw: string | undefined): void => {
      if (raw === undefined) return;
      // The whole value is the token: Envoy keeps only its leading run of JWS characters, which
      // would accept a valid token followed by anything; here anything else makes it malformed.
      const token = raw.trim();
      if (token !== '') out.push({ token, location, key });
    };
    if (location.kind === 'header') {
      for (const v of headers.get(location.name) ?? []) {
        const p = location.prefix;
        if (p === '') push(v);
        else if (v.length >= p.length && v.slice(0, p.length).toLowerCase() === p.toLowerCase()) push(v.slice(p.length));
      }
    } else if (location.kind === 'param') push(firstParam(query, location.name));
    else push(firstCookie(headers, location.name));
  }
  return out;
}

/**
 * Removes a verified token before forwarding (forwardOriginalToken false): the header that held
 * it goes, as Envoy's `JwtHeaderLocation::removeJwt`; query parameters and cookies are left as
 * they are (Envoy does not remove them either).
 */
export function removeToken(headers: HeaderMap, location: TokenLocation): void {
  if (location.kind === 'header') headers.delete(location.name);
}
