// Request checks the protocol stacks leave to the application: HTTP/2 fields nghttp2 passes
// (RFC 9113 §8.2.1, §8.2.2; a stream error on that stream alone), the HTTP/1.1 Host rule
// llhttp does not enforce (RFC 9112 §3.2) and the field count limit. Never forwarded when malformed.

/**
 * Request header fields accepted (Envoy's max_headers_count default): more ⇒ 431. The HTTP/1
 * server is told to parse one more than this so an excess is seen instead of silently dropped.
 */
export const MAX_REQUEST_HEADERS = 100;

/** Header fields of a request (Node's rawHeaders: name, value, ...), HTTP/2 pseudo-headers not counted. */
export function fieldCount(raw: readonly string[]): number {
  let n = 0;
  for (let i = 0; i < raw.length; i += 2) if (!raw[i]!.startsWith(':')) n++;
  return n;
}

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

/** RFC 3986 authority as a Host value: reg-name or IP-literal, an optional port. */
const HOST_VALUE = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~%!$&'()*+,;=]*)(:[0-9]*)?$/;

/**
 * RFC 9112 §3.2: an HTTP/1.1 request without Host, with more than one Host line, or with an
 * invalid Host value MUST be answered 400 (HTTP/1.0 may omit it). Returns why, or undefined.
 */
export function h1HostProblem(httpVersion: string, raw: readonly string[]): string | undefined {
  const hosts: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) if (raw[i]!.toLowerCase() === 'host') hosts.push(raw[i + 1]!);
  if (hosts.length > 1) return 'more than one Host field';
  if (hosts.length === 0) return httpVersion === '1.0' ? undefined : 'no Host field';
  return HOST_VALUE.test(hosts[0]!) ? undefined : `invalid Host ${JSON.stringify(hosts[0]!.slice(0, 64))}`;
}
