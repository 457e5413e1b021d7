// Query-parameter lookup for HTTPRoute queryParams matches: exact, case-sensitive names, first
// occurrence wins (Gateway API HTTPQueryParamMatch recommends it), values percent-decoded as
// Envoy's parseAndDecodeQueryString does.

const utf8 = new TextDecoder('utf-8', { fatal: false });

/**
 * First occurrence of a query parameter (name exact/case-sensitive), percent-decoded; undefined
 * if absent. `query` is the raw query without '?'. A parameter without '=' has the value ''.
 * '+' is kept literally (RFC 3986 gives it no meaning; only HTML forms map it to a space) and
 * malformed %-escapes are kept as written, as Envoy's PercentEncoding::decode does.
 */
export function queryParam(query: string, name: string): string | undefined {
  const end = query.length;
  let start = 0;
  while (start < end) {
    let amp = query.indexOf('&', start);
    if (amp < 0) amp = end;
    if (amp > start) {
      let eq = query.indexOf('=', start);
      if (eq < 0 || eq > amp) eq = amp;
      if (keyEquals(query, start, eq, name)) {
        return eq === amp ? '' : percentDecode(query.slice(eq + 1, amp));
      }
    }
    start = amp + 1;
  }
  return undefined;
}

function keyEquals(query: string, from: number, to: number, name: string): boolean {
  // Fast path: compare in place without slicing when the key needs no decoding.
  const pct = query.indexOf('%', from);
  if (pct < 0 || pct >= to) {
    return to - from === name.length && query.startsWith(name, from);
  }
  return percentDecode(query.slice(from, to)) === name;
}

/** RFC 3986 §2.1 percent-decoding to UTF-8 text; invalid escapes stay literal, bad UTF-8 becomes U+FFFD. */
export function percentDecode(raw: string): string {
  if (raw.indexOf('%') < 0) return raw;
  const bytes: number[] = [];
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c === 0x25 && i + 2 < raw.length && isHex(raw.charCodeAt(i + 1)) && isHex(raw.charCodeAt(i + 2))) {
      bytes.push(parseInt(raw.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (c < 0x80) {
      bytes.push(c);
    } else {
      // Non-ASCII in a raw query (not RFC-conformant but seen): re-encode the code point as UTF-8.
      const cp = raw.codePointAt(i) ?? c;
      for (const b of Buffer.from(String.fromCodePoint(cp), 'utf8')) bytes.push(b);
      if (cp > 0xffff) i++;
    }
  }
  return utf8.decode(Uint8Array.from(bytes));
}

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}
