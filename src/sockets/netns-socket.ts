// Node sockets made from native fds created inside a network namespace: listening servers (in-pod
// listeners 15001/15006/15008) and outbound connections (optionally from a spoofed source IP).

import { createServer, isIP, Socket, type Server, type SocketConstructorOpts } from 'node:net';
import { MeshError } from '../common/errors.js';
import type { CreateSocketOptions, NativeSocketError, NativeSockets, NetAddr } from './native-loader.js';
import { formatNetAddr, normalizeIp } from './net-addr.js';
import { UPSTREAM_KEEPALIVE_S, type NetnsSocketPool } from './netns-socket-pool.js';
import { describeNetns, netnsOptions, sameNetnsTarget, type NetnsTarget } from './netns-target.js';

/** Node's own default listen backlog. */
const DEFAULT_BACKLOG = 511;

/** 'bind: EADDRINUSE' for addon errors (step and errno name); the message otherwise. */
function describe(err: unknown): string {
  const e = err as Partial<NativeSocketError>;
  return e.syscall && e.code ? `${e.syscall}: ${e.code}` : String((err as Error)?.message ?? err);
}

/** createSocket as a promise; the caller owns (and must close or hand over) the fd. */
export function createSocketFd(native: NativeSockets, options: CreateSocketOptions): Promise<number> {
  return new Promise((resolve, reject) => {
    native.createSocket(options, (err, fd) => {
      if (err) reject(err);
      else if (fd === undefined) reject(new Error('createSocket returned no fd'));
      else resolve(fd);
    });
  });
}

export interface ListenInNetnsOptions {
  /** Netns file or open netns fd; absent = the agent's own netns. */
  readonly netns?: NetnsTarget;
  /** IP literal to bind ('0.0.0.0', '::', a pod IP...). */
  readonly host: string;
  readonly port: number;
  readonly mark?: number;
  readonly transparent?: boolean;
  readonly reusePort?: boolean;
  /** Default 511 (Node's default). */
  readonly backlog?: number;
  /** Accepted sockets start paused until a reader attaches (default true, as the proxy's listeners). */
  readonly pauseOnConnect?: boolean;
  readonly onConnection?: (socket: Socket) => void;
}

/**
 * A listening server on an fd bound inside `netns`. Accepted sockets: allowHalfOpen, noDelay.
 * Rejects with MeshError SOCKET_SETUP naming the failing step and errno (e.g. bind: EADDRINUSE).
 */
export async function listenInNetns(native: NativeSockets, options: ListenInNetnsOptions): Promise<Server> {
  const host = normalizeIp(options.host);
  const family = isIP(host);
  const where = `${formatNetAddr({ ip: host, port: options.port })}${options.netns !== undefined ? ` in netns ${describeNetns(options.netns)}` : ''}`;
  if (family === 0) throw new MeshError('SOCKET_SETUP', `cannot listen on ${where}: host is not an IP address`);
  const backlog = options.backlog ?? DEFAULT_BACKLOG;
  let fd: number;
  try {
    fd = await createSocketFd(native, {
      ...netnsOptions(options.netns),
      family: family === 6 ? 6 : 4,
      mark: options.mark,
      transparent: options.transparent,
      reuseAddr: true, // as libuv does for every listener: restart without waiting out TIME_WAIT
      reusePort: options.reusePort,
      bind: { ip: host, port: options.port },
      listen: backlog,
    });
  } catch (err) {
    throw new MeshError('SOCKET_SETUP', `cannot listen on ${where}: ${describe(err)}`, { cause: err });
  }
  const server = createServer({ allowHalfOpen: true, pauseOnConnect: options.pauseOnConnect ?? true, noDelay: true });
  if (options.onConnection) server.on('connection', options.onConnection);
  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      reject(new MeshError('SOCKET_SETUP', `cannot listen on ${where}: ${err.code ?? err.message}`, { cause: err }));
    });
    // Node adopts the fd (it closes it with the server); listen() again only resets the backlog.
    server.listen({ fd, backlog }, () => {
      server.removeAllListeners('error');
      resolve(server);
    });
  });
}

export interface ConnectInNetnsOptions {
  /** Netns file or open netns fd; absent = the agent's own netns. */
  readonly netns?: NetnsTarget;
  readonly target: NetAddr;
  /** Source IP to bind (ephemeral port). */
  readonly source?: { readonly ip: string };
  /** Spoof: IP_TRANSPARENT + IP_FREEBIND so `source` need not be local. Default: true iff source is set. */
  readonly transparent?: boolean;
  readonly mark?: number;
  readonly timeoutMs: number;
  /**
   * Pre-created sockets of this same `netns` (ignored when pool.netns differs): a pooled fd skips
   * the threadpool hop; with none in stock the connection falls back to createSocket.
   */
  readonly pool?: NetnsSocketPool;
}

