// Consistent-hash keys of a request (Envoy RouteAction.HashPolicy as Istio sets it from a
// DestinationRule consistentHash): header, cookie (generated when absent and a ttl is set), source IP, query parameter.

import { randomBytes } from 'node:crypto';
import { murmur3 } from './hash-ring.js';
import type { ConsistentHashKey, LoadBalancerPolicy } from './model/route-model.js';
import { headerValue, type HeaderMap } from './routing/index.js';

/** What a CONSISTENT_HASH key is read from. */
export interface HashInput {
  readonly headers: HeaderMap;
  /** The raw query string (no '?'). */
  readonly query: string;
  readonly sourceIp: string;
  /** The cookie value generated for this request when its affinity cookie was absent. */
  readonly generatedCookie?: string;
}

/** A cookie the waypoint generated for a request, and the Set-Cookie line its response carries. */
export interface GeneratedCookie {
  readonly value: string;
  readonly setCookie: string;
}

/**
 * The named cookie's value from the Cookie header lines (Envoy Http::Utility::parseCookieValue):
 * `;`-separated pairs, whitespace trimmed, the first match wins, surrounding double quotes removed.
 */
export function cookieValue(headers: HeaderMap, name: string): string | undefined {
  for (const line of headers.get('cookie') ?? []) {
    for (const part of line.split(';')) {
      const eq = part.indexOf('=');
      if (eq <= 0 || part.slice(0, eq).trim() !== name) continue;
      const v = part.slice(eq + 1).trim();
      return v.length >= 2 && v.startsWith('"') && v.endsWith('"') ? v.slice(1, -1) : v;
    }
  }
  return undefined;
}

/** The first occurrence of the parameter, undecoded (Envoy QueryParamsMulti::parseQueryString, getFirstValue). */
export function queryParamValue(query: string, name: string): string | undefined {
  if (query === '') return undefined;
  for (const part of query.split('&')) {
    const eq = part.indexOf('=');
    if ((eq < 0 ? part : part.slice(0, eq)) === name) return eq < 0 ? '' : part.slice(eq + 1);
  }
  return undefined;
}

/** The key string to hash, or undefined when the request has none (the LB then picks at random, as Envoy). */
export function hashKey(key: ConsistentHashKey, input: HashInput): string | undefined {
  if ('header' in key) return headerValue(input.headers, key.header);
  if ('sourceIp' in key) return input.sourceIp === '' ? undefined : input.sourceIp;
  if ('cookie' in key) return cookieValue(input.headers, key.cookie) ?? input.generatedCookie;
  return queryParamValue(input.query, key.queryParam);
}

/** The 32-bit ring position of a key. */
export function hashOf(key: string): number {
  return murmur3(key);
}

/**
 * Envoy's Router::Filter::addDownstreamSetCookie: for a cookie key with a ttl and no such cookie
 * on the request, a value derived from the downstream connection (the same for every request of
 * one connection, so racing requests agree) and `name="value"; Max-Age=<s>; Path=<p>; HttpOnly`
 * (no Max-Age when ttl is 0: a session cookie). `connection` names the downstream connection.
 */
export function cookieToGenerate(lb: LoadBalancerPolicy, input: HashInput, connection: string): GeneratedCookie | undefined {
  if (lb.kind !== 'CONSISTENT_HASH' || !('cookie' in lb.key)) return undefined;
  const { cookie: name, ttlMs, path } = lb.key;
  if (ttlMs === undefined || cookieValue(input.headers, name) !== undefined) return undefined;
  const value = murmur3(connection, 0).toString(16).padStart(8, '0') + murmur3(connection, 1).toString(16).padStart(8, '0');
  let setCookie = `${name}="${value}"`;
  const maxAge = Math.floor(ttlMs / 1000);
  if (maxAge > 0) setCookie += `; Max-Age=${maxAge}`;
  if (path) setCookie += `; Path=${path}`;
  setCookie += '; HttpOnly';
  return { value, setCookie };
}

const downstreamIds = new WeakMap<object, string>();

/**
 * A random name for one downstream connection (the CONNECT tunnel object), the same for all of its
 * requests: what Envoy derives from the connection's addresses, which here would be the HBONE
 * connection shared by many tunnels.
 */
export function downstreamId(connection: object): string {
  let id = downstreamIds.get(connection);
  if (id === undefined) downstreamIds.set(connection, (id = randomBytes(8).toString('hex')));
  return id;
}
