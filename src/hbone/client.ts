// HbonePool: the outbound HBONE client. One pool per listener; it multiplexes CONNECT streams
// over pooled mTLS HTTP/2 connections per key, with ztunnel's reuse rules (src/proxy/pool.rs).
//
// Invariants:
//  - a connection is handed out only while usable (ready: no GOAWAY, error or close) and its
//    active streams < min(maxStreamsPerConnection, peer MAX_CONCURRENT_STREAMS); the slot is
//    reserved synchronously at checkout, so concurrent callers never overshoot the limit;
//  - at most one dial per key is in flight; other callers for that key wait for it, then re-check;
//  - a connection not checked out for unusedReleaseTimeoutMs leaves the pool and closes
//    gracefully (its open streams finish first);
//  - a connection whose transport fails (peer FIN, RST, error) or whose keepalive dies leaves the
//    pool at once and its sockets are destroyed; a retired connection whose streams are all done
//    is destroyed after RETIRED_CLOSE_GRACE_MS even if the peer never closes its end.

import * as http2 from 'node:http2';
import type * as net from 'node:net';
import type * as tls from 'node:tls';
import { MeshError, isMeshError } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import type { Http2Config, PoolConfig } from '../config/types.js';
import { dialHbone, type TcpConnector } from './client-connection.js';
import { formatAuthority } from './headers.js';
import { startKeepalive } from './keepalive.js';
import type { HboneSessionInfo } from './session-info.js';
import { killSession, sessionLostReason, watchTransport, type SessionTransport } from './session-liveness.js';

export interface HbonePoolInputs {
  readonly http2: Http2Config;
  readonly pool: PoolConfig;
  readonly connectTimeoutMs: number;
  readonly logger: Logger;
  /** Outer TCP dialer (in-pod: from inside the pod's netns); default: the agent's namespace. */
  readonly connectTcp?: TcpConnector;
}

export interface HboneConnectRequest {
  /** Pool key built by the caller: srcIdentity|sorted expected SANs|srcIp|nextHop ip:port. */
  readonly key: string;
  readonly nextHop: { readonly ip: string; readonly port: number };
  /** Source IP to bind the outer TCP connection to. */
  readonly localAddress?: string;
  /** Called for every new connection (the certificate may have rotated). */
  readonly tls: () => tls.ConnectionOptions;
  /**
   * Optional second identity check done by the pool after the handshake and before any HTTP/2
   * byte: the peer leaf must carry one of these URI SANs, else IDENTITY_MISMATCH.
   */
  readonly expectedSans?: readonly string[];
  readonly authority: string;
  /** baggage, forwarded, traceparent, ... (lowercase names). */
  readonly headers: Readonly<Record<string, string>>;
}

export interface HboneClientStream {
  /** The CONNECT stream after a 200; hand it to copyBidirectional. */
  readonly stream: http2.ClientHttp2Stream;
  readonly responseHeaders: http2.IncomingHttpHeaders;
  readonly session: HboneSessionInfo;
}

export interface HbonePoolStats {
  /** Open HTTP/2 connections, pooled or draining. */
  readonly connections: number;
  /** CONNECT streams open or being opened. */
  readonly streams: number;
  /** Keys with a pooled connection or a dial in flight. */
  readonly keys: number;
}

type ConnState = 'ready' | 'draining' | 'closed';

interface PooledConnection {
  readonly key: string;
  readonly session: http2.ClientHttp2Session;
  readonly info: HboneSessionInfo;
  readonly transport: SessionTransport;
  state: ConnState;
  activeStreams: number;
  idleTimer: NodeJS.Timeout | undefined;
  stopKeepalive: () => void;
}

interface KeyEntry {
  conns: PooledConnection[];
  dialing: Promise<void> | undefined;
}

const { NGHTTP2_CANCEL, NGHTTP2_REFUSED_STREAM } = http2.constants;

/** How long a retired connection with no streams left may wait for the peer to close, ms. */
export const RETIRED_CLOSE_GRACE_MS = 1000;

export class HbonePool {
  private readonly inputs: HbonePoolInputs;
  private readonly entries = new Map<string, KeyEntry>();
  private readonly live = new Set<PooledConnection>();
  private readonly dialSockets = new Set<net.Socket>();
  private closing = false;

  constructor(inputs: HbonePoolInputs) {
    this.inputs = inputs;
  }

