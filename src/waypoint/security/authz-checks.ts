// The building blocks of compiled authorization rules: a check is true, false or UNKNOWN (an
// attribute this request does not have, or a value that could not be parsed); the policy's action
// decides what UNKNOWN means (AuthzEvaluator).

import { cidrContains, parseCidr as parseCidrBytes, parseIp, type IpBytes, type ParsedCidr as CidrBytes } from '../../rbac/index.js';
import { parseCidr } from '../../state/index.js';
import type { AuthzRequest } from './authz-request.js';

export const UNKNOWN = undefined;
export type Tri = boolean | typeof UNKNOWN;
export type Check = (req: AuthzRequest) => Tri;

/** Parses `ip` or `ip/len` into bytes; undefined when invalid. */
export function parseBlock(text: string): CidrBytes | undefined {
  const c = parseCidr(text.trim());
  if (typeof c === 'string') return undefined;
  return parseCidrBytes({ ip: c.ip, prefixLength: c.prefixLength });
}

export function ipBytes(text: string | undefined): IpBytes | undefined {
  return text === undefined ? undefined : parseIp(text);
}

/**
 * A positive (`values`) and a negative (`notValues`) list of one field: (no positives or any
 * matches) and (no negatives or none matches). A sub-check's UNKNOWN propagates.
 */
export function group(pos: ((r: AuthzRequest) => Tri) | undefined, neg: ((r: AuthzRequest) => Tri) | undefined): Check {
  if (pos === undefined && neg === undefined) return () => true;
  return (r) => {
    if (pos !== undefined) {
      const p = pos(r);
      if (p !== true) return p;
    }
    if (neg !== undefined) {
      const n = neg(r);
      if (n === UNKNOWN) return UNKNOWN;
      return !n;
    }
    return true;
  };
}

/**
 * CIDR list membership of an IP attribute. A value that does not parse makes the field unknown
 * unless another value decides it (`bad`), so a typo can never widen an ALLOW or narrow a DENY.
 */
export function cidrCheck(values: readonly string[] | undefined, ip: (r: AuthzRequest) => IpBytes | undefined): { check: (r: AuthzRequest) => Tri; bad: boolean } | undefined {
  if (values === undefined || values.length === 0) return undefined;
  const blocks: CidrBytes[] = [];
  let bad = false;
  for (const v of values) {
    const b = parseBlock(v);
    if (b === undefined) bad = true;
    else blocks.push(b);
  }
  return {
    bad,
    check: (r) => {
      const a = ip(r);
      if (a !== undefined && blocks.some((b) => cidrContains(b, a))) return true;
      return bad ? UNKNOWN : false;
    },
  };
}
