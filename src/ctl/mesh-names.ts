// Names for what the dump holds as addresses: a waypoint's GatewayAddress as its service's name,
// an ip:port as `service-hostname:port` or `pod.namespace:port` (istioctl's connection listing).

import type { DumpGateway, MeshView } from './dump-schema.js';

/**
 * The WAYPOINT column: `None` without one; else the name of the service (or workload) the
 * GatewayAddress points at, as istioctl shows it; the raw address if nothing is known there.
 */
export function waypointName(gw: DumpGateway | undefined, view: MeshView): string {
  const d = gw?.destination;
  if (d === undefined) return 'None';
  if (d.kind === 'hostname' || d.hostname !== undefined) {
    const svc = view.services.find((s) => s.hostname === d.hostname && (d.namespace === undefined || s.namespace === d.namespace));
    return svc?.name ?? (d.hostname ?? '').split('.')[0] ?? 'NA';
  }
  const ip = d.ip ?? '';
  const svc = view.services.find((s) => s.vips.some((v) => v.ip === ip && (v.network ?? '') === (d.network ?? '')));
  if (svc) return svc.name;
  const wl = view.workloads.find((w) => w.workloadIps.includes(ip) && (w.network ?? '') === (d.network ?? ''));
  return wl?.name ?? (ip || 'NA');
}

/** Splits `ip:port` / `[v6]:port`. */
function splitAddr(addr: string): { ip: string; port: string } | undefined {
  const colon = addr.lastIndexOf(':');
  if (colon < 0) return undefined;
  return { ip: addr.slice(0, colon).replace(/^\[(.*)\]$/, '$1'), port: addr.slice(colon + 1) };
}

/** `ip:port` named after the service owning the VIP or the workload owning the IP; as it is otherwise. */
export function addressNamer(view: MeshView): (addr: string | undefined) => string | undefined {
  const names = new Map<string, string>();
  for (const w of view.workloads) for (const ip of w.workloadIps) names.set(ip, `${w.name}.${w.namespace}`);
  // Services win over workloads, as in istioctl (a VIP is never a pod IP anyway).
  for (const s of view.services) for (const v of s.vips) names.set(v.ip, s.hostname);
  return (addr) => {
    if (addr === undefined) return undefined;
    const parts = splitAddr(addr);
    const name = parts && names.get(parts.ip);
    return name === undefined ? addr : `${name}:${parts!.port}`;
  };
}