  /** Opens a CONNECT stream to `req.authority` through a pooled connection to `req.nextHop`. */
  async connect(req: HboneConnectRequest): Promise<HboneClientStream> {
    // One retry on a fresh connection covers a stream that never got an answer because its
    // connection was lost, got GOAWAY or refused it: no app byte was sent on it yet.
    for (let attempt = 0; ; attempt++) {
      const conn = await this.checkout(req);
      let stream: http2.ClientHttp2Stream;
      try {
        stream = conn.session.request(
          { ...req.headers, ':method': 'CONNECT', ':authority': req.authority },
          { endStream: false },
        );
      } catch (err) {
        conn.activeStreams--;
        this.retire(conn, 'draining');
        if (attempt === 0) continue;
        throw new MeshError('H2_STREAM', `hbone request to ${req.authority} failed: ${(err as Error).message}`, { cause: err });
      }
      stream.once('close', () => {
        conn.activeStreams--;
        this.maybeFinishRetired(conn);
      });
      try {
        return await this.awaitResponse(conn, stream, req);
      } catch (err) {
        const refused = stream.rstCode === NGHTTP2_REFUSED_STREAM;
        const connGone = sessionLostReason(conn.session) !== undefined || conn.session.closed || conn.session.destroyed;
        if (attempt === 0 && isMeshError(err, 'H2_STREAM') && (refused || connGone)) {
          this.retire(conn, 'draining');
          this.inputs.logger.debug({ key: req.key, err: err.message }, 'hbone stream lost before a response; retrying on a new connection');
          continue;
        }
        throw err;
      }
    }
  }

  /**
   * Stops handing out connections and closes every session gracefully (open streams finish
   * first); resolves when all are closed. Unbounded while streams stay open: callers bound it
   * with their drain deadline and then call destroy().
   */
  async close(): Promise<void> {
    this.closing = true;
    const closed = [...this.live].map((c) => new Promise<void>((resolve) => {
      if (c.session.destroyed) resolve();
      else {
        c.session.once('close', () => resolve());
        this.retire(c, 'draining');
        this.maybeFinishRetired(c);
      }
    }));
    for (const s of this.dialSockets) s.destroy();
    await Promise.all(closed);
  }

  /** Tears down every connection and dial now; open streams are reset. */
  destroy(): void {
    this.closing = true;
    for (const s of this.dialSockets) s.destroy();
    for (const c of [...this.live]) killSession(c.session, c.transport, 'hbone pool destroyed');
  }

  stats(): HbonePoolStats {
    let streams = 0;
    for (const c of this.live) streams += c.activeStreams;
    return { connections: this.live.size, streams, keys: this.entries.size };
  }

  private maxStreams(conn: PooledConnection): number {
    const peer = conn.session.remoteSettings.maxConcurrentStreams ?? Number.MAX_SAFE_INTEGER;
    return Math.min(this.inputs.pool.maxStreamsPerConnection, peer);
  }

  private usable(conn: PooledConnection): boolean {
    return conn.state === 'ready' && !conn.session.closed && !conn.session.destroyed;
  }

  /** Returns a connection with one stream slot reserved (activeStreams already incremented). */
  private async checkout(req: HboneConnectRequest): Promise<PooledConnection> {
    for (;;) {
      if (this.closing) throw new MeshError('DRAINING', 'hbone pool is closing');
      let entry = this.entries.get(req.key);
      if (!entry) {
        entry = { conns: [], dialing: undefined };
        this.entries.set(req.key, entry);
      }
      // No await between this read and the reservation below.
      const conn = entry.conns.find((c) => this.usable(c) && c.activeStreams < this.maxStreams(c));
      if (conn) {
        conn.activeStreams++;
        this.armIdleTimer(conn);
        return conn;
      }
      if (!entry.dialing) entry.dialing = this.dial(req, entry);
      // A failed dial fails every caller that waited on it (no retry storm of timeouts).
      await entry.dialing;
    }
  }

  private async dial(req: HboneConnectRequest, entry: KeyEntry): Promise<void> {
    const log = this.inputs.logger;
    try {
      const { session, info, transport } = await dialHbone({
        nextHop: req.nextHop,
        localAddress: req.localAddress,
        connectTcp: this.inputs.connectTcp,
        tls: req.tls,
        expectedSans: req.expectedSans,
        http2: this.inputs.http2,
        connectTimeoutMs: this.inputs.connectTimeoutMs,
        track: (s) => {
          this.dialSockets.add(s);
          return () => this.dialSockets.delete(s);
        },
      });
      if (this.closing) {
        killSession(session, transport, 'hbone pool is closing');
        throw new MeshError('DRAINING', 'hbone pool is closing');
      }
      const conn: PooledConnection = {
        key: req.key, session, info, transport, state: 'ready', activeStreams: 0, idleTimer: undefined, stopKeepalive: () => {},
      };
      this.adopt(conn, entry);
      log.debug({ key: req.key, peer: info.peerIdentity, dst: formatAuthority(req.nextHop.ip, req.nextHop.port) }, 'hbone connection established');
    } catch (err) {
      log.debug({ key: req.key, err }, 'hbone connection failed');
      throw err;
    } finally {
      entry.dialing = undefined;
      this.dropEntryIfEmpty(req.key, entry);
    }
  }

