// The narrow view of an HTTP request that route matching reads; the listener builds it once per
// request from the parsed HTTP/1.1 or HTTP/2 request.

import type { HeaderMap } from './header-map.js';

/** What matching reads from a request. `path` excludes the query; `query` is the raw query without '?'. */
export interface RequestView {
  /** As received (methods are case-sensitive, RFC 9110 §9.1); matched exactly. */
  readonly method: string;
  /** The request-target path, not decoded, without '?' and query. */
  readonly path: string;
  /** Raw query string without the leading '?', '' when absent. */
  readonly query: string;
  readonly headers: HeaderMap;
}
