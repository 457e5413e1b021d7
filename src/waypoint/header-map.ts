// HTTP header plumbing between Node's HTTP objects and the routing library's HeaderMap: raw
// headers in arrival order (duplicates kept), hop-by-hop stripping, and the outgoing shapes.

import type { HeaderMap } from './routing/index.js';

/**
 * Hop-by-hop headers (RFC 9110 §7.6.1) plus the non-standard ones Envoy also removes. `te` is kept
 * when it is exactly `trailers` (gRPC needs it, RFC 9113 §8.2.2).
 */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'http2-settings']);

/** Builds a HeaderMap from Node's rawHeaders ([name, value, name, value, ...]); HTTP/2 pseudo headers become `host`. */
export function headerMapFromRaw(raw: readonly string[]): HeaderMap {
  const map: HeaderMap = new Map();
  for (let i = 0; i + 1 < raw.length; i += 2) {
    let name = raw[i]!.toLowerCase();
    if (name === ':authority') name = 'host';
    else if (name.startsWith(':')) continue;
    const list = map.get(name);
    if (list) list.push(raw[i + 1]!);
    else map.set(name, [raw[i + 1]!]);
  }
  return map;
}

/** A HeaderMap from an HTTP/2 header object (Node joins duplicates there; set-cookie stays a list). */
export function headerMapFromObject(obj: Readonly<Record<string, string | string[] | number | undefined>>): HeaderMap {
  const map: HeaderMap = new Map();
  for (const [k, v] of Object.entries(obj)) {
    if (k.startsWith(':') || v === undefined) continue;
    map.set(k.toLowerCase(), Array.isArray(v) ? [...v] : [String(v)]);
  }
  return map;
}

/**
 * Removes hop-by-hop headers and any header named in `Connection` (RFC 9110 §7.6.1). With
 * `upgrading`, Upgrade and Connection stay (the upgrade is passed through end to end).
 */
export function stripHopByHop(headers: HeaderMap, upgrading = false): void {
  // Runs on every request (clients send `Connection: keep-alive`): no intermediate arrays.
  const connection = headers.get('connection');
  if (connection !== undefined) {
    for (const value of connection) {
      for (const part of value.split(',')) {
        const n = part.trim().toLowerCase();
        if (n !== '' && !(upgrading && n === 'upgrade')) headers.delete(n);
      }
    }
  }
  for (const n of HOP_BY_HOP) {
    if (upgrading && (n === 'upgrade' || n === 'connection')) continue;
    if (n === 'te' && headers.get('te')?.every(isTrailers)) continue;
    headers.delete(n);
  }
}

function isTrailers(v: string): boolean {
  return v.trim().toLowerCase() === 'trailers';
}

/** The default `skip` of the outgoing shapes (one instance, not one per call). */
const SKIP_NONE: ReadonlySet<string> = new Set();

/**
 * Fields a trailer section must not carry, or that a recipient must not act on there (RFC 9110
 * §6.5.1: framing, routing, request modifiers, authentication, response control, content
 * metadata; RFC 9112 §7.1.2): dropped with the hop-by-hop ones before trailers are forwarded, so a
 * client cannot smuggle e.g. `Connection: close` or `Host` into the upstream connection's state.
 */
const NOT_IN_TRAILERS = new Set([
  'host', 'content-length', 'content-type', 'content-encoding', 'content-range', 'trailer', 'expect', 'max-forwards', 'range',
  'cache-control', 'pragma', 'if-match', 'if-none-match', 'if-modified-since', 'if-unmodified-since', 'if-range',
  'authorization', 'proxy-authorization', 'www-authenticate', 'proxy-authenticate', 'cookie', 'set-cookie',
  'age', 'expires', 'date', 'location', 'retry-after', 'vary', 'warning',
]);

/** A trailer section without the fields that may not be forwarded in one (see NOT_IN_TRAILERS). */
export function forwardableTrailers(trailers: HeaderMap): HeaderMap {
  const out: HeaderMap = new Map([...trailers].filter(([k]) => !NOT_IN_TRAILERS.has(k) && !k.startsWith(':')));
  stripHopByHop(out);
  out.delete('te');
  return out;
}

/** For http.request / writeHead: one entry per name, a list for repeated headers (sent as separate lines). */
export function toOutgoing(headers: HeaderMap, skip: ReadonlySet<string> = SKIP_NONE): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of headers) {
    if (skip.has(k) || v.length === 0) continue;
    out[k] = v.length === 1 ? v[0]! : [...v];
  }
  return out;
}

/** For HTTP/2 where only set-cookie may repeat: other repeated headers are joined with ',' (RFC 9110 §5.3). */
export function toH2Outgoing(headers: HeaderMap, skip: ReadonlySet<string> = SKIP_NONE): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of headers) {
    if (skip.has(k) || v.length === 0 || k === 'host') continue;
    out[k] = k === 'set-cookie' ? [...v] : v.join(',');
  }
  return out;
}

/** The raw HTTP/1.1 request head for an Upgrade passed through byte for byte afterwards. */
export function requestHead(method: string, target: string, headers: HeaderMap): string {
  let head = `${method} ${target} HTTP/1.1\r\n`;
  for (const [k, vs] of headers) for (const v of vs) head += `${k}: ${v}\r\n`;
  return `${head}\r\n`;
}
