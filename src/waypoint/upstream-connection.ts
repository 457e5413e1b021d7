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
 * A CONNECT stream as a TCP socket without allowHalfOpen: the peer's end (END_STREAM: the endpoint
 * closed its socket) ends ours too, so the stream closes. An Http2Stream is half-open by design
 * (Node sets allowHalfOpen) and Node's http client ignores 'end' on an idle keep-alive socket:
 * without this a connection the endpoint closed stays pooled and takes the next request, which
 * then waits forever. `onPeerEnd` runs first, so the pool stops handing the connection out before
 * it is gone (Envoy closes an idle upstream connection as soon as it reads the peer's FIN).
 * (HTTP/2 sessions need none of this: Node's http2 ends its transport on EOF itself.)
 */
export function closeOnPeerEnd(d: Duplex, onPeerEnd: () => void): void {
  d.once('end', () => {
    onPeerEnd();
    if (!d.writableEnded && !d.destroyed) d.end();
  });
}

/**
 * The `agent` Node's http client is given for one pooled connection: it hands its one socket to
 * each request and takes it back on 'free', the parts of Node's http.Agent (lib/_http_agent.js,
 * Node 20) a single keep-alive socket needs. The general Agent looked its socket up by a name
 * built from the request options, copied the options and ran its queue and free-list bookkeeping
 * on every request: about 6% of the waypoint's CPU at 1000 req/s (README, Performance). The pool
 * gives a connection one request at a time (capacity 1), so there is no queue here.
 */
class OneSocketAgent {
  // What ClientRequest reads of an agent: keep-alive (so `Connection: keep-alive` is sent and the
  // socket is emitted 'free' after a complete response), the protocol and port it defaults to,
  // and `options.timeout` (none: no socket timeout is armed).
  readonly keepAlive = true;
  readonly maxSockets = 1;
  readonly protocol = 'http:';
  readonly defaultPort = 80;
  readonly options = {};
  private inUse = false;

  constructor(
    private readonly socket: net.Socket,
    /** The request before the socket was complete and reusable: its stream ends here. */
    private readonly onFree: () => void,
  ) {
    // Node's Agent installs these on a free socket (freeSocketErrorListener): an error of an idle
    // connection destroys it instead of going unhandled. A request in flight has its own.
    socket.on('error', () => socket.destroy());
    socket.on('free', () => this.free());
  }

  /** ClientRequest's hook (lib/_http_client.js): the socket, or an error the request then emits. */
  addRequest(req: http.ClientRequest): void {
    if (this.inUse || this.socket.destroyed) {
      // As a failed Agent.createSocket: no socket, the error (a connect failure: no byte was sent).
      (req as unknown as { onSocket(s: undefined, err: Error): void }).onSocket(undefined, new MeshError('UPSTREAM_CONNECT', 'the pooled upstream connection is closed'));
      return;
    }
    this.inUse = true;
    // As Agent.reuseSocket from the second request on (`reusedSocket` is public API).
    if ((this.socket as { _httpMessage?: unknown })._httpMessage === null) (req as { reusedSocket: boolean }).reusedSocket = true;
    req.onSocket(this.socket);
  }

  /**
   * The socket is back (emitted by ClientRequest after a complete keep-alive exchange, or by a
   * request destroyed before it got the socket). As Agent's 'free' listener: a socket no longer
   * writable, or freed without a keep-alive request on it, is destroyed (its 'close' ends the stream).
   */
  private free(): void {
    const s = this.socket as net.Socket & { _httpMessage?: { shouldKeepAlive?: boolean } | null };
    if (s.destroyed) return;
    const req = s._httpMessage;
    if (!s.writable || !req || !req.shouldKeepAlive) {
      s.destroy();
      return;
    }
    s._httpMessage = null;
    this.inUse = false;
    this.onFree();
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/**
 * One HTTP/1.1 connection. Requests go through `agent` (keep-alive, one socket: this one), so Node
 * parses responses and decides reuse (a `Connection: close` answer ends the connection). A stream
 * ends when the socket is freed for the next request, or when the socket closes.
 */
export class H1Connection implements PoolConnection {
  readonly capacity = 1;
  readonly agent: http.Agent;
  private current: (() => void) | undefined;
  private readonly socket: net.Socket;

  constructor(stream: Duplex, hooks: ConnectionHooks) {
    this.socket = socketShim(stream);
    const agent = new OneSocketAgent(this.socket, () => this.endStream());
    this.agent = agent as unknown as http.Agent;
    this.socket.once('close', () => {
      this.endStream();
      hooks.closed();
    });
    // The upstream ended its side: typically an HTTP/1.1 server closing an idle keep-alive
    // connection (Node's keepAliveTimeout is 5 s), relayed by its node agent as END_STREAM; Node's
    // client does not watch 'end' on a free socket. Such a connection carries no further request
    // (RFC 9112 §9.6): a request in flight is failed by Node's client ('socket hang up' before a
    // response, or the end of a close-delimited body); an idle one closes here.
    closeOnPeerEnd(this.socket, () => hooks.unusable());
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
