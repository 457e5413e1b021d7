// AuthorizationPolicy `when` keys (https://istio.io/latest/docs/reference/config/security/conditions/)
// compiled into checks: which attribute a key reads, and how its values match.

import type { AuthzRequest } from './authz-request.js';
import { anyForm, type StringPredicate } from './match-forms.js';
import { cidrCheck, group, UNKNOWN, type Check, type Tri } from './authz-checks.js';

/** The attribute a `when` key reads; `http` ones do not exist on a TCP connection. */
interface Attribute {
  readonly http: boolean;
  /** String values the attribute has for the request (any of them may match); undefined = absent. */
  readonly values?: (req: AuthzRequest) => readonly string[] | undefined;
  readonly kind: 'string' | 'ip' | 'port';
  readonly ip?: (req: AuthzRequest) => AuthzRequest['sourceIp'];
  readonly port?: (req: AuthzRequest) => number;
}

/** `[a][b]...` → ['a', 'b']; undefined when not that shape. */
function bracketPath(s: string): string[] | undefined {
  const parts: string[] = [];
  let rest = s;
  while (rest !== '') {
    const m = /^\[([^\][]+)\]/.exec(rest);
    if (!m) return undefined;
    parts.push(m[1]!);
    rest = rest.slice(m[0].length);
  }
  return parts.length > 0 ? parts : undefined;
}

/** A claim's values: a string, or the strings of a list (Envoy's list matcher); anything else matches nothing. */
function claimValues(claims: Readonly<Record<string, unknown>>, path: readonly string[]): readonly string[] | undefined {
  let v: unknown = claims;
  for (const p of path) {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
    v = (v as Record<string, unknown>)[p];
  }
  if (typeof v === 'string') return [v];
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === 'string');
  return undefined;
}

function attributeOf(key: string): Attribute | undefined {
  switch (key) {
    case 'source.ip': return { http: false, kind: 'ip', ip: (r) => r.sourceIp };
    case 'remote.ip': return { http: false, kind: 'ip', ip: (r) => r.remoteIp };
    case 'destination.ip': return { http: false, kind: 'ip', ip: (r) => r.destinationIp };
    case 'destination.port': return { http: false, kind: 'port', port: (r) => r.destinationPort };
    case 'source.namespace': return { http: false, kind: 'string', values: (r) => (r.peer ? [r.peer.namespace] : undefined) };
    case 'source.principal': return { http: false, kind: 'string', values: (r) => (r.peer ? [r.peer.principal] : undefined) };
    case 'request.auth.principal': return { http: true, kind: 'string', values: (r) => (r.auth?.principal !== undefined ? [r.auth.principal] : undefined) };
    case 'request.auth.presenter': return { http: true, kind: 'string', values: (r) => (r.auth?.presenter !== undefined ? [r.auth.presenter] : undefined) };
    case 'request.auth.audiences': return { http: true, kind: 'string', values: (r) => r.auth?.audiences };
    // The waypoint never reads a client TLS ClientHello: HTTP inside HBONE has no SNI (''), and on a
    // TCP port the name is unknown (the check is UNKNOWN there, like an HTTP attribute).
    case 'connection.sni': return { http: true, kind: 'string', values: (r) => [r.sni] };
    default:
  }
  if (key.startsWith('request.headers[') && key.endsWith(']')) {
    const name = key.slice('request.headers['.length, -1).toLowerCase();
    if (name === '' || name.includes('[') || name.includes(']')) return undefined;
    // Istio joins repeated headers with ',' before matching (normalization page, "Duplicate headers").
    return { http: true, kind: 'string', values: (r) => { const v = r.headers?.get(name); return v === undefined ? undefined : [v.join(',')]; } };
  }
  if (key.startsWith('request.auth.claims')) {
    const path = bracketPath(key.slice('request.auth.claims'.length));
    if (path === undefined) return undefined;
    return { http: true, kind: 'string', values: (r) => (r.auth ? claimValues(r.auth.claims, path) : undefined) };
  }
  return undefined;
}

export interface CompiledCondition {
  readonly check: Check;
  /** The key reads an HTTP attribute (unknown on TCP connections). */
  readonly http: boolean;
  /** The key or a value could not be understood: never evaluable. */
  readonly unevaluable: boolean;
}

/** Port list membership; a value that is not a decimal port makes the field unknown unless another decides it. */
function portCheck(values: readonly string[] | undefined, port: (r: AuthzRequest) => number): { check: (r: AuthzRequest) => Tri; bad: boolean } | undefined {
  if (values === undefined || values.length === 0) return undefined;
  const ports = new Set<number>();
  let bad = false;
  for (const v of values) {
    if (/^\d{1,5}$/.test(v) && Number(v) <= 65535) ports.add(Number(v));
    else bad = true;
  }
  return { bad, check: (r) => (ports.has(port(r)) ? true : bad ? UNKNOWN : false) };
}

export function compileCondition(key: string, values: readonly string[] | undefined, notValues: readonly string[] | undefined): CompiledCondition {
  const attr = attributeOf(key);
  if (attr === undefined) return { check: () => UNKNOWN, http: false, unevaluable: true };
  if (attr.kind === 'ip') {
    const pos = cidrCheck(values, attr.ip!);
    const neg = cidrCheck(notValues, attr.ip!);
    const check = group(pos?.check, neg?.check);
    return { check: attr.http ? httpOnly(check) : check, http: attr.http, unevaluable: (pos?.bad ?? false) || (neg?.bad ?? false) };
  }
  if (attr.kind === 'port') {
    const pos = portCheck(values, attr.port!);
    const neg = portCheck(notValues, attr.port!);
    const check = group(pos?.check, neg?.check);
    return { check, http: false, unevaluable: (pos?.bad ?? false) || (neg?.bad ?? false) };
  }
  const get = attr.values!;
  const lift = (pred: StringPredicate | undefined): ((r: AuthzRequest) => boolean) | undefined =>
    pred && ((r) => (get(r) ?? []).some(pred));
  const check = group(lift(anyForm(values)), lift(anyForm(notValues)));
  return { check: attr.http ? httpOnly(check) : check, http: attr.http, unevaluable: false };
}

/** HTTP attributes do not exist on TCP connections: the check is unknown there. */
export function httpOnly(check: Check): Check {
  return (r) => (r.protocol === 'tcp' ? UNKNOWN : check(r));
}
