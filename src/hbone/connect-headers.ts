// Whether an HBONE CONNECT request's header fields are well-formed (RFC 9113 §8.2.1 field validity,
// §8.2.2 connection-specific fields, §8.3 pseudo-headers, §8.3.1 and RFC 9110 §7.2 Host, §8.5
// CONNECT). Pure: no I/O.
//
// Layering, measured on Node 20.20 (nghttp2 1.61) by sending each case as raw HPACK:
// - nghttp2 resets the stream itself (RST_STREAM PROTOCOL_ERROR, the stream never reaches JS) for
//   upper-case names, connection-specific fields, `te` other than `trailers`, unknown, repeated or
//   misplaced pseudo-headers, a repeated host, and :scheme or :path on CONNECT;
// - a field with any other invalid name or value (CR, LF, NUL or other controls in the value,
//   leading/trailing whitespace, an empty or non-token name) is dropped, not refused: Node's
//   on_invalid_header callback (node_http2.cc OnInvalidHeader) ignores it, so the request
//   reaches JS without that field.
// This check holds whatever the HTTP/2 stack lets through to the same rules (a 400 in HboneServer);
// it does not depend on which of the two behaviours above a given Node version has.

import type { IncomingHttpHeaders } from 'node:http2';

/** One decoded header field: [name, value], as received (names are not normalised here). */
export type HeaderField = readonly [name: string, value: string];

/** RFC 9110 §5.6.2 tchar, lower-case only (RFC 9113 §8.2.1: no upper-case in field names). */
const LOWER_TOKEN = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/;
/** Request pseudo-headers (RFC 9113 §8.3.1). `:protocol` (RFC 8441) is not among them: HboneServer
 * never sends SETTINGS_ENABLE_CONNECT_PROTOCOL, so extended CONNECT is not offered. */
const REQUEST_PSEUDO = new Set([':method', ':scheme', ':authority', ':path']);
/** RFC 9113 §8.2.2: connection-specific fields; `te` is handled apart (only "trailers" allowed). */
const CONNECTION_SPECIFIC = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade']);
/** RFC 9113 §8.2.1: a value must not contain NUL, LF or CR anywhere... */
const FORBIDDEN_IN_VALUE = /[\0\n\r]/;
/** ...nor start or end with SP or HTAB. */
const EDGE_WHITESPACE = /^[ \t]|[ \t]$/;
/** Names in messages are cut to this many characters (a name may be up to the header list limit). */
const NAME_IN_MESSAGE_MAX = 64;

function quoted(name: string): string {
  return JSON.stringify(name.length > NAME_IN_MESSAGE_MAX ? `${name.slice(0, NAME_IN_MESSAGE_MAX)}…` : name);
}

/**
 * Node's decoded header object as fields: an array value becomes one field per element. Node
 * joins repeated fields with ", " and keeps only the first of single-value ones (:authority,
 * host...); nghttp2 has already refused repeated pseudo-headers, so no rule below loses input.
 */
export function headerFieldsOf(headers: IncomingHttpHeaders): HeaderField[] {
  const out: HeaderField[] = [];
  for (const name of Object.keys(headers)) {
    const v: unknown = headers[name];
    if (Array.isArray(v)) for (const x of v) out.push([name, String(x)]);
    else if (v !== undefined) out.push([name, String(v)]);
  }
  return out;
}

/** `te` may only carry "trailers" (RFC 9113 §8.2.2), possibly repeated when Node joined two fields. */
function teIsTrailersOnly(value: string): boolean {
  return value.split(',').every((t) => t.trim().toLowerCase() === 'trailers');
}

/**
 * Returns undefined when the request's fields are well-formed, else the first problem found, for
 * the log. Messages name the field, never its value: values can be credentials.
 */
export function connectHeaderProblem(fields: Iterable<HeaderField>): string | undefined {
  const pseudo = new Map<string, string>();
  let host: string | undefined;
  for (const [name, value] of fields) {
    if (name === '') return 'empty field name';
    if (name.startsWith(':')) {
      if (!REQUEST_PSEUDO.has(name)) return `unknown pseudo-header ${quoted(name)}`;
      if (pseudo.has(name)) return `pseudo-header ${name} appears twice`;
      pseudo.set(name, value);
    } else if (!LOWER_TOKEN.test(name)) {
      return `field name ${quoted(name)} is not a lower-case token`;
    } else if (CONNECTION_SPECIFIC.has(name)) {
      return `connection-specific field ${name}`;
    } else if (name === 'te' && !teIsTrailersOnly(value)) {
      return 'te other than "trailers"';
    } else if (name === 'host') {
      // RFC 9110 §7.2: more than one Host field line is answered 400.
      if (host !== undefined) return 'host appears twice';
      host = value;
    }
    if (FORBIDDEN_IN_VALUE.test(value)) return `value of ${quoted(name)} contains CR, LF or NUL`;
    if (EDGE_WHITESPACE.test(value)) return `value of ${quoted(name)} starts or ends with whitespace`;
  }
  if (pseudo.get(':method') === 'CONNECT') {
    if (pseudo.has(':scheme')) return 'CONNECT with :scheme';
    if (pseudo.has(':path')) return 'CONNECT with :path';
  }
  const authority = pseudo.get(':authority');
  if (host !== undefined && authority !== undefined && host.toLowerCase() !== authority.toLowerCase()) {
    return 'host differs from :authority';
  }
  return undefined;
}
