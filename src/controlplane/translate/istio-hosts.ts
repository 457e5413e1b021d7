// Host names in Istio networking objects: short names resolved in the object's namespace
// (istiod ResolveShortnameToFQDN), wildcard matching (pkg/config/host Name.Matches), `exportTo`
// visibility, and the Services of the snapshot by hostname.

import type { KubeObject, ObjectSnapshot } from '../../k8s/index.js';
import { serviceHostname } from './labels.js';

/**
 * istiod's ResolveShortnameToFQDN: a name without a dot is `<name>.<ns>.svc.<suffix>`; a name
 * with a dot (`reviews.default`, `*.example.com`), `*` or an IP is taken as written.
 */
export function resolveHost(host: string, namespace: string, domainSuffix: string): string {
  if (host === '*' || host.includes('.') || host.includes(':')) return host;
  return serviceHostname(host, namespace, domainSuffix);
}

/**
 * Whether `pattern` (possibly `*` or `*.suffix`) covers the concrete `hostname`: exact, `*`, or a
 * wildcard whose suffix (dot included) ends the hostname (`*.default.svc.cluster.local`).
 */
export function hostMatches(pattern: string, hostname: string): boolean {
  if (pattern === hostname || pattern === '*') return true;
  return pattern.startsWith('*') && hostname.endsWith(pattern.slice(1));
}

/**
 * `exportTo` visibility (Istio visibility.Instance): absent/empty or `*` ⇒ every namespace; `.`
 * ⇒ the object's own; `~` ⇒ none; else the namespaces listed.
 */
export function visibleFrom(exportTo: readonly string[] | undefined, objectNs: string, viewerNs: string): boolean {
  if (exportTo === undefined || exportTo.length === 0) return true;
  return exportTo.some((e) => e === '*' || (e === '.' ? objectNs === viewerNs : e === viewerNs));
}

/** The Services of a snapshot by hostname (ExternalName Services left out: not mesh services). */
export class ServiceHosts {
  private readonly byHost = new Map<string, KubeObject<'Service'>>();

  constructor(snapshot: ObjectSnapshot, domainSuffix: string) {
    for (const s of snapshot.list('Service')) {
      if (s.spec?.type === 'ExternalName') continue;
      this.byHost.set(serviceHostname(s.metadata.name, s.metadata.namespace ?? '', domainSuffix), s);
    }
  }

  get(hostname: string): KubeObject<'Service'> | undefined {
    return this.byHost.get(hostname);
  }
}
