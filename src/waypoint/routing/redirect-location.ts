// The Location of a Gateway API RequestRedirect (HTTPRequestRedirectFilter): an absolute URL from
// the request and the filter's scheme/hostname/port/path, as Envoy's redirect action builds it.

import type { Redirect } from '../model/route-model.js';
import { rewritePath } from './path-rewrite.js';

/** What a redirect reads from the request; `path` without query, `query` without '?'. */
export interface RedirectRequest {
  readonly scheme: 'http' | 'https';
  /** The Host header (or :authority) as received, port included if it had one. */
  readonly host: string;
  readonly path: string;
  readonly query: string;
  /** The Service port the client dialled (the waypoint's "listener port" for this request). */
  readonly servicePort: number;
}

const WELL_KNOWN_PORT = { http: 80, https: 443 } as const;

/**
 * Absolute Location for a RequestRedirect. scheme: default the request's. hostname: default the
 * Host without port. port: if set, it; else the scheme's well-known port when the filter sets a
 * scheme; else the Service port dialled; omitted when it is the scheme's default (80 for http,
 * 443 for https). path: per the path modifier. The query string is kept (Envoy does;
 * the spec calls it conventional).
 */
export function redirectLocation(req: RedirectRequest, redirect: Redirect): string {
  const scheme = redirect.scheme ?? req.scheme;
  const hostname = redirect.hostname ?? hostWithoutPort(req.host);
  const port = redirect.port ?? (redirect.scheme !== undefined ? WELL_KNOWN_PORT[redirect.scheme] : req.servicePort);
  const portPart = port === WELL_KNOWN_PORT[scheme] ? '' : `:${port}`;
  const path = redirect.path === undefined ? req.path : rewritePath(req.path, redirect.path);
  const query = req.query === '' ? '' : `?${req.query}`;
  return `${scheme}://${hostname}${portPart}${path}${query}`;
}

/** `host:port` → `host`; `[v6]:port` → `[v6]` (RFC 3986 §3.2.2 IP-literal keeps its brackets). */
export function hostWithoutPort(host: string): string {
  if (host.startsWith('[')) {
    const close = host.indexOf(']');
    return close < 0 ? host : host.slice(0, close + 1);
  }
  const colon = host.lastIndexOf(':');
  // More than one ':' without brackets is a bare IPv6 address, not host:port.
  return colon < 0 || host.indexOf(':') !== colon ? host : host.slice(0, colon);
}
