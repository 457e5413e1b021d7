// istio.security.Authorization ⇄ the model's Authorization (upstream: ztunnel src/rbac.rs,
// `TryFrom<XdsRbac>`). Wire nesting rules → clauses → matches, as in ztunnel's copy of the proto.

import type { Authorization, Cidr, PolicyAction, PolicyScope, RbacMatch, ServiceAccountMatch, StringMatch } from '../state/index.js';
import { ipFamily } from '../state/index.js';
import { bytesToIp, enumNumber, enumOf, invalid, ipToBytes, portOf } from './wds-wire.js';

const SCOPES: readonly PolicyScope[] = ['Global', 'Namespace', 'WorkloadSelector'];
const ACTIONS: readonly PolicyAction[] = ['Allow', 'Deny'];

interface WireStringMatch {
  /** The oneof member that is set, if any. */
  readonly matchType?: 'exact' | 'prefix' | 'suffix' | 'presence';
  readonly exact?: string | null;
  readonly prefix?: string | null;
  readonly suffix?: string | null;
}

interface WireAddress {
  readonly address: Uint8Array;
  readonly length: number;
}

interface WireMatch {
  readonly namespaces: readonly WireStringMatch[];
  readonly notNamespaces: readonly WireStringMatch[];
  readonly principals: readonly WireStringMatch[];
  readonly notPrincipals: readonly WireStringMatch[];
  readonly sourceIps: readonly WireAddress[];
  readonly notSourceIps: readonly WireAddress[];
  readonly destinationIps: readonly WireAddress[];
  readonly notDestinationIps: readonly WireAddress[];
  readonly destinationPorts: readonly number[];
  readonly notDestinationPorts: readonly number[];
  readonly serviceAccounts: readonly { readonly namespace: string; readonly serviceAccount: string }[];
  readonly notServiceAccounts: readonly { readonly namespace: string; readonly serviceAccount: string }[];
}

/** istio.security.Authorization as protobufjs decodes it. */
export interface WireAuthorization {
  readonly name: string;
  readonly namespace: string;
  readonly scope: number;
  readonly action: number;
  readonly rules: readonly { readonly clauses: readonly { readonly matches: readonly WireMatch[] }[] }[];
  readonly dryRun: boolean;
}

/**
 * The Authorization, validated; throws MeshError XDS_INVALID with the reason. Stricter than
 * ztunnel, which silently drops a StringMatch without a value, an address of a bad length and
 * truncates ports: dropping entries from a policy changes what it admits, so Ambit refuses it.
 */
export function decodeAuthorization(a: WireAuthorization): Authorization {
  return {
    name: a.name,
    namespace: a.namespace,
    scope: enumOf(a.scope, SCOPES, 'scope'),
    action: enumOf(a.action, ACTIONS, 'action'),
    dryRun: a.dryRun,
    rules: a.rules.map((rule, i) =>
      rule.clauses.map((clause, j) => clause.matches.map((m, k) => decodeMatch(m, `rules[${i}].clauses[${j}].matches[${k}]`))),
    ),
  };
}

function decodeMatch(m: WireMatch, what: string): RbacMatch {
  const strings = (list: readonly WireStringMatch[], field: string): StringMatch[] => list.map((s, i) => decodeStringMatch(s, `${what}.${field}[${i}]`));
  const cidrs = (list: readonly WireAddress[], field: string): Cidr[] => list.map((c, i) => decodeCidr(c, `${what}.${field}[${i}]`));
  const ports = (list: readonly number[], field: string): number[] => list.map((p, i) => portOf(p, `${what}.${field}[${i}]`));
  const accounts = (list: WireMatch['serviceAccounts']): ServiceAccountMatch[] => list.map((x) => ({ namespace: x.namespace, serviceAccount: x.serviceAccount }));
  return {
    namespaces: strings(m.namespaces, 'namespaces'),
    notNamespaces: strings(m.notNamespaces, 'not_namespaces'),
    principals: strings(m.principals, 'principals'),
    notPrincipals: strings(m.notPrincipals, 'not_principals'),
    serviceAccounts: accounts(m.serviceAccounts),
    notServiceAccounts: accounts(m.notServiceAccounts),
    sourceIps: cidrs(m.sourceIps, 'source_ips'),
    notSourceIps: cidrs(m.notSourceIps, 'not_source_ips'),
    destinationIps: cidrs(m.destinationIps, 'destination_ips'),
    notDestinationIps: cidrs(m.notDestinationIps, 'not_destination_ips'),
    destinationPorts: ports(m.destinationPorts, 'destination_ports'),
    notDestinationPorts: ports(m.notDestinationPorts, 'not_destination_ports'),
  };
}

function decodeStringMatch(s: WireStringMatch, what: string): StringMatch {
  switch (s.matchType) {
    case 'exact':
      return { kind: 'exact', value: s.exact ?? '' };
    case 'prefix':
      return { kind: 'prefix', value: s.prefix ?? '' };
    case 'suffix':
      return { kind: 'suffix', value: s.suffix ?? '' };
    case 'presence':
      return { kind: 'presence' };
    default:
      throw invalid(`${what}: StringMatch without exact, prefix, suffix or presence`);
  }
}

function decodeCidr(c: WireAddress, what: string): Cidr {
  const ip = bytesToIp(c.address, what);
  const max = ipFamily(ip) === 4 ? 32 : 128;
  if (c.length > max) throw invalid(`${what}: invalid cidr: prefix length ${c.length} exceeds ${max}`);
  return { ip, prefixLength: c.length };
}

/** The protobufjs object of an Authorization message. */
export function authorizationToWire(a: Authorization): Record<string, unknown> {
  return {
    name: a.name,
    namespace: a.namespace,
    scope: enumNumber(a.scope, SCOPES),
    action: enumNumber(a.action, ACTIONS),
    rules: a.rules.map((rule) => ({ clauses: rule.map((clause) => ({ matches: clause.map(matchToWire) })) })),
    dryRun: a.dryRun,
  };
}

function matchToWire(m: RbacMatch): Record<string, unknown> {
  const strings = (list: readonly StringMatch[]): Record<string, unknown>[] =>
    list.map((s) => (s.kind === 'presence' ? { presence: {} } : { [s.kind]: s.value }));
  const cidrs = (list: readonly Cidr[]): Record<string, unknown>[] => list.map((c) => ({ address: ipToBytes(c.ip), length: c.prefixLength }));
  const accounts = (list: readonly ServiceAccountMatch[]): Record<string, unknown>[] =>
    list.map((x) => ({ namespace: x.namespace, serviceAccount: x.serviceAccount }));
  return {
    namespaces: strings(m.namespaces),
    notNamespaces: strings(m.notNamespaces),
    principals: strings(m.principals),
    notPrincipals: strings(m.notPrincipals),
    sourceIps: cidrs(m.sourceIps),
    notSourceIps: cidrs(m.notSourceIps),
    destinationIps: cidrs(m.destinationIps),
    notDestinationIps: cidrs(m.notDestinationIps),
    destinationPorts: [...m.destinationPorts],
    notDestinationPorts: [...m.notDestinationPorts],
    serviceAccounts: accounts(m.serviceAccounts),
    notServiceAccounts: accounts(m.notServiceAccounts),
  };
}
