// The checks istiod's admission webhook makes on a ServiceEntry (istio pkg/config/validation
// ValidateServiceEntry), as per-object problems with field paths. A ServiceEntry failing one never
// exists in a cluster with Istio; here it is left out as a whole and reported.

import type { KubeObject } from '../../k8s/index.js';
import { canonicalIp, parseCidr } from '../../state/index.js';
import { refOf, type Problems } from './types.js';

export type ServiceEntryObject = KubeObject<'ServiceEntry'>;
export type ServiceEntrySpec = NonNullable<ServiceEntryObject['spec']>;
export type ServiceEntryPort = NonNullable<ServiceEntrySpec['ports']>[number];
export type ServiceEntryEndpoint = NonNullable<ServiceEntrySpec['endpoints']>[number];
export type Resolution = NonNullable<ServiceEntrySpec['resolution']>;

/** Istio's protocol names (pkg/config/protocol Parse, case-insensitive); '' = sniffed. */
const PROTOCOLS = ['tcp', 'udp', 'grpc', 'grpc-web', 'http', 'http_proxy', 'http2', 'https', 'tls', 'mongo', 'redis', 'mysql', 'thrift'];
const HTTP_PROTOCOLS = ['http', 'http_proxy', 'http2', 'grpc', 'grpc-web'];
const TLS_PROTOCOLS = ['https', 'tls'];

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** istio labels.IsWildcardDNS1123Label: `*`, or a label optionally prefixed by `*` or `*-`. */
const WILDCARD_LABEL = /^(\*|(\*|\*-)?[a-z0-9]([-a-z0-9]*[a-z0-9])?)$/;

/** The resolution as istiod reads it: absent is NONE (the proto's zero value). */
export function resolutionOf(se: ServiceEntryObject): Resolution {
  return se.spec?.resolution ?? 'NONE';
}

export function isWildcardHost(host: string): boolean {
  return host.startsWith('*');
}

/** Istio protocol.Parse: the lower-cased name when known, undefined when unsupported. */
export function protocolOf(p: ServiceEntryPort): string | undefined {
  const v = (p.protocol ?? '').toLowerCase();
  return v === '' || PROTOCOLS.includes(v) ? v : undefined;
}

/** validateDNS1123Labels: every label valid, the top-level one not all digits (a trailing dot allowed). */
function dnsLabelsProblem(domain: string): string | undefined {
  const parts = domain.split('.');
  const tld = parts[parts.length - 1] ?? '';
  if (/^\d+$/.test(tld)) return `top level domain "${tld}" cannot be all-numeric`;
  for (const [i, label] of parts.entries()) {
    if (i === parts.length - 1 && label === '' && i > 0) return undefined;
    if (label.length > 63 || !DNS1123_LABEL.test(label)) return `label "${label}" invalid`;
  }
  return undefined;
}

/** ValidateWildcardDomain: a DNS name, `*` allowed only in the first label. */
export function wildcardDomainProblem(domain: string): string | undefined {
  if (domain.length === 0) return 'empty domain name not allowed';
  if (domain.length > 255) return 'domain name too long (max 255)';
  const dot = domain.indexOf('.');
  const first = dot < 0 ? domain : domain.slice(0, dot);
  if (!WILDCARD_LABEL.test(first) || first.length > 63) return `label "${first}" invalid`;
  return dot < 0 ? undefined : dnsLabelsProblem(domain.slice(dot + 1));
}

/** ValidateFQDN: a DNS name without wildcards. */
export function fqdnProblem(domain: string): string | undefined {
  if (domain.length === 0) return 'empty domain name not allowed';
  if (domain.length > 255) return 'domain name too long (max 255)';
  return dnsLabelsProblem(domain);
}

function isIpOrCidr(text: string): boolean {
  return text.includes('/') ? typeof parseCidr(text) !== 'string' : canonicalIp(text) !== undefined;
}

/** visibility.Instance.Validate: `.`, `*`, `~`, or a namespace name. */
function exportToProblem(value: string): string | undefined {
  if (value === '.' || value === '*' || value === '~') return undefined;
  return value.length <= 63 && DNS1123_LABEL.test(value) ? undefined : `"${value}" is neither ".", "*", "~" nor a namespace name`;
}

/**
 * Every webhook check, reported with its field path. Returns false when the ServiceEntry is invalid
 * (left out). Warnings for what is valid but not honoured here do not make it invalid.
 */
