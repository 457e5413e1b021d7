// Validation of one object as an API server would: kind and apiVersion known, metadata.name a valid
// name for the kind, namespace present exactly for namespaced kinds, then the upstream schema.
//
// Messages for names follow the API server's own (apimachinery validation) word for word, so a
// rejection reads the same whether it came from `kubectl apply` or from Ambit.

import { KIND_INFO, type Kind, type KubeObject, type ObjectRejection } from './objects.js';
import { describeValue, schemaProblems, type FieldProblem } from './schema-models.js';

export type { FieldProblem } from './schema-models.js';

/** What is known of a refused object's identity (for the rejection, and to keep its last version). */
export interface ObjectIdentity {
  readonly kind?: string;
  readonly namespace?: string;
  readonly name?: string;
}

export type Validation =
  | { readonly ok: true; readonly object: KubeObject }
  | { readonly ok: false; readonly identity: ObjectIdentity; readonly problems: readonly FieldProblem[] };

export function isKind(kind: unknown): kind is Kind {
  return typeof kind === 'string' && Object.prototype.hasOwnProperty.call(KIND_INFO, kind);
}

/** `group/version` (or `version` for the core group) of each accepted version of `kind`. */
export function apiVersionsOf(kind: Kind): string[] {
  const { group, versions } = KIND_INFO[kind];
  return versions.map((v) => (group === '' ? v : `${group}/${v}`));
}

/** The version part of `apiVersion` if it is one accepted for `kind`. */
export function acceptedVersion(kind: Kind, apiVersion: string): string | undefined {
  const { group, versions } = KIND_INFO[kind];
  const slash = apiVersion.lastIndexOf('/');
  const g = slash < 0 ? '' : apiVersion.slice(0, slash);
  const v = slash < 0 ? apiVersion : apiVersion.slice(slash + 1);
  return g === group && versions.includes(v) ? v : undefined;
}

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

const LABEL_MSG =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const SUBDOMAIN_MSG =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const DNS1035_MSG =
  "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";

type NameRule = 'label' | 'subdomain' | 'dns1035';

/**
 * The API server's name rule per kind: Namespace names are labels (they become DNS labels),
 * Service names DNS-1035 labels (they become DNS names and env var prefixes), everything else
 * (Pods, ServiceAccounts, Nodes, EndpointSlices and every custom resource) subdomains.
 */
const NAME_RULES: Partial<Record<Kind, NameRule>> = { Namespace: 'label', Service: 'dns1035' };

/** Problems of `value` as a name under `rule`, in the API server's words; empty when valid. */
export function nameProblems(value: string, rule: NameRule): string[] {
  const [max, re, msg] =
    rule === 'label' ? [63, DNS1123_LABEL, LABEL_MSG] : rule === 'dns1035' ? [63, DNS1035_LABEL, DNS1035_MSG] : [253, DNS1123_SUBDOMAIN, SUBDOMAIN_MSG];
  const out: string[] = [];
  if (value.length > max) out.push(`must be no more than ${max} characters`);
  if (!re.test(value)) out.push(msg);
  return out;
}

function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Validates a parsed object. The namespace is taken as given: a caller that defaults it (the
 * manifests source: `default`) does so before calling. On success the same object is returned,
 * typed; it is not copied or changed.
 */
