// VIPs of ServiceEntry hosts that declare no `addresses` (istiod's IP auto-allocation): one IPv4
// from 240.240.0.0/16 and one IPv6 from 2001:2::/48 per host, for hosts that are not wildcards of
// ServiceEntries whose resolution is not NONE, unless labelled
// networking.istio.io/enable-autoallocate-ip: "false".
//
// istiod's allocator writes what it chose into `status.addresses` ({value, host}); those are used
// as they are. For the rest Ambit allocates here, purely from the snapshot: the slot is an FNV-1a
// hash of `namespace/name/host`, probed linearly past taken slots, with ServiceEntries taken in
// (creationTimestamp, namespace/name) order, so an older entry keeps its VIPs when others come.

import { canonicalIp } from '../../state/index.js';
import { isWildcardHost, resolutionOf, type ServiceEntryObject } from './service-entry-check.js';

/** istiod PILOT_IP_AUTOALLOCATE_IPV4_PREFIX / _IPV6_PREFIX defaults. */
export const AUTO_VIP_V4_PREFIX = '240.240.0.0/16';
export const AUTO_VIP_V6_PREFIX = '2001:2::/48';
/** istio label NetworkingEnableAutoallocateIp: "false" opts a ServiceEntry out. */
export const AUTOALLOCATE_LABEL = 'networking.istio.io/enable-autoallocate-ip';

/** Slots 1..65534 of the /16 (the network and broadcast addresses are never handed out). */
const SLOTS = 65534;

/** `namespace/name` → host → VIPs (canonical IPs), for every host that gets automatic VIPs. */
export type AutoVips = ReadonlyMap<string, ReadonlyMap<string, readonly string[]>>;

export function entryKey(se: ServiceEntryObject): string {
  return `${se.metadata.namespace ?? ''}/${se.metadata.name}`;
}

/** Whether istiod would give this ServiceEntry's hosts automatic VIPs (shouldV2AutoAllocateIP). */
export function autoAllocates(se: ServiceEntryObject): boolean {
  if ((se.spec?.addresses ?? []).length > 0) return false;
  if (resolutionOf(se) === 'NONE') return false;
  return (se.metadata.labels?.[AUTOALLOCATE_LABEL] ?? '').toLowerCase() !== 'false';
}

/** 32-bit FNV-1a of the UTF-16 code units (ASCII hostnames and names: the bytes). */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

function v4Of(slot: number): string {
  return `240.240.${slot >> 8}.${slot & 0xff}`;
}

function v6Of(slot: number): string {
  return canonicalIp(`2001:2::${slot.toString(16)}`)!;
}

/** The slot of an address of the v4 range, if it is one. */
function slotOfV4(ip: string): number | undefined {
  const m = /^240\.240\.(\d+)\.(\d+)$/.exec(ip);
  return m ? Number(m[1]) * 256 + Number(m[2]) : undefined;
}

/** `status.addresses` as istiod writes it: [{ value, host }]; anything malformed is skipped. */
function statusAddresses(se: ServiceEntryObject): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const list = (se.status as { addresses?: unknown } | undefined)?.addresses;
  if (!Array.isArray(list)) return out;
  for (const a of list as unknown[]) {
    if (typeof a !== 'object' || a === null) continue;
    const { value, host } = a as { value?: unknown; host?: unknown };
    if (typeof value !== 'string' || typeof host !== 'string') continue;
    const ip = canonicalIp(value);
    if (ip === undefined) continue;
    const l = out.get(host) ?? [];
    if (!l.includes(ip)) l.push(ip);
    out.set(host, l);
  }
  return out;
}

function byAge(a: ServiceEntryObject, b: ServiceEntryObject): number {
  const ta = a.metadata.creationTimestamp ?? '';
  const tb = b.metadata.creationTimestamp ?? '';
  if (ta !== tb) return ta === '' ? 1 : tb === '' ? -1 : ta < tb ? -1 : 1;
  const ka = entryKey(a);
  const kb = entryKey(b);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/** Automatic VIPs of every host that gets them, over all (valid) ServiceEntries of the snapshot. */
export function allocateVips(entries: readonly ServiceEntryObject[]): AutoVips {
  const out = new Map<string, Map<string, readonly string[]>>();
  const taken = new Set<number>();
  const pending: Array<{ se: ServiceEntryObject; host: string }> = [];
  const ordered = entries.filter(autoAllocates).sort(byAge);
  for (const se of ordered) {
    const recorded = statusAddresses(se);
    for (const host of new Set(se.spec?.hosts ?? [])) {
      if (isWildcardHost(host)) continue;
      const ips = recorded.get(host);
      if (ips !== undefined && ips.length > 0) {
        setVips(out, se, host, ips);
        for (const ip of ips) {
          const slot = slotOfV4(ip);
          if (slot !== undefined) taken.add(slot);
        }
      } else {
        pending.push({ se, host });
      }
    }
  }
  for (const { se, host } of pending) {
    let slot = (fnv1a(`${entryKey(se)}/${host}`) % SLOTS) + 1;
    for (let probes = 0; taken.has(slot) && probes < SLOTS; probes++) slot = (slot % SLOTS) + 1;
    if (taken.has(slot)) continue; // the range is full: the host gets no VIP
    taken.add(slot);
    setVips(out, se, host, [v4Of(slot), v6Of(slot)]);
  }
  return out;
}

function setVips(out: Map<string, Map<string, readonly string[]>>, se: ServiceEntryObject, host: string, ips: readonly string[]): void {
  const key = entryKey(se);
  let hosts = out.get(key);
  if (hosts === undefined) out.set(key, (hosts = new Map()));
  hosts.set(host, ips);
}