// `manualStart` (Node internal, honoured since v0.x): do not start reading an fd that is not connected
// yet; afterConnect starts reading. Without it the handle would poll an unconnected socket.
type FdSocketOptions = SocketConstructorOpts & { manualStart: boolean };

/**
 * Connects from inside `netns`; resolves once connected (allowHalfOpen, noDelay, keepalive 180 s).
 * Every failure (socket setup, refused, unreachable, timeout) rejects with MeshError UPSTREAM_CONNECT
 * whose message names the errno. With `options.pool`, a pooled fd (bound synchronously when a source
 * is given) replaces the createSocket round trip; the connect, timeout and error path are the same.
 */
export function connectInNetns(native: NativeSockets, options: ConnectInNetnsOptions): Promise<Socket> {
  const target = { ip: normalizeIp(options.target.ip), port: options.target.port };
  const sourceIp = options.source ? normalizeIp(options.source.ip) : undefined;
  const transparent = options.transparent ?? sourceIp !== undefined;
  const family = isIP(target.ip);
  // Only a failure's message needs it: not formatted for a connection that succeeds.
  const what = (): string =>
    `connect to ${formatNetAddr(target)}` +
    (sourceIp ? ` from ${sourceIp}${transparent ? ' (spoofed)' : ''}` : '') +
    (options.netns !== undefined ? ` in netns ${describeNetns(options.netns)}` : '');
  if (family === 0) return Promise.reject(new MeshError('UPSTREAM_CONNECT', `${what()}: target is not an IP address`));
  if (sourceIp !== undefined && isIP(sourceIp) !== family && !(family === 6 && isIP(sourceIp) === 4)) {
    return Promise.reject(new MeshError('UPSTREAM_CONNECT', `${what()}: source and target address families differ`));
  }
  return new Promise((resolve, reject) => {
    let settled = false;
    let socket: Socket | undefined;
    const fail = (message: string, cause?: unknown): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket?.destroy();
      reject(new MeshError('UPSTREAM_CONNECT', `${what()}: ${message}`, { cause }));
    };
    const timer = setTimeout(() => fail(`timed out after ${options.timeoutMs}ms`), options.timeoutMs);
    const fam = family === 6 ? 6 : 4;
    // Adopts a created (or pooled and bound) fd and connects it.
    const adopt = (fd: number): void => {
      try {
        const opts: FdSocketOptions = { fd, allowHalfOpen: true, manualStart: true };
        socket = new Socket(opts);
      } catch (e) {
        native.closeSocket(fd);
        return fail((e as NodeJS.ErrnoException).code ?? (e as Error).message, e);
      }
      const s = socket;
      s.once('error', (e: NodeJS.ErrnoException) => fail(`${e.code ?? e.message}`, e));
      s.connect({ host: target.ip, port: target.port }, () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        s.removeAllListeners('error');
        // TCP_NODELAY and keepalive were set when the socket was made (here or in the pool).
        resolve(s);
      });
    };
    const pool = options.pool !== undefined && sameNetnsTarget(options.pool.netns, options.netns) ? options.pool : undefined;
    const pooled = pool?.take({ family: fam, transparent, mark: options.mark });
    if (pooled !== undefined) {
      if (sourceIp !== undefined) {
        try {
          native.bindSocket(pooled, { ip: sourceIp, port: 0 });
        } catch (e) {
          native.closeSocket(pooled);
          return fail(describe(e), e);
        }
      }
      return adopt(pooled);
    }
    const create: CreateSocketOptions = {
      ...netnsOptions(options.netns),
      family: fam,
      mark: options.mark,
      transparent: transparent || undefined,
      freebind: transparent || undefined,
      bind: sourceIp !== undefined ? { ip: sourceIp, port: 0 } : undefined,
      noDelay: true,
      keepAliveS: UPSTREAM_KEEPALIVE_S,
    };
    native.createSocket(create, (err: NativeSocketError | null, fd?: number) => {
      if (settled) {
        // Timed out while the threadpool was busy: nobody will adopt this fd.
        if (fd !== undefined) native.closeSocket(fd);
        return;
      }
      if (err || fd === undefined) return fail(err ? describe(err) : 'no fd', err);
      adopt(fd);
    });
  });
}