export function validateObject(input: unknown): Validation {
  if (!isMap(input)) {
    return { ok: false, identity: {}, problems: [{ path: '(object)', reason: `expected a Kubernetes object (a map), got ${describeValue(input)}` }] };
  }
  const problems: FieldProblem[] = [];
  const meta = isMap(input['metadata']) ? input['metadata'] : undefined;
  const identity: ObjectIdentity = {
    ...(typeof input['kind'] === 'string' ? { kind: input['kind'] } : {}),
    ...(typeof meta?.['namespace'] === 'string' && meta['namespace'] !== '' ? { namespace: meta['namespace'] } : {}),
    ...(typeof meta?.['name'] === 'string' && meta['name'] !== '' ? { name: meta['name'] } : {}),
  };

  const kind = input['kind'];
  const apiVersion = input['apiVersion'];
  let version: string | undefined;
  if (typeof apiVersion !== 'string' || apiVersion === '') {
    problems.push({ path: 'apiVersion', reason: apiVersion === undefined ? 'required field is missing' : `must be a non-empty string, got ${describeValue(apiVersion)}` });
  }
  if (typeof kind !== 'string' || kind === '') {
    problems.push({ path: 'kind', reason: kind === undefined ? 'required field is missing' : `must be a non-empty string, got ${describeValue(kind)}` });
  } else if (!isKind(kind)) {
    problems.push({ path: 'kind', reason: `unknown kind "${kind}"; Ambit reads: ${Object.keys(KIND_INFO).join(', ')}` });
  } else if (typeof apiVersion === 'string' && apiVersion !== '') {
    version = acceptedVersion(kind, apiVersion);
    if (version === undefined) {
      problems.push({ path: 'apiVersion', reason: `"${apiVersion}" is not a served version of ${kind}; accepted: ${apiVersionsOf(kind).join(', ')}` });
    }
  }

  if (meta === undefined) {
    problems.push({ path: 'metadata', reason: input['metadata'] === undefined ? 'required field is missing' : `must be a map, got ${describeValue(input['metadata'])}` });
  } else {
    const name = meta['name'];
    if (name === undefined || name === null || name === '') {
      problems.push({ path: 'metadata.name', reason: 'name or generateName is required' + (meta['generateName'] !== undefined ? ' (generateName is not supported: objects here are applied, not created)' : '') });
    } else if (typeof name !== 'string') {
      problems.push({ path: 'metadata.name', reason: `must be a string, got ${describeValue(name)}` });
    } else {
      const rule = isKind(kind) ? (NAME_RULES[kind] ?? 'subdomain') : 'subdomain';
      for (const reason of nameProblems(name, rule)) problems.push({ path: 'metadata.name', reason });
    }
    if (isKind(kind)) problems.push(...namespaceProblems(kind, meta['namespace']));
  }

  // The schema is only known once kind and version are; its checks run alongside the others so
  // that one rejection lists every problem of the object.
  if (isKind(kind) && version !== undefined) problems.push(...schemaProblems(kind, version, input));
  if (problems.length > 0) return { ok: false, identity, problems };
  return { ok: true, object: input as unknown as KubeObject };
}

function namespaceProblems(kind: Kind, ns: unknown): FieldProblem[] {
  const path = 'metadata.namespace';
  if (!KIND_INFO[kind].namespaced) {
    return ns === undefined || ns === null || ns === '' ? [] : [{ path, reason: `not allowed on this type (${kind} is cluster-scoped)` }];
  }
  if (ns === undefined || ns === null || ns === '') return [{ path, reason: `required for namespaced kind ${kind}` }];
  if (typeof ns !== 'string') return [{ path, reason: `must be a string, got ${describeValue(ns)}` }];
  return nameProblems(ns, 'label').map((reason) => ({ path, reason }));
}

export interface RejectionPlace {
  /** The file, or `cluster`. */
  readonly source: string;
  readonly documentIndex?: number;
  /** Prepended to each field path, e.g. `items[2]` for an item of a List. */
  readonly pathPrefix?: string;
}

/**
 * The ObjectRejection of a failed validation: the first problem's path and reason; further
 * problems follow in the reason (`...; also: spec.x: reason`) so nothing is hidden.
 */
export function rejectionOf(place: RejectionPlace, identity: ObjectIdentity, problems: readonly FieldProblem[]): ObjectRejection {
  const prefixed = problems.map((p) => ({ path: prefix(place.pathPrefix, p.path), reason: p.reason }));
  const [first, ...rest] = prefixed;
  const reason = (first?.reason ?? 'invalid') + (rest.length === 0 ? '' : `; also: ${rest.map((p) => `${p.path}: ${p.reason}`).join('; ')}`);
  return {
    source: place.source,
    ...(place.documentIndex !== undefined ? { documentIndex: place.documentIndex } : {}),
    ...identity,
    path: first?.path ?? prefix(place.pathPrefix, '(object)'),
    reason,
  };
}

function prefix(pre: string | undefined, path: string): string {
  if (pre === undefined || pre === '') return path;
  if (path === '(object)') return pre;
  return path.startsWith('[') ? `${pre}${path}` : `${pre}.${path}`;
}
