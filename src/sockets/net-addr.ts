// Address text forms used by the socket wrappers: IPv4-mapped IPv6 (from dual-stack sockets and
// SO_ORIGINAL_DST on them) is normalised to plain IPv4, so callers see one canonical form.

import type { NetAddr } from './native-loader.js';

/** '::ffff:10.0.0.1' → '10.0.0.1'; IPv6 lower-cased; anything else unchanged. */
export function normalizeIp(ip: string): string {
  const lower = ip.toLowerCase();
  return lower.startsWith('::ffff:') && lower.includes('.') ? lower.slice(7) : lower;
}

/** 'ip:port', with brackets around IPv6. */
export function formatNetAddr(a: NetAddr): string {
  return a.ip.includes(':') ? `[${a.ip}]:${a.port}` : `${a.ip}:${a.port}`;
}
