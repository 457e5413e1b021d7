// HTTP/2 request field checks nghttp2 leaves to the application (RFC 9113 §8.2.1, §8.2.2): a
// malformed request is a stream error (PROTOCOL_ERROR) on that stream alone, never forwarded.
// HTTP/1.1 heads are checked by the HTTP/1 parser (llhttp) before they reach the handler.

/** RFC 9110 §5.6.2 tchar, lower case only (RFC 9113 §8.2.1: upper case is malformed). */
const NAME = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/;

/** Connection-specific fields (RFC 9113 §8.2.2). */
const CONNECTION_SPECIFIC = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade']);

/** Why an HTTP/2 request's fields (Node's rawHeaders: name, value, ...) are malformed, or undefined. */
export function h2RequestProblem(raw: readonly string[]): string | undefined {
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    if (!name.startsWith(':')) {
      if (!NAME.test(name)) return `invalid field name ${JSON.stringify(name)}`;
      if (CONNECTION_SPECIFIC.has(name)) return `connection-specific field ${name}`;
      if (name === 'te' && value.trim().toLowerCase() !== 'trailers') return 'te other than trailers';
    }
    for (let j = 0; j < value.length; j++) {
      const c = value.charCodeAt(j);
      if (c === 0 || c === 0x0a || c === 0x0d) return `invalid character in ${name}`;
    }
    const first = value.charCodeAt(0);
    const last = value.charCodeAt(value.length - 1);
    if (value.length > 0 && (first === 0x20 || first === 0x09 || last === 0x20 || last === 0x09)) return `leading or trailing whitespace in ${name}`;
  }
  return undefined;
}
