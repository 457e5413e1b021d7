// Canonical IP strings and CIDR arithmetic shared by the state indexes and the config parsers.
// Every IP stored in state is in the canonical form produced here, so string equality is IP equality.

import { isIP, SocketAddress } from 'node:net';

/**
 * Canonical text form of an IPv4/IPv6 address (lower-case, zero-compressed IPv6), or undefined
 * if `text` is not an IP literal. Zone ids (`fe80::1%eth0`) are refused: a mesh IP is global.
 */
export function canonicalIp(text: string): string | undefined {
  if (text.includes('%')) return undefined;
  const family = isIP(text);
  if (family === 0) return undefined;
  if (family === 4) return text;
  return new SocketAddress({ address: text, family: 'ipv6' }).address;
}

/** 4 or 6 for a canonical IP string (callers only pass canonical strings). */
export function ipFamily(ip: string): 4 | 6 {
  return ip.includes(':') ? 6 : 4;
}

/** The address as an unsigned integer: 32 bits for IPv4, 128 for IPv6. */
export function ipToBigInt(ip: string): bigint {
  if (ipFamily(ip) === 4) {
    return ip.split('.').reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n);
  }
  // Expand the `::` so there are exactly 8 groups; an embedded IPv4 tail counts as two groups.
  let text = ip;
  const v4Tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4Tail?.[1] !== undefined) {
    const n = ipToBigInt(v4Tail[1]);
    text = text.slice(0, -v4Tail[1].length) + `${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === undefined || tail === '' ? [] : tail.split(':');
  const zeros = new Array<string>(8 - headGroups.length - tailGroups.length).fill('0');
  const groups = tail === undefined ? headGroups : [...headGroups, ...zeros, ...tailGroups];
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
}

export interface ParsedCidr {
  readonly ip: string;
  readonly prefixLength: number;
}

/**
 * Parses `ip/len` or a bare IP (full-length prefix, as istiod does for ipBlocks without `/`).
 * Returns a reason string on failure so callers can build their own error message.
 */
export function parseCidr(text: string): ParsedCidr | string {
  const slash = text.indexOf('/');
  const ipText = slash === -1 ? text : text.slice(0, slash);
  const ip = canonicalIp(ipText);
  if (ip === undefined) return `"${ipText}" is not an IP address`;
  const max = ipFamily(ip) === 4 ? 32 : 128;
  if (slash === -1) return { ip, prefixLength: max };
  const lenText = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(lenText) || Number(lenText) > max) {
    return `prefix length "${lenText}" is not an integer in 0..${max}`;
  }
  return { ip, prefixLength: Number(lenText) };
}

/** True if canonical `ip` lies inside `cidr` (different families never match). */
export function cidrContains(cidr: ParsedCidr, ip: string): boolean {
  const family = ipFamily(ip);
  if (family !== ipFamily(cidr.ip)) return false;
  const bits = family === 4 ? 32n : 128n;
  const len = BigInt(cidr.prefixLength);
  if (len === 0n) return true;
  const shift = bits - len;
  return ipToBigInt(ip) >> shift === ipToBigInt(cidr.ip) >> shift;
}
