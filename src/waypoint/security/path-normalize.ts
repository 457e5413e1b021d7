// Istio's default request normalization (meshConfig pathNormalization BASE = Envoy normalize_path,
// https://istio.io/latest/docs/reference/config/security/normalization/): the normalized path is
// what policies match and what the backend receives. Also the request checks Envoy makes before.

/** `%HH` of RFC 3986 unreserved characters, decoded once by BASE (%2F and %5C stay encoded). */
function unreserved(code: number): boolean {
  return (
    code === 0x2d || code === 0x2e || code === 0x5f || code === 0x7e ||
    (code >= 0x30 && code <= 0x39) || (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a)
  );
}

/** RFC 3986 §5.2.4 remove_dot_segments on an absolute path; `..` never climbs above `/`. */
export function removeDotSegments(path: string): string {
  const out: string[] = [];
  const segs = path.split('/');
  // segs[0] is '' (the path starts with '/').
  for (let i = 1; i < segs.length; i++) {
    const s = segs[i]!;
    const last = i === segs.length - 1;
    if (s === '.') {
      if (last) out.push('');
    } else if (s === '..') {
      out.pop();
      if (last) out.push('');
    } else out.push(s);
  }
  return `/${out.join('/')}`;
}

export type NormalizedPath = { readonly ok: true; readonly path: string } | { readonly ok: false; readonly reason: string };

const ABSOLUTE_FORM = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/?#]*/;

/**
 * The request path (query excluded) as Istio's BASE normalization leaves it: absolute-form
 * targets reduced to their path (Envoy forwards origin-form), unreserved `%HH` decoded once,
 * `\` → `/`, dot segments resolved. Refused (400): `%00`, a fragment `#` (Envoy rejects paths with
 * fragments), or a path that does not start with `/` (except `*`, OPTIONS' asterisk-form).
 */
export function normalizePath(raw: string): NormalizedPath {
  let path = raw;
  if (path === '*') return { ok: true, path };
  const abs = ABSOLUTE_FORM.exec(path);
  if (abs) path = path.slice(abs[0].length) || '/';
  if (!path.startsWith('/')) return { ok: false, reason: 'path does not start with "/"' };
  if (path.includes('#')) return { ok: false, reason: 'path holds a fragment' };
  if (/%00/.test(path)) return { ok: false, reason: 'path holds %00' };
  if (path.includes('%')) {
    path = path.replace(/%([0-9a-fA-F]{2})/g, (m, hex: string) => {
      const code = parseInt(hex, 16);
      return unreserved(code) ? String.fromCharCode(code) : m;
    });
  }
  if (path.includes('\\')) path = path.replace(/\\/g, '/');
  if (path.includes('/.')) path = removeDotSegments(path);
  return { ok: true, path };
}

/** Istio refuses methods that are not upper case (normalization page, "Method not in upper case"). */
export function methodProblem(method: string): string | undefined {
  return method !== method.toUpperCase() ? `method "${method}" is not upper case` : undefined;
}
