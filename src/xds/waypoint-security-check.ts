// Shape check of WaypointConfig.security (src/waypoint/model/security-model.ts) received as JSON:
// types and enums only. Values (CIDRs, path templates, inline JWKS) are compiled by the waypoint,
// which fails closed on the ones it cannot use; here a wrong type NACKs the config (XDS_INVALID).

import type { WaypointSecurityConfig } from '../waypoint/model/security-model.js';
import { invalid } from './wds-wire.js';

type Json = unknown;
const ACTIONS = ['ALLOW', 'DENY', 'AUDIT', 'CUSTOM'];
const SOURCE_FIELDS = [
  'principals', 'notPrincipals', 'requestPrincipals', 'notRequestPrincipals', 'namespaces', 'notNamespaces',
  'serviceAccounts', 'notServiceAccounts', 'ipBlocks', 'notIpBlocks', 'remoteIpBlocks', 'notRemoteIpBlocks',
] as const;
const OPERATION_STRING_FIELDS = ['hosts', 'notHosts', 'methods', 'notMethods', 'paths', 'notPaths'] as const;

const isObj = (v: Json): v is Record<string, Json> => typeof v === 'object' && v !== null && !Array.isArray(v);

function obj(v: Json, at: string): Record<string, Json> {
  if (!isObj(v)) throw invalid(`${at}: expected an object`);
  return v;
}
function arr(v: Json, at: string, optional = false): readonly Json[] {
  if (v === undefined && optional) return [];
  if (!Array.isArray(v)) throw invalid(`${at}: expected an array`);
  return v;
}
function str(v: Json, at: string, optional = false): void {
  if (v === undefined && optional) return;
  if (typeof v !== 'string') throw invalid(`${at}: expected a string`);
}
function strings(v: Json, at: string): void {
  for (const [i, s] of arr(v, at, true).entries()) str(s, `${at}[${i}]`);
}
function int(v: Json, at: string, min: number, max: number, optional = false): void {
  if (v === undefined && optional) return;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw invalid(`${at}: expected an integer in ${min}..${max}`);
}
function bool(v: Json, at: string, optional = false): void {
  if (v === undefined && optional) return;
  if (typeof v !== 'boolean') throw invalid(`${at}: expected a boolean`);
}

/** Throws XDS_INVALID naming the first badly typed field under `security`. */
export function checkWaypointSecurity(value: Json, at = 'security'): WaypointSecurityConfig {
  const s = obj(value, at);
  int(s.xffTrustedHops, `${at}.xffTrustedHops`, 0, 64, true);
  for (const [i, p] of arr(s.authorization, `${at}.authorization`).entries()) checkPolicy(obj(p, `${at}.authorization[${i}]`), `${at}.authorization[${i}]`);
  for (const [i, r] of arr(s.jwtRules, `${at}.jwtRules`).entries()) checkJwtRule(obj(r, `${at}.jwtRules[${i}]`), `${at}.jwtRules[${i}]`);
  return value as WaypointSecurityConfig;
}

function checkPolicy(p: Record<string, Json>, at: string): void {
  str(p.namespace, `${at}.namespace`);
  str(p.name, `${at}.name`);
  if (typeof p.action !== 'string' || !ACTIONS.includes(p.action)) throw invalid(`${at}.action: expected one of ${ACTIONS.join(', ')}`);
  if (p.services !== undefined) strings(p.services, `${at}.services`);
  bool(p.dryRun, `${at}.dryRun`, true);
  for (const [i, r] of arr(p.rules, `${at}.rules`).entries()) {
    const rat = `${at}.rules[${i}]`;
    const rule = obj(r, rat);
    for (const [j, f] of arr(rule.from, `${rat}.from`, true).entries()) {
      const src = obj(f, `${rat}.from[${j}]`);
      for (const k of SOURCE_FIELDS) strings(src[k], `${rat}.from[${j}].${k}`);
    }
    for (const [j, t] of arr(rule.to, `${rat}.to`, true).entries()) {
      const op = obj(t, `${rat}.to[${j}]`);
      for (const k of OPERATION_STRING_FIELDS) strings(op[k], `${rat}.to[${j}].${k}`);
      for (const k of ['ports', 'notPorts'] as const) {
        for (const [n, port] of arr(op[k], `${rat}.to[${j}].${k}`, true).entries()) int(port, `${rat}.to[${j}].${k}[${n}]`, 0, 65535);
      }
    }
    for (const [j, w] of arr(rule.when, `${rat}.when`, true).entries()) {
      const c = obj(w, `${rat}.when[${j}]`);
      str(c.key, `${rat}.when[${j}].key`);
      strings(c.values, `${rat}.when[${j}].values`);
      strings(c.notValues, `${rat}.when[${j}].notValues`);
    }
  }
}

function checkJwtRule(r: Record<string, Json>, at: string): void {
  str(r.source, `${at}.source`);
  if (r.services !== undefined) strings(r.services, `${at}.services`);
  str(r.issuer, `${at}.issuer`);
  strings(r.audiences, `${at}.audiences`);
  arr(r.audiences, `${at}.audiences`);
  str(r.jwks, `${at}.jwks`, true);
  str(r.jwksUri, `${at}.jwksUri`, true);
  int(r.fetchTimeoutMs, `${at}.fetchTimeoutMs`, 1, 3_600_000);
  for (const [i, h] of arr(r.fromHeaders, `${at}.fromHeaders`).entries()) {
    const o = obj(h, `${at}.fromHeaders[${i}]`);
    str(o.name, `${at}.fromHeaders[${i}].name`);
    str(o.prefix, `${at}.fromHeaders[${i}].prefix`);
  }
  arr(r.fromParams, `${at}.fromParams`);
  strings(r.fromParams, `${at}.fromParams`);
  arr(r.fromCookies, `${at}.fromCookies`);
  strings(r.fromCookies, `${at}.fromCookies`);
  bool(r.forwardOriginalToken, `${at}.forwardOriginalToken`);
  str(r.outputPayloadToHeader, `${at}.outputPayloadToHeader`, true);
  for (const [i, h] of arr(r.outputClaimToHeaders, `${at}.outputClaimToHeaders`).entries()) {
    const o = obj(h, `${at}.outputClaimToHeaders[${i}]`);
    str(o.header, `${at}.outputClaimToHeaders[${i}].header`);
    str(o.claim, `${at}.outputClaimToHeaders[${i}].claim`);
  }
  arr(r.spaceDelimitedClaims, `${at}.spaceDelimitedClaims`);
  strings(r.spaceDelimitedClaims, `${at}.spaceDelimitedClaims`);
}
