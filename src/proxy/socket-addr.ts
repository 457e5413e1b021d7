// Socket address helpers shared by the listeners: IPv4-mapped IPv6 addresses (from `::` binds)
// are normalised to plain IPv4 so that state lookups and policy see one canonical form.

import type { Socket } from 'node:net';
import type { SocketAddr } from './outbound-route.js';

export function normalizeIp(ip: string | undefined): string {
  if (!ip) return '';
  const lower = ip.toLowerCase();
  return lower.startsWith('::ffff:') && lower.includes('.') ? lower.slice(7) : lower;
}

export function remoteAddrOf(socket: Socket): SocketAddr {
  return { ip: normalizeIp(socket.remoteAddress), port: socket.remotePort ?? 0 };
}

export function localAddrOf(socket: Socket): SocketAddr {
  return { ip: normalizeIp(socket.localAddress), port: socket.localPort ?? 0 };
}

export function formatAddr(a: SocketAddr): string {
  return a.ip.includes(':') ? `[${a.ip}]:${a.port}` : `${a.ip}:${a.port}`;
}
