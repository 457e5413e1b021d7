// Shared pieces of the WDS codec: raw IP bytes, enum tables, GatewayAddress and port lists, and the
// XDS_INVALID error every decoder throws (its message is the reason a NACK carries after the name).

import { MeshError } from '../common/errors.js';
import { canonicalIp, ipFamily, ipToBigInt, type GatewayAddress, type PortMap } from '../state/index.js';
import { protoType } from './proto-root.js';

/** A decode refusal: `reason` is what follows `<name>: ` in the NACK's error_detail.message. */
export function invalid(reason: string): MeshError {
  return new MeshError('XDS_INVALID', reason);
}

/** Decodes `bytes` as `typeName`; malformed protobuf is a refusal like ztunnel's `decode: ...`. */
export function decodeMessage<T>(typeName: string, bytes: Uint8Array): T {
  try {
    return protoType(typeName).decode(bytes) as unknown as T;
  } catch (err) {
    throw invalid(`decode: ${(err as Error).message}`);
  }
}

/**
 * Encodes a protobufjs plain object as `typeName`. The object must already have the message's shape
 * (camelCase fields, enums as numbers, bytes as Uint8Array, nested messages as objects): it is
 * encoded as it is, without a fromObject copy (the control plane encodes every resource of the mesh).
 */
export function encodeMessage(typeName: string, object: Record<string, unknown>): Uint8Array {
  return protoType(typeName).encode(object).finish();
}

/** 4 bytes for IPv4, 16 for IPv6, network order (istio.workload addresses are raw bytes). */
export function ipToBytes(ip: string): Uint8Array {
  const canonical = canonicalIp(ip);
  if (canonical === undefined) throw new MeshError('XDS_INVALID', `"${ip}" is not an IP address`);
  const len = ipFamily(canonical) === 4 ? 4 : 16;
  let n = ipToBigInt(canonical);
  const out = new Uint8Array(len);
  for (let i = len - 1; i >= 0; i--) {
    out[i] = Number(n & 0xffn);
    n >>= 8n;
  }
  return out;
}

/** Canonical IP string of 4 or 16 raw bytes; any other length is refused (ztunnel's wording). */
export function bytesToIp(bytes: Uint8Array, what: string): string {
  if (bytes.length === 4) return bytes.join('.');
  if (bytes.length === 16) {
    const groups: string[] = [];
    for (let i = 0; i < 16; i += 2) groups.push((((bytes[i] as number) << 8) | (bytes[i + 1] as number)).toString(16));
    return canonicalIp(groups.join(':')) as string;
  }
  throw invalid(`${what}: failed to parse address, had ${bytes.length} bytes`);
}

/**
 * Maps a wire enum number to the model's value by position; numbers past the table are refused as
 * ztunnel refuses values its generated enum does not know (`unknown enum`).
 */
export function enumOf<T>(value: number, table: readonly T[], what: string): T {
  const v = table[value];
  if (v === undefined) throw invalid(`${what}: unknown enum value ${value}`);
  return v;
}

/** The wire number of a model value (the inverse of enumOf). */
export function enumNumber<T>(value: T, table: readonly T[]): number {
  const i = table.indexOf(value);
  if (i < 0) throw new MeshError('XDS_INVALID', `cannot encode enum value ${String(value)}`);
  return i;
}

/** A uint32 that must be a TCP port (ztunnel truncates to u16; Ambit refuses instead). */
export function portOf(value: number, what: string): number {
  if (!Number.isInteger(value) || value < 0 || value > 65535) throw invalid(`${what}: ${value} is not a port (0..65535)`);
  return value;
}

interface WirePort {
  readonly servicePort: number;
  readonly targetPort: number;
}

/** `repeated Port` → servicePort → targetPort (a later duplicate service port wins, as a map insert). */
export function decodePorts(ports: readonly WirePort[], what: string): PortMap {
  const out = new Map<number, number>();
  for (const p of ports) out.set(portOf(p.servicePort, `${what} service_port`), portOf(p.targetPort, `${what} target_port`));
  return out;
}

export function encodePorts(ports: PortMap): Array<{ servicePort: number; targetPort: number }> {
  return [...ports].map(([servicePort, targetPort]) => ({ servicePort, targetPort }));
}

/** The wire shape of istio.workload.GatewayAddress as protobufjs decodes it. */
export interface WireGateway {
  readonly destination?: 'hostname' | 'address';
  readonly hostname?: { readonly namespace: string; readonly hostname: string } | null;
  readonly address?: { readonly network: string; readonly address: Uint8Array } | null;
  readonly hboneMtlsPort: number;
}

/** GatewayAddress without a destination is refused (ztunnel: "nonempty gateway address is missing address"). */
export function decodeGateway(g: WireGateway, what: string): GatewayAddress {
  const port = portOf(g.hboneMtlsPort, `${what} hbone_mtls_port`);
  if (g.destination === 'hostname' && g.hostname) {
    return { destination: { kind: 'hostname', namespace: g.hostname.namespace, hostname: g.hostname.hostname }, hboneMtlsPort: port };
  }
  if (g.destination === 'address' && g.address) {
    const ip = bytesToIp(g.address.address, `${what} address`);
    return { destination: { kind: 'address', network: g.address.network, ip }, hboneMtlsPort: port };
  }
  throw invalid(`${what}: nonempty gateway address is missing address`);
}

export function encodeGateway(g: GatewayAddress): Record<string, unknown> {
  const d = g.destination;
  return d.kind === 'hostname'
    ? { hostname: { namespace: d.namespace, hostname: d.hostname }, hboneMtlsPort: g.hboneMtlsPort }
    : { address: { network: d.network, address: ipToBytes(d.ip) }, hboneMtlsPort: g.hboneMtlsPort };
}
