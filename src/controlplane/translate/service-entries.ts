// ServiceEntries → istio.workload.Service, one per host (istiod ambient services.go
// serviceEntriesInfo / constructServiceEntries), and the rule for hostnames defined more than once
// (istiod selectWorkloadServices): per namespace a Kubernetes Service wins, else the oldest entry;
// across namespaces one service per hostname is canonical.

import type { CidrAddress, LoadBalancing, NetworkAddress, Service } from '../../state/index.js';
import { ipFamily, parseCidr } from '../../state/index.js';
import { ANNOTATION, LABEL, annotationsOf, type Labels } from './labels.js';
import { checkServiceEntry, resolutionOf, type ServiceEntryObject } from './service-entry-check.js';
import { allocateVips, entryKey } from './service-entry-vips.js';
import { trafficDistribution, type ServiceEntryInfo, type ServiceInfo } from './services.js';
import { refOf, type Problems, type TranslateOptions } from './types.js';
import type { WaypointIndex } from './waypoints.js';

/** resolution NONE: the agent connects to the address the client dialled (ztunnel PASSTHROUGH). */
const PASSTHROUGH: LoadBalancing = { routingPreferences: [], mode: 'Passthrough', healthPolicy: 'AllowAll' };

/**
 * The Services of every valid ServiceEntry, in list order, each host once (a repeated host is
 * reported and skipped). Not yet conflict-resolved: see resolveHostnames.
 */
export function translateServiceEntries(
  entries: readonly ServiceEntryObject[],
  options: TranslateOptions,
  waypoints: WaypointIndex,
  problems: Problems,
): ServiceEntryInfo[] {
  const valid = entries.filter((se) => checkServiceEntry(se, problems));
  const auto = allocateVips(valid);
  const out: ServiceEntryInfo[] = [];
  for (const se of valid) {
    const spec = se.spec ?? {};
    const namespace = se.metadata.namespace ?? '';
    const wp = waypoints.forServiceEntry(se);
    if (wp.problem) {
      const field = wp.problem.labelOn === 'object' ? `metadata.labels["${LABEL.useWaypoint}"]` : `namespace label ${LABEL.useWaypoint}`;
      problems.warning(refOf(se), field, wp.problem.reason);
    }
    const { vips, cidrVips } = explicitAddresses(spec.addresses ?? [], options.network);
    const ports = new Map<number, number>();
    for (const p of spec.ports ?? []) ports.set(p.number ?? 0, p.targetPort || (p.number ?? 0));
    const lb = resolutionOf(se) === 'NONE' ? PASSTHROUGH : entryLoadBalancing(se);
    const selector: Labels = spec.workloadSelector?.labels ?? {};
    const seen = new Set<string>();
    (spec.hosts ?? []).forEach((host, hostIndex) => {
      if (seen.has(host)) {
        problems.warning(refOf(se), `spec.hosts[${hostIndex}]`, `host ${host} is listed twice; the repetition is ignored`);
        return;
      }
      seen.add(host);
      const own = auto.get(entryKey(se))?.get(host);
      const service: Service = {
        name: se.metadata.name,
        namespace,
        hostname: host,
        // Explicit addresses exclude automatic ones (autoAllocates).
        vips: own === undefined ? vips : own.map((ip) => ({ network: options.network, ip })),
        cidrVips,
        ports,
        subjectAltNames: [...(spec.subjectAltNames ?? [])],
        waypoint: wp.waypoint?.address,
        weightedWaypoints: [],
        loadBalancer: lb,
        ipFamilies: 'Automatic',
        canonical: false, // decided by resolveHostnames
        visibility: 'Public',
      };
      out.push({ source: 'ServiceEntry', object: se, service, selector, podPorts: ports, hostIndex });
    });
  }
  return out;
}

