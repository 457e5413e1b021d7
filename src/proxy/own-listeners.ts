// The agent's own listeners as seen from one proxy instance, and whether a destination reaches one
// (then forwarding to it would be a self call: a loop, or a workload reaching admin/stats/readiness).

import { networkInterfaces } from 'node:os';
import { MeshError } from '../common/errors.js';
import type { Config } from '../config/index.js';
import { canonicalIp } from '../state/index.js';
import type { SocketAddr } from './outbound-route.js';
import { formatAddr } from './socket-addr.js';

/** A listening socket of the agent: its bind address (`0.0.0.0` / `::` = wildcard) and port. */
export interface OwnListener {
  readonly name: string;
  readonly host: string;
  readonly port: number;
}

/** What one proxy instance knows about its network namespace; read at each check (ports may be 0 until bound). */
export interface OwnListenerSource {
  listeners(): readonly OwnListener[];
  /** Addresses assigned to the interfaces of the namespace the listeners live in. */
  localAddresses(): readonly string[];
}

/**
 * The one form every address check compares: canonical text, IPv6 zone dropped, IPv4-mapped IPv6
 * (`::ffff:127.0.0.1`, `::ffff:7f00:1`, expanded forms) as plain IPv4, since a dual-stack socket
 * connecting to it reaches the IPv4 address. Undefined if `text` is not an IP literal.
 */
function hostIp(text: string): string | undefined {
  const ip = canonicalIp(text.split('%')[0] ?? '');
  if (ip === undefined) return undefined;
  return ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
}

/** 127.0.0.0/8 or ::1, for a `hostIp` result. */
function isLoopback(ip: string): boolean {
  return ip.startsWith('127.') || ip === '::1';
}

/** True if a listener bound to `host` accepts connections from outside this host (admin exposure). */
export function isNetworkReachableBind(host: string): boolean {
  const ip = hostIp(host);
  return ip === undefined || !isLoopback(ip);
}

/**
 * Whether a connection to `ip` (a `hostIp` result) lands on a listener bound to `host`. Loopback
 * and unspecified (`0.0.0.0` / `::`: Linux connects them to the local host) destinations count for
 * every listener whatever its bind address, as ztunnel's outbound refuses loopback + own port
 * outright (src/proxy/outbound.rs, `illegal_ports`).
 */
function reaches(host: string, ip: string, local: () => ReadonlySet<string>): boolean {
  if (isLoopback(ip) || ip === '0.0.0.0' || ip === '::') return true;
  const bind = hostIp(host);
  if (bind === ip) return true;
  // `::` is dual-stack (Node binds with IPV6_V6ONLY off), `0.0.0.0` takes IPv4 only.
  if (bind === '::') return local().has(ip);
  if (bind === '0.0.0.0') return !ip.includes(':') && local().has(ip);
  return false;
}

/** The predicate every proxy path asks before connecting anywhere on behalf of a client. */
export class OwnListeners {
  constructor(private readonly source: OwnListenerSource) {}

  /** The own listener `dst` would reach, if any. Interface addresses are read only when the port matches. */
  at(dst: SocketAddr): OwnListener | undefined {
    if (dst.port === 0) return undefined;
    // The port first: nearly every destination is on no listener's port, and then no address is parsed.
    const candidates = this.source.listeners().filter((l) => l.port === dst.port);
    if (candidates.length === 0) return undefined;
    const ip = hostIp(dst.ip);
    if (ip === undefined) return undefined;
    let local: Set<string> | undefined;
    const localSet = (): ReadonlySet<string> =>
      (local ??= new Set(this.source.localAddresses().map((a) => hostIp(a)).filter((a): a is string => a !== undefined)));
    return candidates.find((l) => reaches(l.host, ip, localSet));
  }
}

export function selfCallError(dst: SocketAddr, l: OwnListener): MeshError {
  return new MeshError('SELF_CALL', `${formatAddr(dst)} is the agent's own ${l.name} listener (${formatAddr({ ip: l.host, port: l.port })})`);
}

/**
 * The proxy listeners (ztunnel's illegal ports: 15001, 15006, 15008, plus SOCKS5 when on) bound
 * on `host`. An in-pod proxy binds them on a wildcard inside the pod's namespace.
 */
export function proxyListeners(config: Config, host: string): OwnListener[] {
  const p = config.ports;
  const out: OwnListener[] = [
    { name: 'outbound', host, port: p.outbound },
    { name: 'inbound-plaintext', host, port: p.inboundPlaintext },
    { name: 'hbone', host, port: p.hbone },
  ];
  if (config.socks5Enabled) out.push({ name: 'socks5', host, port: p.socks5 });
  return out.filter((l) => l.port !== 0);
}

/** Bound addresses of the agent's HTTP servers; a port 0 in config is known only once bound. */
export interface ServerAddresses {
  readonly admin?: { readonly port: number } | undefined;
  readonly stats?: { readonly port: number } | undefined;
  readonly readiness?: { readonly port: number } | undefined;
}

/** Admin, stats and readiness: they exist only in the agent's own (host) network namespace. */
export function serverListeners(config: Config, bound: ServerAddresses = {}): OwnListener[] {
  const p = config.ports;
  const out: OwnListener[] = [
    { name: 'admin', host: config.adminBindAddress, port: bound.admin?.port ?? p.admin },
    { name: 'stats', host: config.bindAddress, port: bound.stats?.port ?? p.stats },
    { name: 'readiness', host: config.bindAddress, port: bound.readiness?.port ?? p.readiness },
  ];
  return out.filter((l) => l.port !== 0);
}

/** Every address on this host's interfaces (the agent's own namespace). */
export function hostInterfaceAddresses(): string[] {
  return Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((i) => i.address));
}