export function checkServiceEntry(se: ServiceEntryObject, problems: Problems): boolean {
  const ref = refOf(se);
  const spec = se.spec ?? {};
  let ok = true;
  const error = (field: string, reason: string): void => {
    ok = false;
    problems.error(ref, field, `${reason}; the ServiceEntry is left out`);
  };
  const hosts = spec.hosts ?? [];
  const resolution = resolutionOf(se);
  if (hosts.length === 0) error('spec.hosts', 'service entry must have at least one host');
  hosts.forEach((h, i) => {
    if (h === '*') return error(`spec.hosts[${i}]`, 'invalid host *');
    const why = wildcardDomainProblem(h);
    if (why !== undefined) error(`spec.hosts[${i}]`, `domain name "${h}" invalid (${why})`);
  });
  let cidr = false;
  (spec.addresses ?? []).forEach((a, i) => {
    cidr ||= a.includes('/');
    if (!isIpOrCidr(a)) error(`spec.addresses[${i}]`, `${a} is not a valid IP address or CIDR block`);
  });
  if (cidr && resolution !== 'NONE' && resolution !== 'STATIC') error('spec.addresses', 'CIDR addresses are allowed only for NONE/STATIC resolution types');

  const portNames = new Set<string>();
  const portNumbers = new Set<number>();
  (spec.ports ?? []).forEach((p, i) => {
    const at = `spec.ports[${i}]`;
    const name = p.name ?? '';
    if (name.length > 63 || !DNS1123_LABEL.test(name)) error(`${at}.name`, `invalid port name: "${name}"`);
    else if (portNames.has(name)) error(`${at}.name`, `service entry port name "${name}" already defined`);
    portNames.add(name);
    const n = p.number ?? 0;
    if (!Number.isInteger(n) || n < 1 || n > 65535) error(`${at}.number`, `port number ${n} must be in the range 1..65535`);
    else if (portNumbers.has(n)) error(`${at}.number`, `service entry port ${n} already defined`);
    portNumbers.add(n);
    if (p.targetPort !== undefined && (!Number.isInteger(p.targetPort) || p.targetPort < 1 || p.targetPort > 65535)) {
      error(`${at}.targetPort`, `targetPort ${p.targetPort} must be in the range 1..65535`);
    }
    const proto = protocolOf(p);
    if (proto === undefined) error(`${at}.protocol`, `unsupported protocol: ${p.protocol}`);
    else if (proto === 'udp') problems.warning(ref, `${at}.protocol`, 'UDP is not carried by node agents (TCP only); connections on this port are TCP');
  });

  const endpoints = spec.endpoints ?? [];
  if (spec.workloadSelector !== undefined && endpoints.length > 0) error('spec', 'only one of WorkloadSelector or Endpoints is allowed in Service Entry');
  for (const [k, v] of Object.entries(spec.workloadSelector?.labels ?? {})) {
    if (k === '' || v.length > 63) error(`spec.workloadSelector.labels[${k}]`, 'invalid label');
  }
  if (resolution === 'NONE' && endpoints.length > 0) error('spec.endpoints', 'no endpoints should be provided for resolution type none');
  if (resolution === 'DNS_ROUND_ROBIN' && endpoints.length > 1) error('spec.endpoints', 'there must only be 0 or 1 endpoint for resolution type DNS_ROUND_ROBIN');
  if ((resolution === 'DNS' || resolution === 'DNS_ROUND_ROBIN') && endpoints.length === 0) {
    hosts.forEach((h, i) => {
      if (fqdnProblem(h) !== undefined) error(`spec.hosts[${i}]`, `hosts must be FQDN if no endpoints are provided for resolution mode ${resolution}`);
    });
  }
  endpoints.forEach((ep, i) => checkEndpoint(ep, `spec.endpoints[${i}]`, resolution, portNames, error));

  // Plain TCP cannot tell hosts apart: several hosts need HTTP or TLS on every port, unless the
  // hosts are ignored (resolution NONE).
  if (resolution !== 'NONE' && hosts.length > 1) {
    const opaque = (spec.ports ?? []).some((p) => {
      const proto = protocolOf(p) ?? '';
      return !HTTP_PROTOCOLS.includes(proto) && !TLS_PROTOCOLS.includes(proto);
    });
    if (opaque) error('spec.hosts', 'multiple hosts provided with non-HTTP, non-TLS ports');
  }

  const exported = new Set<string>();
  (spec.exportTo ?? []).forEach((e, i) => {
    const why = exportToProblem(e);
    if (why !== undefined) error(`spec.exportTo[${i}]`, why);
    const key = e === '.' ? (se.metadata.namespace ?? '') : e;
    if (exported.has(key)) error(`spec.exportTo[${i}]`, `duplicate entries in exportTo for entry ${e}`);
    exported.add(key);
  });
  if (ok && (spec.exportTo ?? []).some((e) => e !== '*')) {
    problems.warning(ref, 'spec.exportTo', 'exportTo is not enforced by node agents (as in Istio ambient): every namespace sees these hosts');
  }
  return ok;
}

function checkEndpoint(
  ep: ServiceEntryEndpoint,
  at: string,
  resolution: Resolution,
  portNames: ReadonlySet<string>,
  error: (field: string, reason: string) => void,
): void {
  const address = ep.address ?? '';
  if (address.startsWith('unix://')) {
    error(`${at}.address`, 'unix domain socket endpoints are not supported by node agents');
  } else if (resolution === 'STATIC') {
    if (canonicalIp(address) === undefined) error(`${at}.address`, `${address} is not a valid IP`);
  } else if (canonicalIp(address) === undefined && fqdnProblem(address) !== undefined) {
    error(`${at}.address`, `endpoint address "${address}" is not a valid FQDN or an IP address`);
  }
  for (const [name, port] of Object.entries(ep.ports ?? {})) {
    if (!portNames.has(name)) error(`${at}.ports[${name}]`, `endpoint port ${port} is not defined by the service entry`);
    if (!Number.isInteger(port) || port < 1 || port > 65535) error(`${at}.ports[${name}]`, `port number ${port} must be in the range 1..65535`);
  }
  if (ep.weight !== undefined && (!Number.isInteger(ep.weight) || ep.weight < 0 || ep.weight > 0xffffffff)) error(`${at}.weight`, `weight ${ep.weight} must be a 32-bit unsigned integer`);
  for (const [k, v] of Object.entries(ep.labels ?? {})) {
    if (k === '' || v.length > 63) error(`${at}.labels[${k}]`, 'invalid label');
  }
}
