// Plain TCP connects to upstreams (the app on inbound, TCP workloads and passthrough on outbound),
// with the socket options every proxy socket gets: TCP_NODELAY, keepalive, half-open allowed.

import { connect, type Socket } from 'node:net';
import { MeshError } from '../common/errors.js';
import type { SocketAddr } from './outbound-route.js';
import { formatAddr } from './socket-addr.js';

/** ztunnel's TCP keepalive time (180 s), in ms. */
const KEEPALIVE_MS = 180_000;

export interface ConnectOptions {
  readonly target: SocketAddr;
  readonly timeoutMs: number;
  /** Source IP to bind (no port); undefined = kernel's choice. */
  readonly localAddress?: string;
}

/** Resolves once connected; rejects with MeshError UPSTREAM_CONNECT (refused, timed out, ...). */
export function connectTcp(options: ConnectOptions): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({
      host: options.target.ip,
      port: options.target.port,
      localAddress: options.localAddress,
      allowHalfOpen: true,
      noDelay: true,
      keepAlive: true,
      keepAliveInitialDelay: KEEPALIVE_MS,
    });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new MeshError('UPSTREAM_CONNECT', `connect to ${formatAddr(options.target)} timed out after ${options.timeoutMs}ms`));
    }, options.timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      socket.destroy();
      reject(new MeshError('UPSTREAM_CONNECT', `connect to ${formatAddr(options.target)} failed: ${(err as NodeJS.ErrnoException).code ?? err.message}`, { cause: err }));
    });
  });
}

/** Pipes two TCP sockets both ways with half-close, counting bytes; resolves when both directions end. */
export function pipeTcp(
  a: Socket,
  b: Socket,
  counters: { aToB(n: number): void; bToA(n: number): void },
): Promise<Error | undefined> {
  return new Promise((resolve) => {
    let pending = 2;
    let failure: Error | undefined;
    let finished = false;
    const finish = (): void => {
      if (finished) return;
      finished = true;
      resolve(failure);
    };
    const oneWay = (from: Socket, to: Socket, count: (n: number) => void): void => {
      from.on('data', (chunk: Buffer) => {
        count(chunk.length);
        if (!to.write(chunk)) from.pause();
      });
      to.on('drain', () => from.resume());
      from.on('end', () => {
        to.end();
        if (--pending === 0) finish();
      });
    };
    oneWay(a, b, counters.aToB);
    oneWay(b, a, counters.bToA);
    // Listeners are attached: only now may bytes flow (accepted sockets start paused).
    a.resume();
    b.resume();
    const onError = (err: Error): void => {
      const code = (err as NodeJS.ErrnoException).code;
      // A reset from either side is a normal way for TCP to end (ztunnel src/copy.rs); pass it on.
      if (code !== 'ECONNRESET' && code !== 'EPIPE') failure ??= err;
      a.destroy();
      b.destroy();
    };
    a.on('error', onError);
    b.on('error', onError);
    const onClose = (): void => {
      if (a.destroyed && b.destroyed) finish();
      else if (a.destroyed && !b.destroyed && pending > 0 && a.readableEnded === false) b.destroy();
      else if (b.destroyed && !a.destroyed && pending > 0 && b.readableEnded === false) a.destroy();
    };
    a.on('close', onClose);
    b.on('close', onClose);
  });
}
