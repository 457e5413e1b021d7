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

/**
 * Reads exactly n bytes in paused mode; anything beyond n stays buffered in the socket. Rejects
 * if the stream ends first: once ended, read(n) hands back whatever is left, even if short.
 */
function readExact(socket: Socket, n: number, timeoutMs: number): Promise<Buffer> {
  // read(0) never returns data: a zero-length field (NMETHODS 0) would wait for the timeout.
  if (n === 0) return Promise.resolve(Buffer.alloc(0));
  if (socket.destroyed || socket.readableEnded) {
    return Promise.reject(new MeshError('SOCKS_PROTOCOL', 'socks5: connection closed during handshake'));
  }
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
      if (chunk === null) return;
      cleanup();
      if (chunk.length === n) resolve(chunk);
      else reject(new MeshError('SOCKS_PROTOCOL', 'socks5: connection closed during handshake'));
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

/** How long a refused client has to read the reply and close before its socket is destroyed, ms. */
export const SOCKS_REFUSAL_LINGER_MS = 2_000;

/** Ends the connection with `reply` as its last bytes: nothing can be written after a refusal. */
function refuse(socket: Socket, reply: readonly number[]): void {
  if (!socket.destroyed && !socket.writableEnded) socket.end(Buffer.from(reply));
}

/** A request-phase refusal (RFC 1928 §6): VER 5, REP, RSV 0, ATYP IPv4, BND 0.0.0.0:0. */
function requestRefusal(code: number): number[] {
  return [0x05, code, 0x00, 0x01, 0, 0, 0, 0, 0, 0];
}

/**
 * Runs the greeting and request phases. On a protocol violation it ends the socket with the
 * matching SOCKS reply where the protocol has one (RFC 1928: method X'FF' in the greeting; REP
 * X'01', X'07' or X'08' to a request) and throws MeshError('SOCKS_PROTOCOL'); the caller then
 * closes with closeRefusedSocks so that reply reaches the client.
 */
export async function acceptSocks5(socket: Socket, timeoutMs = 10_000): Promise<Socks5Target> {
  const [ver, nMethods] = await readExact(socket, 2, timeoutMs);
  // Not SOCKS5: there is no reply this client could understand.
  if (ver !== 0x05) throw new MeshError('SOCKS_PROTOCOL', `socks5: unsupported version ${ver}`);
  const methods = await readExact(socket, nMethods ?? 0, timeoutMs);
  if (!methods.includes(0x00)) {
    refuse(socket, [0x05, 0xff]);
    throw new MeshError('SOCKS_PROTOCOL', 'socks5: client offers no acceptable auth method (only no-auth is supported)');
  }
  socket.write(Buffer.from([0x05, 0x00]));
  const head = await readExact(socket, 4, timeoutMs);
  if (head[0] !== 0x05) {
    refuse(socket, requestRefusal(SOCKS_REPLY.generalFailure));
    throw new MeshError('SOCKS_PROTOCOL', `socks5: bad request version ${head[0]}`);
  }
  if (head[1] !== 0x01) {
    refuse(socket, requestRefusal(SOCKS_REPLY.commandNotSupported));
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
    if (!host) {
      refuse(socket, requestRefusal(SOCKS_REPLY.generalFailure));
      throw new MeshError('SOCKS_PROTOCOL', 'socks5: empty domain name');
    }
    return { kind: 'domain', host, port: b.readUInt16BE(len ?? 0) };
  }
  refuse(socket, requestRefusal(SOCKS_REPLY.addressTypeNotSupported));
  throw new MeshError('SOCKS_PROTOCOL', `socks5: unsupported address type ${atyp}`);
}

/**
 * Closes a connection whose handshake failed without losing the reply acceptSocks5 queued:
 * destroy() would drop a reply still in Node's write queue, and closing a socket with unread
 * input makes the kernel answer with RST, which can discard the reply at the client. So: FIN
 * after the queued bytes, then read and discard input until the client closes or `lingerMs` ends.
 */
export function closeRefusedSocks(socket: Socket, lingerMs = SOCKS_REFUSAL_LINGER_MS): void {
  if (socket.destroyed) return;
  // A client that resets instead of closing has nothing left to tell us.
  socket.on('error', () => {});
  const timer = setTimeout(() => socket.destroy(), lingerMs);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
  if (!socket.writableEnded) socket.end();
  socket.resume();
}

/** Writes a reply; success carries bind address 0.0.0.0:0 as ztunnel does. */
export function writeSocksReply(socket: Socket, code: number): void {
  if (socket.destroyed || !socket.writable) return;
  socket.write(Buffer.from([0x05, code, 0x00, 0x01, 0, 0, 0, 0, 0, 0]));
}
