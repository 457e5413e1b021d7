// Request/response headers as the waypoint holds them, and the two operations routing needs on
// them: the value a header match sees, and a HTTPRoute Request/ResponseHeaderModifier mutation.

import type { HeaderMutation } from '../model/route-model.js';

/**
 * Headers as the waypoint holds them: lower-case name → values in arrival order. Invariant: a
 * present name has at least one value; arrays are never shared between two maps after a
 * mutation (applyHeaderMutation writes fresh arrays), so callers may copy a map shallowly.
 */
export type HeaderMap = Map<string, string[]>;

/**
 * Header value as matching sees it: repeated headers joined with ',' and no space (RFC 9110 §5.3;
 * Envoy's getAllOfHeaderAsString, which Gateway API conformance compares byte for byte).
 * `name` must be lower case. Undefined when the header is absent.
 */
export function headerValue(headers: HeaderMap, name: string): string | undefined {
  const values = headers.get(name);
  if (values === undefined || values.length === 0) return undefined;
  // Single value: no allocation on the hot path.
  return values.length === 1 ? values[0] : values.join(',');
}

/**
 * Applies a Gateway API HTTPHeaderFilter (RequestHeaderModifier / ResponseHeaderModifier):
 * `set` replaces every value of the name with one value, `add` appends one more value (kept as a
 * separate entry; the forwarder writes separate lines or joins with ','), `remove` deletes.
 * The spec allows one action per name per filter, so order only matters across filters; we apply
 * set, then add, then remove, as Envoy's request_headers_to_add/remove do. Names in the mutation
 * are lower case (route-model invariant).
 */
export function applyHeaderMutation(headers: HeaderMap, mutation: HeaderMutation | undefined): void {
  if (mutation === undefined) return;
  if (mutation.set !== undefined) {
    for (const h of mutation.set) headers.set(h.name, [h.value]);
  }
  if (mutation.add !== undefined) {
    for (const h of mutation.add) {
      const existing = headers.get(h.name);
      // A fresh array: the old one may be shared with the map this one was copied from.
      headers.set(h.name, existing === undefined ? [h.value] : [...existing, h.value]);
    }
  }
  if (mutation.remove !== undefined) {
    for (const name of mutation.remove) headers.delete(name);
  }
}
