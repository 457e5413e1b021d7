// SOCKS5 server handshake (RFC 1928 subset ztunnel speaks): no-auth only, CONNECT only, IPv4 /
// IPv6 / domain targets. Bytes after the request stay in the socket for the proxy to forward.

import type { Socket } from 'node:net';
import { MeshError } from '../common/errors.js';

export type Socks5Target =
  | { readonly kind: 'ip'; readonly ip: string; readonly port: number }
  | { readonly kind: 'domain'; readonly host: string; readonly port: number };

/** SOCKS5 reply codes (RFC 1928 §6). */
export const SOCKS_REPLY = {
  succeeded: 0x00,
  generalFailure: 0x01,
  notAllowed: 0x02,
  hostUnreachable: 0x04,
  connectionRefused: 0x05,
  commandNotSupported: 0x07,
  addressTypeNotSupported: 0x08,
} as const;

/** Reads exactly n bytes in paused mode; anything beyond n stays buffered in the socket. */
function readExact(socket: Socket, n: number, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const cleanup = (): void => {
      clearTimeout(timer);
      socket.off('readable', onReadable);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      socket.off('error', onError);
    };
    const onReadable = (): void => {
      const chunk = socket.read(n) as Buffer | null;
      if (chunk !== null) {
        cleanup();
        resolve(chunk);
      }
    };
    const onEnd = (): void => {
      cleanup();
      reject(new MeshError('SOCKS_PROTOCOL', 'socks5: connection closed during handshake'));
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(new MeshError('SOCKS_PROTOCOL', 'socks5: socket error during handshake', { cause: err }));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new MeshError('SOCKS_PROTOCOL', 'socks5: handshake timed out'));
    }, timeoutMs);
    socket.on('readable', onReadable);
    socket.on('end', onEnd);
    socket.on('close', onEnd);
    socket.on('error', onError);
    onReadable();
  });
}

function ipv6FromBytes(b: Buffer): string {
  const parts: string[] = [];
  for (let i = 0; i < 16; i += 2) parts.push(b.readUInt16BE(i).toString(16));
  // Canonicalise through URL parsing rules: collapse the longest zero run.
  return new URL(`http://[${parts.join(':')}]/`).hostname.slice(1, -1);
}

/**
 * Runs the greeting and request phases. On a protocol violation it answers with the matching
 * SOCKS error where the protocol has one, and throws MeshError('SOCKS_PROTOCOL').
 */
export async function acceptSocks5(socket: Socket, timeoutMs = 10_000): Promise<Socks5Target> {
  const [ver, nMethods] = await readExact(socket, 2, timeoutMs);
  if (ver !== 0x05) throw new MeshError('SOCKS_PROTOCOL', `socks5: unsupported version ${ver}`);
  const methods = await readExact(socket, nMethods ?? 0, timeoutMs);
  if (!methods.includes(0x00)) {
    socket.end(Buffer.from([0x05, 0xff]));
    throw new MeshError('SOCKS_PROTOCOL', 'socks5: client offers no acceptable auth method (only no-auth is supported)');
  }
  socket.write(Buffer.from([0x05, 0x00]));
  const head = await readExact(socket, 4, timeoutMs);
  if (head[0] !== 0x05) throw new MeshError('SOCKS_PROTOCOL', `socks5: bad request version ${head[0]}`);
  if (head[1] !== 0x01) {
    writeSocksReply(socket, SOCKS_REPLY.commandNotSupported);
    throw new MeshError('SOCKS_PROTOCOL', `socks5: unsupported command ${head[1]} (only CONNECT)`);
  }
  const atyp = head[3];
  if (atyp === 0x01) {
    const b = await readExact(socket, 6, timeoutMs);
    return { kind: 'ip', ip: `${b[0]}.${b[1]}.${b[2]}.${b[3]}`, port: b.readUInt16BE(4) };
  }
  if (atyp === 0x04) {
    const b = await readExact(socket, 18, timeoutMs);
    return { kind: 'ip', ip: ipv6FromBytes(b.subarray(0, 16)), port: b.readUInt16BE(16) };
  }
  if (atyp === 0x03) {
    const [len] = await readExact(socket, 1, timeoutMs);
    const b = await readExact(socket, (len ?? 0) + 2, timeoutMs);
    const host = b.subarray(0, len).toString('latin1');
    if (!host) throw new MeshError('SOCKS_PROTOCOL', 'socks5: empty domain name');
    return { kind: 'domain', host, port: b.readUInt16BE(len ?? 0) };
  }
  writeSocksReply(socket, SOCKS_REPLY.addressTypeNotSupported);
  throw new MeshError('SOCKS_PROTOCOL', `socks5: unsupported address type ${atyp}`);
}

/** Writes a reply; success carries bind address 0.0.0.0:0 as ztunnel does. */
export function writeSocksReply(socket: Socket, code: number): void {
  if (socket.destroyed || !socket.writable) return;
  socket.write(Buffer.from([0x05, code, 0x00, 0x01, 0, 0, 0, 0, 0, 0]));
}
