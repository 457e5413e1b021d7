// Pooled upstream connections over one byte stream (an HBONE CONNECT stream or a TCP socket):
// HTTP/1.1 through Node's http client on a one-socket keep-alive Agent, or one HTTP/2 session.

import * as http from 'node:http';
import * as http2 from 'node:http2';
import type * as net from 'node:net';
import type { Duplex } from 'node:stream';
import { MeshError } from '../common/errors.js';
import { buffersOnly } from './buffers-only.js';
import type { ConnectionHooks, PoolConnection } from './upstream-pool.js';

/** Sockets the http.Agent treats as net.Socket: it calls these on keep-alive; CONNECT streams have none. */
export function socketShim(d: Duplex): net.Socket {
  buffersOnly(d);
  const s = d as Duplex & Partial<Record<'setKeepAlive' | 'setNoDelay' | 'ref' | 'unref', unknown>>;
  for (const m of ['setKeepAlive', 'setNoDelay', 'ref', 'unref'] as const) {
    if (typeof s[m] !== 'function') (s as unknown as Record<string, unknown>)[m] = function (this: unknown) { return this; };
  }
  return s as unknown as net.Socket;
}

/**
 * One HTTP/1.1 connection. Requests go through `agent` (keep-alive, one socket: this one), so Node
 * parses responses and decides reuse (a `Connection: close` answer ends the connection). A stream
 * ends when the Agent frees the socket for the next request, or when the socket closes.
 */
export class H1Connection implements PoolConnection {
  readonly capacity = 1;
  readonly agent: http.Agent;
  private current: (() => void) | undefined;
  private readonly socket: net.Socket;

  constructor(stream: Duplex, hooks: ConnectionHooks) {
    this.socket = socketShim(stream);
    this.agent = new http.Agent({ keepAlive: true, maxSockets: 1, maxFreeSockets: 1 });
    let given = false;
    // Async createConnection: Node's Agent waits for the callback (lib/_http_agent.js createSocket).
    // The one socket is given once; asked again means it closed under a queued request.
    (this.agent as unknown as { createConnection: unknown }).createConnection = (_opts: unknown, cb: (err: Error | null, s?: net.Socket) => void) => {
      if (given || this.socket.destroyed) cb(new MeshError('UPSTREAM_CONNECT', 'the pooled upstream connection is closed'));
      else {
        given = true;
        cb(null, this.socket);
      }
      return undefined;
    };
    // Registered after the Agent's own 'free' listener: the socket is back in its free list here.
    this.agent.on('free', (s: net.Socket) => {
      if (s !== this.socket || s.destroyed || !s.writable) return;
      this.endStream();
    });
    this.socket.once('close', () => {
      this.endStream();
      this.agent.destroy();
      hooks.closed();
    });
    // The upstream ended its side (END_STREAM: the app closed the connection, e.g. its keep-alive
    // timeout). No response can come on it any more, so it takes no new request; idle, it closes
    // now (Envoy does not half-close upstream HTTP connections: a remote close removes it from the
    // pool). A request in flight is Node's: its parser sees the end and destroys the socket. Left
    // in the pool, the next request would go out on it and wait forever: the app's RST to those
    // bytes never travels back through the tunnel.
    this.socket.once('end', () => {
      hooks.unusable();
      if (this.current === undefined) this.socket.destroy();
    });
  }

  private endStream(): void {
    const done = this.current;
    this.current = undefined;
    done?.();
  }

  attached(done: () => void): void {
    this.current = done;
  }

  /** Called by the pool only when no request is in flight. */
  close(): void {
    this.socket.destroy();
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** When Node reports no SETTINGS_MAX_CONCURRENT_STREAMS of the peer: unlimited (RFC 9113 §6.5.2's initial value). */
const H2_DEFAULT_CONCURRENT_STREAMS = 2 ** 31 - 1;

/** One HTTP/2 (h2c) session; its streams end when the exchange sees them close. */
export class H2Connection implements PoolConnection {
  readonly session: http2.ClientHttp2Session;

  constructor(stream: Duplex, authority: string, hooks: ConnectionHooks, onError: (err: Error) => void) {
    const session = http2.connect(`http://${authority}`, { createConnection: () => stream });
    this.session = session;
    session.on('error', onError);
    session.once('goaway', () => hooks.unusable());
    session.once('close', () => {
      stream.destroy();
      hooks.closed();
    });
  }

  get capacity(): number {
    return this.session.remoteSettings?.maxConcurrentStreams ?? H2_DEFAULT_CONCURRENT_STREAMS;
  }

  attached(): void {}

  /** GOAWAY: streams in flight finish, new ones are refused, then the session closes. */
  close(): void {
    if (!this.session.closed) this.session.close();
  }

  destroy(): void {
    this.session.destroy();
  }
}
