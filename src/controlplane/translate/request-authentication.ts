// RequestAuthentication with targetRefs → the waypoint's JwtRules (src/waypoint/model/security-
// model.ts). Checked as istiod's webhook does; a rule that cannot work is dropped and reported
// (tokens of its issuer are then refused with 401: fail closed). Keys are never fetched here.

import type { KubeObject } from '../../k8s/index.js';
import { DEFAULT_JWKS_FETCH_TIMEOUT_MS, type JwtRule } from '../../waypoint/model/security-model.js';
import { hasTargetRefs, policyTargets, type PolicyTarget } from './policy-targets.js';
import { refOf, type ObjectRef, type Problems } from './types.js';

interface JwtRuleView {
  readonly issuer?: string;
  readonly audiences?: readonly string[];
  readonly jwksUri?: string;
  readonly jwks?: string;
  readonly fromHeaders?: readonly { readonly name?: string; readonly prefix?: string }[];
  readonly fromParams?: readonly string[];
  readonly fromCookies?: readonly string[];
  readonly outputPayloadToHeader?: string;
  readonly forwardOriginalToken?: boolean;
  readonly outputClaimToHeaders?: readonly { readonly header?: string; readonly claim?: string }[];
  readonly timeout?: string;
  readonly spaceDelimitedClaims?: readonly string[];
}

export interface WaypointJwtRules {
  /** Without `services`: narrowed per waypoint. */
  readonly rules: readonly JwtRule[];
  readonly targets: readonly PolicyTarget[];
}

/** A JWKS fetch never waits longer than this, ms (the waypoint refuses larger values). */
const MAX_FETCH_TIMEOUT_MS = 3_600_000;
/** RFC 9110 token characters: what a header name may hold. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Headers a JWT output must not overwrite: pseudo-headers and framing. */
const RESERVED_HEADERS = new Set(['host', 'content-length', 'transfer-encoding', 'connection', 'te', 'upgrade']);

/** Protobuf/Go duration (`5s`, `1.5s`, `500ms`, `1m`) → ms; undefined when invalid. */
export function parseProtoDuration(text: string): number | undefined {
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/gy;
  const unit: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };
  let total = 0;
  let end = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    total += Number(m[1]) * unit[m[2]!]!;
    end = re.lastIndex;
  }
  return end === text.length && text.length > 0 ? Math.round(total) : undefined;
}

function headerName(ref: ObjectRef, at: string, name: string | undefined, problems: Problems): string | undefined {
  if (name === undefined || !TOKEN.test(name)) {
    problems.error(ref, at, `"${name ?? ''}" is not a valid header name`);
    return undefined;
  }
  if (RESERVED_HEADERS.has(name.toLowerCase())) {
    problems.error(ref, at, `"${name}" cannot be written by a JWT rule`);
    return undefined;
  }
  return name;
}

function jwksProblem(jwks: string): string | undefined {
  try {
    const v = JSON.parse(jwks) as { keys?: unknown };
    if (typeof v !== 'object' || v === null || !Array.isArray(v.keys)) return 'not a JSON Web Key Set ({"keys": [...]})';
  } catch (err) {
    return `not JSON: ${(err as Error).message}`;
  }
  return undefined;
}

