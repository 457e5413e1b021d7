// Envoy URI templates as AuthorizationPolicy paths use them (Istio `{*}` / `{**}`, converted to
// Envoy's `*` / `**`; envoy source/extensions/path/uri_template_lib): validation and compilation.

/** RFC 3986 pchar without `*` and `/` (Envoy `kLiteral`): what a literal or a glob may hold. */
const LITERAL = "a-zA-Z0-9\\-._~%!$&'()+,;:@=";
const SEGMENT_GLOB = `[${LITERAL}]+`;
const TEXT_GLOB = `[${LITERAL}/]*`;
const LITERAL_RE = new RegExp(`^[${LITERAL}]*$`);

/** True when a path value is a template (holds `{*}` or `{**}`), not a plain match form. */
export function isPathTemplate(value: string): boolean {
  return value.includes('{*}') || value.includes('{**}');
}

/**
 * Why a template is invalid (istio/api Operation.paths): it must start with `/`; each segment is
 * either exactly `{*}` / `{**}` or a literal without `*`, `{`, `}`; `{**}` must be the last
 * operator; no empty segment between two operators (`//`). undefined when valid.
 */
export function pathTemplateProblem(value: string): string | undefined {
  if (!value.startsWith('/')) return 'a path template must start with "/"';
  const segments = value.slice(1).split('/');
  let textGlobSeen = false;
  for (const [i, seg] of segments.entries()) {
    if (seg === '{*}' || seg === '{**}') {
      if (textGlobSeen) return '{**} must be the last operator of a path template';
      textGlobSeen = seg === '{**}';
      continue;
    }
    if (!LITERAL_RE.test(seg)) return `segment "${seg}" holds characters other than a {*} or {**} operator allows (no *, { or } outside an operator)`;
    if (seg === '' && i > 0 && i < segments.length - 1) return 'a path template must not hold "//"';
  }
  return undefined;
}

/** The full-match RegExp of a valid template (as Envoy's `toRegexPattern`). */
export function compilePathTemplate(value: string): RegExp {
  const body = value
    .split('/')
    .map((seg) => (seg === '{*}' ? SEGMENT_GLOB : seg === '{**}' ? TEXT_GLOB : seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  return new RegExp(`^${body}$`);
}
