// IP address and CIDR primitives for L4 authorization: parse textual IPv4/IPv6 into bytes and test
// prefix containment the way ztunnel's `ipnet::IpNet::contains` does (address families never mix).

import type { Cidr } from '../state/types.js';

/** 4 bytes for IPv4, 16 for IPv6. IPv4-mapped IPv6 (`::ffff:a.b.c.d`) is folded to its 4-byte form. */
export type IpBytes = Uint8Array;

export interface ParsedCidr {
  readonly bytes: IpBytes;
  /** Prefix length in bits, already clamped to the family's width. */
  readonly prefixLength: number;
}

function parseIpv4(s: string): IpBytes | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i] as string;
    if (!/^\d{1,3}$/.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    out[i] = n;
  }
  return out;
}

function parseHextets(s: string): number[] | undefined {
  if (s === '') return [];
  const out: number[] = [];
  for (const h of s.split(':')) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(h)) return undefined;
    out.push(parseInt(h, 16));
  }
  return out;
}

function parseIpv6(input: string): IpBytes | undefined {
  // A zone id (`fe80::1%eth0`) does not take part in matching.
  const pct = input.indexOf('%');
  let s = pct >= 0 ? input.slice(0, pct) : input;
  // An embedded dotted-quad tail (`::ffff:1.2.3.4`) is rewritten as its two hextets.
  const lastColon = s.lastIndexOf(':');
  if (s.indexOf('.', lastColon) > lastColon) {
    const v4 = parseIpv4(s.slice(lastColon + 1));
    if (v4 === undefined) return undefined;
    const hi = (((v4[0] as number) << 8) | (v4[1] as number)).toString(16);
    const lo = (((v4[2] as number) << 8) | (v4[3] as number)).toString(16);
    s = `${s.slice(0, lastColon + 1)}${hi}:${lo}`;
  }
  const dbl = s.indexOf('::');
  let words: number[];
  if (dbl >= 0) {
    if (s.indexOf('::', dbl + 1) >= 0) return undefined;
    const head = parseHextets(s.slice(0, dbl));
    const rest = parseHextets(s.slice(dbl + 2));
    if (head === undefined || rest === undefined) return undefined;
    const fill = 8 - head.length - rest.length;
    if (fill < 1) return undefined;
    words = [...head, ...new Array<number>(fill).fill(0), ...rest];
  } else {
    const all = parseHextets(s);
    if (all === undefined || all.length !== 8) return undefined;
    words = all;
  }
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    const w = words[i] as number;
    out[2 * i] = w >> 8;
    out[2 * i + 1] = w & 0xff;
  }
  return out;
}

function isV4Mapped(b: IpBytes): boolean {
  if (b.length !== 16) return false;
  for (let i = 0; i < 10; i++) if (b[i] !== 0) return false;
  return b[10] === 0xff && b[11] === 0xff;
}

/**
 * Parses an IP literal (optionally in brackets). IPv4-mapped IPv6 addresses are folded to IPv4,
 * as ztunnel canonicalises socket addresses from dual-stack listeners before RBAC.
 */
export function parseIp(s: string): IpBytes | undefined {
  let t = s;
  if (t.startsWith('[') && t.endsWith(']')) t = t.slice(1, -1);
  if (t.includes(':')) {
    const b = parseIpv6(t);
    if (b === undefined) return undefined;
    return isV4Mapped(b) ? b.slice(12) : b;
  }
  return parseIpv4(t);
}

// Policies are evaluated for every inbound connection; parse each Cidr object once.
const cidrCache = new WeakMap<Cidr, ParsedCidr | null>();

/**
 * Parses a Cidr. An IPv4-mapped IPv6 network with prefix >= 96 becomes the equivalent IPv4
 * network; shorter mapped prefixes stay IPv6 (and so match no IPv4 address, like ipnet).
 */
export function parseCidr(c: Cidr): ParsedCidr | undefined {
  const cached = cidrCache.get(c);
  if (cached !== undefined) return cached ?? undefined;
  let parsed: ParsedCidr | undefined;
  let t = c.ip;
  if (t.startsWith('[') && t.endsWith(']')) t = t.slice(1, -1);
  const raw = t.includes(':') ? parseIpv6(t) : parseIpv4(t);
  if (raw !== undefined && Number.isInteger(c.prefixLength) && c.prefixLength >= 0) {
    const width = raw.length * 8;
    const len = Math.min(c.prefixLength, width);
    parsed = isV4Mapped(raw) && len >= 96 ? { bytes: raw.slice(12), prefixLength: len - 96 } : { bytes: raw, prefixLength: len };
  }
  cidrCache.set(c, parsed ?? null);
  return parsed;
}

/** True when `ip` lies inside `net`; different families never contain each other. */
export function cidrContains(net: ParsedCidr, ip: IpBytes): boolean {
  if (net.bytes.length !== ip.length) return false;
  let bits = net.prefixLength;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if (((net.bytes[i] as number) & mask) !== ((ip[i] as number) & mask)) return false;
  }
  return true;
}