/** One jwtRule, or undefined (reported) when it cannot be used. */
function jwtRule(r: JwtRuleView, ref: ObjectRef, at: string, source: string, problems: Problems): JwtRule | undefined {
  if (r.issuer === undefined || r.issuer === '') {
    problems.error(ref, `${at}.issuer`, 'issuer is required; rule dropped');
    return undefined;
  }
  let jwks = r.jwks !== undefined && r.jwks !== '' ? r.jwks : undefined;
  let jwksUri = r.jwksUri !== undefined && r.jwksUri !== '' ? r.jwksUri : undefined;
  if (jwks !== undefined) {
    const p = jwksProblem(jwks);
    if (p !== undefined) problems.error(ref, `${at}.jwks`, `${p}: tokens of issuer ${r.issuer} are refused (401)`);
    if (jwksUri !== undefined) {
      problems.warning(ref, `${at}.jwksUri`, 'both jwks and jwksUri are set; the inline jwks is used');
      jwksUri = undefined;
    }
  } else if (jwksUri !== undefined) {
    let ok = false;
    try {
      const u = new URL(jwksUri);
      ok = u.protocol === 'https:' || u.protocol === 'http:';
    } catch {
      ok = false;
    }
    if (!ok) {
      problems.error(ref, `${at}.jwksUri`, `"${jwksUri}" is not an http(s) URL; rule dropped`);
      return undefined;
    }
  }
  let fetchTimeoutMs = DEFAULT_JWKS_FETCH_TIMEOUT_MS;
  if (r.timeout !== undefined) {
    const ms = parseProtoDuration(r.timeout);
    if (ms === undefined || ms <= 0) problems.error(ref, `${at}.timeout`, `"${r.timeout}" is not a positive duration; the default 5s is used`);
    else if (ms > MAX_FETCH_TIMEOUT_MS) {
      problems.warning(ref, `${at}.timeout`, `"${r.timeout}" is longer than ${MAX_FETCH_TIMEOUT_MS / 60_000} min; capped`);
      fetchTimeoutMs = MAX_FETCH_TIMEOUT_MS;
    } else fetchTimeoutMs = ms;
  }
  const fromHeaders: { name: string; prefix: string }[] = [];
  for (const [i, h] of (r.fromHeaders ?? []).entries()) {
    const name = headerName(ref, `${at}.fromHeaders[${i}].name`, h.name, problems);
    if (name !== undefined) fromHeaders.push({ name, prefix: h.prefix ?? '' });
  }
  const outputClaimToHeaders: { header: string; claim: string }[] = [];
  for (const [i, h] of (r.outputClaimToHeaders ?? []).entries()) {
    const header = headerName(ref, `${at}.outputClaimToHeaders[${i}].header`, h.header, problems);
    if (h.claim === undefined || h.claim === '') problems.error(ref, `${at}.outputClaimToHeaders[${i}].claim`, 'claim is required');
    else if (header !== undefined) outputClaimToHeaders.push({ header, claim: h.claim });
  }
  const payloadHeader = r.outputPayloadToHeader === undefined || r.outputPayloadToHeader === ''
    ? undefined
    : headerName(ref, `${at}.outputPayloadToHeader`, r.outputPayloadToHeader, problems);
  return {
    source,
    issuer: r.issuer,
    audiences: [...(r.audiences ?? [])],
    ...(jwks !== undefined ? { jwks } : {}),
    ...(jwksUri !== undefined ? { jwksUri } : {}),
    fetchTimeoutMs,
    fromHeaders,
    fromParams: [...(r.fromParams ?? [])].filter((p) => p !== ''),
    fromCookies: [...(r.fromCookies ?? [])].filter((p) => p !== ''),
    forwardOriginalToken: r.forwardOriginalToken === true,
    ...(payloadHeader !== undefined ? { outputPayloadToHeader: payloadHeader } : {}),
    outputClaimToHeaders,
    spaceDelimitedClaims: [...(r.spaceDelimitedClaims ?? [])],
  };
}

/** undefined when the object has no targetRefs (waypoints ignore selector policies). */
export function translateRequestAuthentication(obj: KubeObject<'RequestAuthentication'>, rootNamespace: string, problems: Problems): WaypointJwtRules | undefined {
  if (!hasTargetRefs(obj)) return undefined;
  const ref = refOf(obj);
  const key = `${obj.metadata.namespace ?? ''}/${obj.metadata.name}`;
  const targets = policyTargets(obj, rootNamespace, problems);
  const spec = (obj as unknown as { spec?: { jwtRules?: readonly JwtRuleView[] } }).spec ?? {};
  const rules: JwtRule[] = [];
  for (const [i, r] of (spec.jwtRules ?? []).entries()) {
    const rule = jwtRule(r, ref, `spec.jwtRules[${i}]`, `${key}#${i}`, problems);
    if (rule !== undefined) rules.push(rule);
  }
  return { rules, targets };
}