  private adopt(conn: PooledConnection, entry: KeyEntry): void {
    const { session } = conn;
    entry.conns.push(conn);
    this.live.add(conn);
    const log = this.inputs.logger;
    watchTransport(session, conn.transport, (reason) => {
      log.debug({ key: conn.key, reason }, 'hbone connection lost');
      this.retire(conn, 'closed');
      this.live.delete(conn);
    });
    session.on('goaway', (code: number) => {
      log.debug({ key: conn.key, code }, 'hbone connection got GOAWAY');
      this.retire(conn, 'draining');
      this.maybeFinishRetired(conn);
    });
    session.on('error', (err: Error) => {
      log.debug({ key: conn.key, err }, 'hbone connection error');
      this.retire(conn, 'draining');
    });
    session.once('close', () => {
      this.retire(conn, 'closed');
      this.live.delete(conn);
    });
    const h = this.inputs.http2;
    conn.stopKeepalive = startKeepalive(session, { intervalMs: h.pingIntervalMs, timeoutMs: h.pingTimeoutMs }, (reason) => {
      log.warn({ key: conn.key, reason }, 'hbone connection dead, dropping');
      killSession(session, conn.transport, `keepalive: ${reason}`);
    });
    this.armIdleTimer(conn);
  }

  private armIdleTimer(conn: PooledConnection): void {
    // Per checkout: restart the one timer (refresh() keeps its object and callback) rather than a
    // clearTimeout + new setTimeout per connection made through the pool.
    if (conn.idleTimer) {
      conn.idleTimer.refresh();
      return;
    }
    conn.idleTimer = setTimeout(() => {
      this.inputs.logger.debug({ key: conn.key }, 'hbone connection unused, releasing');
      this.retire(conn, 'draining');
      this.maybeFinishRetired(conn);
    }, this.inputs.pool.unusedReleaseTimeoutMs);
    conn.idleTimer.unref();
  }

  /**
   * A retired connection with no stream left: GOAWAY (graceful close), then destroy it unless the
   * peer closed its end within RETIRED_CLOSE_GRACE_MS (Node alone would wait for that forever).
   */
  private maybeFinishRetired(conn: PooledConnection): void {
    if (conn.state !== 'draining' || conn.activeStreams > 0 || conn.session.destroyed) return;
    if (!conn.session.closed) conn.session.close();
    setTimeout(() => {
      if (!conn.session.destroyed) killSession(conn.session, conn.transport, 'retired connection not closed by the peer');
    }, RETIRED_CLOSE_GRACE_MS).unref();
  }

  /** Takes a connection out of the pool: no new streams; open ones run to completion. */
  private retire(conn: PooledConnection, to: Exclude<ConnState, 'ready'>): void {
    if (conn.state === 'closed' || (conn.state === 'draining' && to === 'draining')) return;
    conn.state = to;
    if (conn.idleTimer) clearTimeout(conn.idleTimer);
    conn.idleTimer = undefined;
    if (to === 'closed') conn.stopKeepalive();
    const entry = this.entries.get(conn.key);
    if (!entry) return;
    entry.conns = entry.conns.filter((c) => c !== conn);
    this.dropEntryIfEmpty(conn.key, entry);
  }

  private dropEntryIfEmpty(key: string, entry: KeyEntry): void {
    if (entry.conns.length === 0 && !entry.dialing && this.entries.get(key) === entry) this.entries.delete(key);
  }

  private awaitResponse(conn: PooledConnection, stream: http2.ClientHttp2Stream, req: HboneConnectRequest): Promise<HboneClientStream> {
    const via = formatAuthority(req.nextHop.ip, req.nextHop.port);
    return new Promise<HboneClientStream>((resolve, reject) => {
      const cleanup = (): void => {
        stream.off('response', onResponse);
        stream.off('error', onError);
        stream.off('close', onClose);
      };
      const onResponse = (headers: http2.IncomingHttpHeaders): void => {
        cleanup();
        const status = Number(headers[':status']);
        if (status === 200) {
          resolve({ stream, responseHeaders: headers, session: conn.info });
          return;
        }
        // The server ended its side with the error HEADERS: end ours with END_STREAM, not a reset
        // (RST_STREAM counts toward nghttp2's rapid-reset limit: ~1000 refused CONNECTs in a burst
        // would make the peer GOAWAY the connection and kill every live tunnel on it). A server
        // that left its side open gets the reset after a grace period.
        stream.on('error', () => {});
        stream.resume();
        stream.end();
        const timer = setTimeout(() => stream.close(NGHTTP2_CANCEL), RETIRED_CLOSE_GRACE_MS);
        timer.unref();
        stream.once('close', () => clearTimeout(timer));
        reject(new MeshError('HBONE_STATUS', `hbone CONNECT to ${req.authority} via ${via} failed: status ${status}`, { status }));
      };
      const onError = (err: Error): void => {
        cleanup();
        stream.on('error', () => {});
        reject(new MeshError('H2_STREAM', `hbone CONNECT to ${req.authority} via ${via} failed: ${err.message}`, { cause: err }));
      };
      const onClose = (): void => {
        cleanup();
        const lost = sessionLostReason(conn.session);
        reject(
          new MeshError(
            'H2_STREAM',
            `hbone CONNECT to ${req.authority} via ${via}: stream closed before a response (${lost ?? `rst code ${stream.rstCode}`})`,
          ),
        );
      };
      stream.once('response', onResponse);
      stream.once('error', onError);
      stream.once('close', onClose);
    });
  }
}
