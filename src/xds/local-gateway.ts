// Parsers for the small shared shapes of the local config: GatewayAddress (waypoint, network
// gateway), `network/ip` VIP strings, and `{servicePort: targetPort}` port maps.

import { canonicalIp, parseCidr, type CidrAddress, type GatewayAddress, type NetworkAddress, type PortMap } from '../state/index.js';
import type { YamlPath, YamlReader } from './yaml-reader.js';

/** Default HBONE port of a waypoint/gateway when `hboneMtlsPort` is omitted (ztunnel requires it). */
const DEFAULT_HBONE_MTLS_PORT = 15008;

/**
 * `{destination: "network/ip" | "namespace/hostname", hboneMtlsPort}`. As in ztunnel's untagged
 * enum, the destination is an address when the part after the first `/` is an IP literal.
 */
export function readGateway(r: YamlReader, value: unknown, path: YamlPath): GatewayAddress | undefined {
  if (value === undefined || value === null) return undefined;
  const o = r.object(value, path, ['destination', 'hboneMtlsPort'], ['destination']);
  if (o === undefined) return undefined;
  const port = r.port(o.hboneMtlsPort ?? DEFAULT_HBONE_MTLS_PORT, [...path, 'hboneMtlsPort']);
  const dest = o.destination;
  if (dest === undefined || dest === null) return undefined;
  const dpath = [...path, 'destination'];
  if (typeof dest !== 'string' || !dest.includes('/')) {
    r.fail(dpath, `expected "network/ip" or "namespace/hostname", got ${JSON.stringify(dest)}`);
    return undefined;
  }
  const slash = dest.indexOf('/');
  const left = dest.slice(0, slash);
  const right = dest.slice(slash + 1);
  const ip = canonicalIp(right);
  if (ip !== undefined) return { destination: { kind: 'address', network: left, ip }, hboneMtlsPort: port };
  if (left === '' || right === '') {
    r.fail(dpath, `"${dest}" is neither "network/ip" nor "namespace/hostname"`);
    return undefined;
  }
  return { destination: { kind: 'hostname', namespace: left, hostname: right }, hboneMtlsPort: port };
}

/** `"network/ip"` (network may be empty: `"/10.0.0.1"`). */
export function readNetworkAddress(r: YamlReader, value: unknown, path: YamlPath): NetworkAddress | undefined {
  if (typeof value !== 'string' || !value.includes('/')) {
    r.fail(path, `expected "network/ip" (use "/${String(value)}" for the default network), got ${JSON.stringify(value)}`);
    return undefined;
  }
  const slash = value.indexOf('/');
  const ip = canonicalIp(value.slice(slash + 1));
  if (ip === undefined) {
    r.fail(path, `"${value.slice(slash + 1)}" is not a valid IPv4 or IPv6 address`);
    return undefined;
  }
  return { network: value.slice(0, slash), ip };
}

/** Ambit's spelling of a CIDR VIP: `"network/ip/prefixLength"`, e.g. `"/10.96.0.0/16"`. */
export function readCidrAddress(r: YamlReader, value: unknown, path: YamlPath): CidrAddress | undefined {
  if (typeof value !== 'string' || value.split('/').length !== 3) {
    r.fail(path, `expected "network/ip/prefixLength", got ${JSON.stringify(value)}`);
    return undefined;
  }
  const slash = value.indexOf('/');
  const parsed = parseCidr(value.slice(slash + 1));
  if (typeof parsed === 'string') {
    r.fail(path, parsed);
    return undefined;
  }
  return { network: value.slice(0, slash), ip: parsed.ip, prefixLength: parsed.prefixLength };
}

/** `{servicePort: targetPort}`; target 0 means "named port, resolved per endpoint". */
export function readPortMap(r: YamlReader, value: unknown, path: YamlPath): PortMap {
  const out = new Map<number, number>();
  for (const [k, v] of Object.entries(r.dict(value, path))) {
    const sp = r.port(k, [...path, k]);
    const tp = r.port(v, [...path, k], true);
    if (sp !== 0) out.set(sp, tp);
  }
  return out;
}
