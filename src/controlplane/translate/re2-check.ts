// The validity check for the RE2 patterns routes carry (Envoy/Istio match regexes with RE2): the
// control plane refuses a pattern the waypoint could not compile, so the rule is dropped, not served.
//
// One rule on both sides: this asks the waypoint's own compiler (src/waypoint/routing compileRegex),
// so a pattern the control plane accepts is exactly one the waypoint runs.

import { compileRegex } from '../../waypoint/routing/index.js';

/** Why `pattern` is not a usable RE2 pattern, or undefined when it is. */
export function re2Problem(pattern: string, options?: { readonly ignoreCase?: boolean }): string | undefined {
  try {
    compileRegex(pattern, options);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

export function isValidRe2(pattern: string): boolean {
  return re2Problem(pattern) === undefined;
}
