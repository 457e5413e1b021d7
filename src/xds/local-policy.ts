// Converts one `policies[i]` entry of the local config (istio.security.Authorization in ztunnel's
// serde form: rules → clauses → matches, StringMatch as an externally tagged enum) into the model.

import {
  parseCidr,
  type Authorization,
  type Cidr,
  type RbacMatch,
  type ServiceAccountMatch,
  type StringMatch,
} from '../state/index.js';
import { isPlainObject, type YamlPath, type YamlReader } from './yaml-reader.js';

const POLICY_FIELDS = ['name', 'namespace', 'scope', 'action', 'rules', 'dryRun'] as const;
const MATCH_FIELDS = [
  'namespaces', 'notNamespaces', 'principals', 'notPrincipals', 'serviceAccounts', 'notServiceAccounts',
  'sourceIps', 'notSourceIps', 'destinationIps', 'notDestinationIps', 'destinationPorts', 'notDestinationPorts',
] as const;
const STRING_MATCH_TAGS = ['Exact', 'Prefix', 'Suffix', 'Presence'] as const;

/** `{Exact: x}` | `{Prefix: x}` | `{Suffix: x}` | `{Presence: []}` (also `{}` or null as the value). */
function readStringMatch(r: YamlReader, value: unknown, path: YamlPath): StringMatch | undefined {
  if (!isPlainObject(value) || Object.keys(value).length !== 1) {
    r.fail(path, 'expected a StringMatch: exactly one of {Exact: x}, {Prefix: x}, {Suffix: x}, {Presence: []}');
    return undefined;
  }
  const [tag, v] = Object.entries(value)[0] as [string, unknown];
  switch (tag) {
    case 'Exact':
    case 'Prefix':
    case 'Suffix': {
      if (typeof v !== 'string') {
        r.fail([...path, tag], `${tag} needs a string value`);
        return undefined;
      }
      return { kind: tag === 'Exact' ? 'exact' : tag === 'Prefix' ? 'prefix' : 'suffix', value: v };
    }
    case 'Presence': {
      const empty = v === null || (Array.isArray(v) && v.length === 0) || (isPlainObject(v) && Object.keys(v).length === 0);
      if (!empty) r.fail([...path, tag], 'Presence takes no value: write {Presence: []}');
      return { kind: 'presence' };
    }
    default:
      r.fail([...path, tag], `unknown StringMatch variant "${tag}"; expected one of: ${STRING_MATCH_TAGS.join(', ')}`, true);
      return undefined;
  }
}

function readServiceAccount(r: YamlReader, value: unknown, path: YamlPath): ServiceAccountMatch | undefined {
  const o = r.object(value, path, ['namespace', 'serviceAccount'], ['namespace', 'serviceAccount']);
  if (o === undefined) return undefined;
  return { namespace: r.string(o.namespace, [...path, 'namespace']), serviceAccount: r.string(o.serviceAccount, [...path, 'serviceAccount']) };
}

function readCidr(r: YamlReader, value: unknown, path: YamlPath): Cidr | undefined {
  if (typeof value !== 'string') {
    r.fail(path, `expected a CIDR string such as "10.0.0.0/8", got ${JSON.stringify(value)}`);
    return undefined;
  }
  const parsed = parseCidr(value);
  if (typeof parsed === 'string') {
    r.fail(path, parsed);
    return undefined;
  }
  return parsed;
}

function readMatch(r: YamlReader, value: unknown, path: YamlPath): RbacMatch | undefined {
  const o = r.object(value, path, MATCH_FIELDS);
  if (o === undefined) return undefined;
  const many = <T>(key: (typeof MATCH_FIELDS)[number], one: (r: YamlReader, v: unknown, p: YamlPath) => T | undefined): T[] =>
    r
      .list(o[key], [...path, key])
      .map((v, i) => one(r, v, [...path, key, i]))
      .filter((v): v is T => v !== undefined);
  const port = (rr: YamlReader, v: unknown, p: YamlPath): number | undefined => rr.port(v, p) || undefined;
  return {
    namespaces: many('namespaces', readStringMatch),
    notNamespaces: many('notNamespaces', readStringMatch),
    principals: many('principals', readStringMatch),
    notPrincipals: many('notPrincipals', readStringMatch),
    serviceAccounts: many('serviceAccounts', readServiceAccount),
    notServiceAccounts: many('notServiceAccounts', readServiceAccount),
    sourceIps: many('sourceIps', readCidr),
    notSourceIps: many('notSourceIps', readCidr),
    destinationIps: many('destinationIps', readCidr),
    notDestinationIps: many('notDestinationIps', readCidr),
    destinationPorts: many('destinationPorts', port),
    notDestinationPorts: many('notDestinationPorts', port),
  };
}

export function readPolicy(r: YamlReader, value: unknown, path: YamlPath): Authorization | undefined {
  const o = r.object(value, path, POLICY_FIELDS, ['name', 'namespace', 'scope', 'action']);
  if (o === undefined) return undefined;
  const p = (k: string): YamlPath => [...path, k];
  const rules = r.list(o.rules, p('rules')).map((rule, i) =>
    r.list(rule, [...p('rules'), i]).map((clause, j) =>
      r
        .list(clause, [...p('rules'), i, j])
        .map((m, k) => readMatch(r, m, [...p('rules'), i, j, k]))
        .filter((m) => m !== undefined),
    ),
  );
  return {
    name: r.string(o.name, p('name')),
    namespace: r.string(o.namespace, p('namespace')),
    scope: r.enumOf(o.scope, p('scope'), ['Global', 'Namespace', 'WorkloadSelector'] as const, 'Namespace'),
    action: r.enumOf(o.action, p('action'), ['Allow', 'Deny'] as const, 'Allow'),
    dryRun: r.bool(o.dryRun, p('dryRun')),
    rules,
  };
}
