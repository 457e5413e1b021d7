// The pre-redirect destination of a captured connection (iptables REDIRECT / DNAT), read with
// SO_ORIGINAL_DST from the accepted socket's fd.

import type { Socket } from 'node:net';
import { MeshError } from '../common/errors.js';
import type { NativeSockets, NetAddr } from './native-loader.js';
import { normalizeIp } from './net-addr.js';

/** The fd under a net.Socket (libuv handle); undefined once the socket is closed. */
export function fdOf(socket: Socket): number | undefined {
  const fd = (socket as unknown as { _handle?: { fd?: unknown } | null })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}

/**
 * Undefined when the connection was not redirected (no conntrack NAT entry) or the socket is closed;
 * the caller then uses the local address (TPROXY semantics, as ztunnel). Other failures throw
 * MeshError SOCKET_SETUP.
 */
export function originalDstOf(native: NativeSockets, socket: Socket): NetAddr | undefined {
  const fd = fdOf(socket);
  if (fd === undefined) return undefined;
  let dst: NetAddr | undefined;
  try {
    dst = native.originalDst(fd);
  } catch (err) {
    throw new MeshError('SOCKET_SETUP', `reading the original destination failed: ${(err as Error).message}`, { cause: err });
  }
  return dst && { ip: normalizeIp(dst.ip), port: dst.port };
}