/** spec.addresses: plain IPs (and full-length prefixes) are VIPs, shorter prefixes CIDR VIPs. */
function explicitAddresses(addresses: readonly string[], network: string): { vips: NetworkAddress[]; cidrVips: CidrAddress[] } {
  const vips: NetworkAddress[] = [];
  const cidrVips: CidrAddress[] = [];
  for (const a of addresses) {
    const c = parseCidr(a);
    if (typeof c === 'string') continue; // checkServiceEntry refused it already
    const full = ipFamily(c.ip) === 4 ? 32 : 128;
    if (c.prefixLength === full) {
      if (!vips.some((v) => v.ip === c.ip)) vips.push({ network, ip: c.ip });
    } else {
      cidrVips.push({ network, ip: c.ip, prefixLength: c.prefixLength });
    }
  }
  return { vips, cidrVips };
}

/** The traffic-distribution annotation on the ServiceEntry, as for a Service (istiod GetTrafficDistribution). */
function entryLoadBalancing(se: ServiceEntryObject): LoadBalancing | undefined {
  const td = trafficDistribution(undefined, annotationsOf(se)[ANNOTATION.trafficDistribution]);
  if (td === 'zone') return { routingPreferences: ['Network', 'Region', 'Zone'], mode: 'Failover', healthPolicy: 'OnlyHealthy' };
  if (td === 'node') return { routingPreferences: ['Network', 'Region', 'Zone', 'Subzone', 'Node'], mode: 'Failover', healthPolicy: 'OnlyHealthy' };
  return undefined;
}

/** Older first: creationTimestamp (absent = newest), then namespace/name. */
function olderFirst(a: ServiceEntryInfo, b: ServiceEntryInfo): number {
  const ta = a.object.metadata.creationTimestamp ?? '';
  const tb = b.object.metadata.creationTimestamp ?? '';
  if (ta !== tb) return ta === '' ? 1 : tb === '' ? -1 : ta < tb ? -1 : 1;
  const ka = entryKey(a.object);
  const kb = entryKey(b.object);
  return ka < kb ? -1 : ka > kb ? 1 : a.hostIndex - b.hostIndex;
}

/**
 * istiod selectWorkloadServices over Services and ServiceEntry hosts: for each namespace/hostname a
 * Kubernetes Service wins, else the oldest ServiceEntry; the losers are reported and left out.
 * Canonical: a Kubernetes Service when one has the hostname, else the oldest ServiceEntry of it.
 * Returns the Services first (unchanged objects), then the winning entries, each in input order.
 */
export function resolveHostnames(services: readonly ServiceInfo[], entries: readonly ServiceEntryInfo[], problems: Problems): ServiceInfo[] {
  const kube = new Map<string, ServiceInfo>();
  const kubeHosts = new Set<string>();
  for (const s of services) {
    kube.set(`${s.service.namespace}/${s.service.hostname}`, s);
    kubeHosts.add(s.service.hostname);
  }
  const winners = new Map<string, ServiceEntryInfo>();
  for (const e of [...entries].sort(olderFirst)) {
    const key = `${e.service.namespace}/${e.service.hostname}`;
    const at = `spec.hosts[${e.hostIndex}]`;
    const svc = kube.get(key);
    if (svc !== undefined) {
      problems.warning(refOf(e.object), at, `host ${e.service.hostname} is Service ${svc.object.metadata.namespace}/${svc.object.metadata.name} of this namespace, which takes precedence; this host is left out`);
      continue;
    }
    const older = winners.get(key);
    if (older !== undefined) {
      problems.warning(refOf(e.object), at, `host ${e.service.hostname} is already defined in this namespace by the older ServiceEntry ${entryKey(older.object)}; this host is left out`);
      continue;
    }
    winners.set(key, e);
  }
  const canonicalFor = new Map<string, ServiceEntryInfo>();
  for (const e of [...winners.values()].sort(olderFirst)) {
    if (!kubeHosts.has(e.service.hostname) && !canonicalFor.has(e.service.hostname)) canonicalFor.set(e.service.hostname, e);
  }
  const kept = entries
    .filter((e) => winners.get(`${e.service.namespace}/${e.service.hostname}`) === e)
    .map((e) => (canonicalFor.get(e.service.hostname) === e ? { ...e, service: { ...e.service, canonical: true } } : e));
  return [...services, ...kept];
}
