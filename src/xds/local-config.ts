// Parses ztunnel's local config YAML (LOCAL_XDS_PATH / LOCAL_XDS, ztunnel src/xds.rs LocalConfig)
// into a validated, deep-frozen StateSnapshot, collecting every problem into one CONFIG_INVALID
// error.

import { LineCounter, parseDocument } from 'yaml';
import { MeshError } from '../common/errors.js';
import { deepFreeze } from '../config/index.js';
import {
  networkAddressKey,
  policyKey,
  serviceKey,
  type Authorization,
  type PortMap,
  type Service,
  type StateSnapshot,
  type Workload,
} from '../state/index.js';
import { readPolicy } from './local-policy.js';
import { readService, type InlineEndpoint } from './local-service.js';
import { readWorkload } from './local-workload.js';
import { YamlReader } from './yaml-reader.js';

export interface ParsedLocalConfig {
  readonly snapshot: StateSnapshot;
  /** Non-fatal findings (unknown policy keys, services without a definition, IP conflicts). */
  readonly warnings: readonly string[];
}

/**
 * Parses and validates `text`; `source` names it in messages (a file path, or `LOCAL_XDS`).
 * Throws MeshError CONFIG_INVALID listing every problem as `source:line:col: path: reason`.
 */
export function parseLocalConfig(text: string, source: string): ParsedLocalConfig {
  const lines = new LineCounter();
  // logLevel 'error': the yaml library would print its own warnings (e.g. a map used as a key) as
  // process warnings on stderr; such input is rejected below with a path instead.
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false, logLevel: 'error' });
  const r = new YamlReader(source, doc, lines);
  for (const e of doc.errors) {
    const pos = lines.linePos(e.pos[0]);
    r.errors.push(`${source}:${pos.line}:${pos.col}: YAML syntax: ${e.message.split('\n')[0] ?? e.code}`);
  }
  if (doc.errors.length > 0) throw invalid(source, r.errors);

  let root: unknown;
  try {
    root = doc.toJS({ maxAliasCount: 1000 });
  } catch (err) {
    // Aliases resolve here, not in parseDocument: an alias without its anchor, or one expanding
    // past maxAliasCount (a "billion laughs" document), throws a ReferenceError.
    throw invalid(source, [`${source}: YAML aliases: ${(err as Error).message}`]);
  }
  const top = root === null || root === undefined ? {} : r.object(root, [], ['workloads', 'services', 'policies']) ?? {};

  const workloads: Workload[] = [];
  r.list(top.workloads, ['workloads']).forEach((v, i) => {
    const w = readWorkload(r, v, ['workloads', i]);
    if (w !== undefined) workloads.push(w);
  });
  const services: Service[] = [];
  const inline: InlineEndpoint[] = [];
  r.list(top.services, ['services']).forEach((v, i) => {
    const s = readService(r, v, ['services', i]);
    if (s === undefined) return;
    services.push(s.service);
    inline.push(...s.endpoints.map((ep) => ({ ...ep, serviceKey: serviceKey(s.service.namespace, s.service.hostname) })));
  });
  const policies: Authorization[] = [];
  r.list(top.policies, ['policies']).forEach((v, i) => {
    const p = readPolicy(r, v, ['policies', i]);
    if (p !== undefined) policies.push(p);
  });

  checkDuplicates(r, workloads, services, policies);
  const merged = foldInlineEndpoints(r, workloads, inline as (InlineEndpoint & { serviceKey: string })[]);
  crossCheck(r, merged, services, policies);
  if (r.errors.length > 0) throw invalid(source, r.errors);
  return { snapshot: deepFreeze({ workloads: merged, services, policies }), warnings: r.warnings };
}

function invalid(source: string, errors: readonly string[]): MeshError {
  const n = errors.length;
  return new MeshError(
    'CONFIG_INVALID',
    `invalid local config ${source}: ${n} problem${n === 1 ? '' : 's'}:\n${errors.map((e) => `  - ${e}`).join('\n')}`,
  );
}

function checkDuplicates(r: YamlReader, workloads: Workload[], services: Service[], policies: Authorization[]): void {
  const seen = new Map<string, number>();
  workloads.forEach((w, i) => {
    const first = seen.get(w.uid);
    if (first !== undefined) r.fail(['workloads', i, 'uid'], `duplicate workload uid "${w.uid}" (also workloads[${first}])`);
    else seen.set(w.uid, i);
  });
  const svc = new Map<string, number>();
  services.forEach((s, i) => {
    const key = serviceKey(s.namespace, s.hostname);
    const first = svc.get(key);
    if (first !== undefined) r.fail(['services', i, 'hostname'], `duplicate service "${key}" (also services[${first}])`);
    else svc.set(key, i);
  });
  const pol = new Map<string, number>();
  policies.forEach((p, i) => {
    const key = policyKey(p.namespace, p.name);
    const first = pol.get(key);
    if (first !== undefined) r.fail(['policies', i, 'name'], `duplicate policy "${key}" (also policies[${first}])`);
    else pol.set(key, i);
  });
}

/**
 * Endpoints written on a service (`services[i].endpoints`) become entries of the named workload's
 * `services` map, because the state model derives endpoints from workloads only. A workload's own
 * entry wins; the inline status is not kept (the workload's status is the endpoint's status).
 */
function foldInlineEndpoints(
  r: YamlReader,
  workloads: Workload[],
  inline: readonly (InlineEndpoint & { serviceKey: string })[],
): Workload[] {
  if (inline.length === 0) return workloads;
  const extra = new Map<string, Map<string, PortMap>>();
  const known = new Set(workloads.map((w) => w.uid));
  for (const ep of inline) {
    if (!known.has(ep.workloadUid)) {
      r.warn(ep.path, `endpoint names unknown workload uid "${ep.workloadUid}"; ignored`);
      continue;
    }
    let m = extra.get(ep.workloadUid);
    if (m === undefined) extra.set(ep.workloadUid, (m = new Map()));
    m.set(ep.serviceKey, ep.port);
  }
  return workloads.map((w) => {
    const add = extra.get(w.uid);
    if (add === undefined) return w;
    const services = new Map(add);
    for (const [k, v] of w.services) services.set(k, v);
    return { ...w, services };
  });
}

function crossCheck(r: YamlReader, workloads: Workload[], services: Service[], policies: Authorization[]): void {
  const serviceKeys = new Set(services.map((s) => serviceKey(s.namespace, s.hostname)));
  const policyKeys = new Set(policies.map((p) => policyKey(p.namespace, p.name)));
  const addresses = new Map<string, number>();
  workloads.forEach((w, i) => {
    for (const key of w.services.keys()) {
      if (!serviceKeys.has(key)) r.warn(['workloads', i, 'services', key], `service "${key}" is not defined; endpoint is staged`);
    }
    w.authorizationPolicies.forEach((key, j) => {
      if (!policyKeys.has(key)) r.warn(['workloads', i, 'authorizationPolicies', j], `policy "${key}" is not defined; skipped`);
    });
    if (w.networkMode === 'HostNetwork') return;
    for (const ip of w.workloadIps) {
      const key = networkAddressKey(w.network, ip);
      const first = addresses.get(key);
      if (first !== undefined) r.warn(['workloads', i, 'workloadIps'], `address ${key} is also used by workloads[${first}]`);
      else addresses.set(key, i);
    }
  });
}
