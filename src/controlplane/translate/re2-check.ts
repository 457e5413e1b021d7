// A validity check for the RE2 patterns routes carry (Envoy/Istio match regexes with RE2): the
// control plane refuses a pattern the waypoint could not compile, so the rule is dropped, not served.
//
// Approximation: the pattern must compile as a JavaScript RegExp and use nothing RE2 lacks
// (backreferences, lookahead/lookbehind). RE2's `(?flags)` prefix and `(?P<name>` groups are
// accepted. To be merged with the waypoint's own compileRegex (src/waypoint/routing) once both exist.

/** RE2 has no backreferences (`\1`, `\k<name>`) and no lookaround (`(?=`, `(?!`, `(?<=`, `(?<!`). */
const NOT_RE2 = /\\[1-9]|\\k<|\(\?<?[=!]/;

/** Why `pattern` is not a usable RE2 pattern, or undefined when it is. */
export function re2Problem(pattern: string): string | undefined {
  if (NOT_RE2.test(stripEscapedBackslashes(pattern))) return 'backreferences and lookaround are not RE2 syntax';
  const js = pattern.replace(/^\(\?[imsU]+\)/, '').replaceAll('(?P<', '(?<');
  try {
    new RegExp(js, 'u');
    return undefined;
  } catch (err) {
    return `invalid regular expression: ${(err as Error).message}`;
  }
}

export function isValidRe2(pattern: string): boolean {
  return re2Problem(pattern) === undefined;
}

/** `\\` is a literal backslash: remove those pairs so `\\1` is not taken for a backreference. */
function stripEscapedBackslashes(p: string): string {
  return p.replaceAll('\\\\', '');
}
