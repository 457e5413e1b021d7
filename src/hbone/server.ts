// HboneServer: terminates HBONE (mTLS 1.3 + HTTP/2 CONNECT) on raw sockets handed over by the
// proxy's listeners, and passes each CONNECT stream to the caller's handler (ztunnel
// src/tls/workload.rs, src/proxy/h2/server.rs, src/proxy/inbound.rs).
//
// Invariants: a bad peer (TLS failure, foreign CA, bad preface, garbage) costs only its own
// connection: it is logged, reported through onError and destroyed, never thrown. Only CONNECT
// streams reach onConnect; anything else is answered 400 + END_STREAM here.

import * as http2 from 'node:http2';
import type * as net from 'node:net';
import * as tls from 'node:tls';
import { MeshError, meshErrorOf } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import { LogLimiter } from '../common/log-limiter.js';
import type { Http2Config } from '../config/types.js';
import { alertForVerifyError, armPostHandshakeAlert, type PostHandshakeAlert, type TlsAlertName } from '../tls/index.js';
import { sessionMemoryMb } from './client-connection.js';
import { formatAuthority } from './headers.js';
import { connectHeaderProblem, headerFieldsOf } from './connect-headers.js';
import { startKeepalive } from './keepalive.js';
import { killSession, watchTransport, type SessionTransport } from './session-liveness.js';
import { normalizeIp, sessionInfoOf, type HboneSessionInfo, type SocketAddress } from './session-info.js';

/** Server SETTINGS (ztunnel src/proxy/h2/server.rs). */
export const SERVER_MAX_CONCURRENT_STREAMS = 200;
export const SERVER_MAX_HEADER_LIST_BYTES = 64 * 1024;
const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;
/** Refused clients are logged at WARN at most once per source IP per this many ms. */
export const REJECTION_LOG_WINDOW_MS = 10_000;
const REJECTION_LOG_MAX_SOURCES = 4096;
/** After a close_notify fallback, how long the peer gets to take it before the socket is destroyed. */
const CLOSE_NOTIFY_GRACE_MS = 1_000;

export type HboneServerErrorPhase = 'context' | 'tls' | 'identity' | 'h2' | 'keepalive';

export interface HboneServerInputs {
  readonly http2: Http2Config;
  readonly logger: Logger;
  /** The certificate to present, chosen by the local (destination) IP of the accepted socket. */
  readonly secureContextFor: (localIp: string) => Promise<tls.SecureContext>;
  /** Extra TLSSocket options (ALPN, ciphers...); requestCert/rejectUnauthorized are forced on. */
  readonly tlsOptions: (ctx: tls.SecureContext) => tls.TLSSocketOptions;
  /** Checks the verified peer (e.g. trust domain) and returns its identity; throws to reject. */
  readonly verifyPeer: (socket: tls.TLSSocket) => string;
  /** Called once per CONNECT stream; the handler answers with stream.respond or respondError. */
  readonly onConnect: (req: HboneInboundRequest) => void;
  /** Failed connections, for the caller's counters; logging is done here. */
  readonly onError?: (err: Error, phase: HboneServerErrorPhase) => void;
  /** TLS handshake deadline, ms (default 10 s). */
  readonly handshakeTimeoutMs?: number;
}

export interface HboneInboundRequest {
  readonly stream: http2.ServerHttp2Stream;
  readonly authority: string;
  readonly headers: http2.IncomingHttpHeaders;
  readonly peerIdentity: string;
  /** The accepted socket's local address (destination pod IP:15008). */
  readonly localAddress: SocketAddress;
  readonly remoteAddress: SocketAddress;
  readonly session: HboneSessionInfo;
}

export interface HboneServerStats {
  /** Sockets between hand-over and HTTP/2 start. */
  readonly handshaking: number;
  readonly sessions: number;
  readonly streams: number;
}

interface SessionCtx {
  readonly info: HboneSessionInfo;
  readonly peerIdentity: string;
  readonly transport: SessionTransport;
  stopKeepalive: () => void;
}

/** After a drain's streams are done, how long peers get to close their end before we cut it, ms. */
const DRAIN_CLOSE_GRACE_MS = 1000;

/**
 * Answers a CONNECT with an error status: HEADERS + END_STREAM, no body
 * (ztunnel src/proxy/inbound.rs).
 */
export function respondError(stream: http2.ServerHttp2Stream, status: number): void {
  if (stream.destroyed || stream.headersSent) return;
  stream.respond({ ':status': status }, { endStream: true });
  // Discard anything the client still sends; the client resets its half on a non-200.
  stream.resume();
}

/**
 * The one client refusal OpenSSL makes itself during the handshake: no certificate at all (we
 * require one), answered with certificate_required (RFC 8446 §4.4.2.4). Logged like ours.
 */
function alertSentByOpenssl(err: Error): TlsAlertName | undefined {
  const code = (err.cause as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE' ? 'certificate_required' : undefined;
}

/** Result of OpenSSL's chain check, which a bare server TLSSocket does not act on by itself. */
function chainVerifyError(sock: tls.TLSSocket): string | undefined {
  // tls.Server runs this same check in onServerSocketSecure; with no tls.Server we do it here.
  const handle = (sock as unknown as { _handle?: { verifyError?: () => (Error & { code?: string }) | null } })._handle;
  if (!handle || typeof handle.verifyError !== 'function') return 'certificate verification result unavailable';
  const e = handle.verifyError();
  return e ? (e.code ?? e.message) : undefined;
}

export class HboneServer {
  private readonly inputs: HboneServerInputs;
  private readonly h2: http2.Http2Server;
  private readonly handshaking = new Set<net.Socket>();
  private readonly sessions = new Map<http2.ServerHttp2Session, SessionCtx>();
  /** Raw sockets that reached HTTP/2 or were rejected: each is reported at most once. */
  private readonly settled = new WeakSet<net.Socket>();
  /** The TLS socket wrapping a raw socket still in handshake. */
  private readonly wrapped = new WeakMap<net.Socket, tls.TLSSocket>();
  /** Alert senders of handshaking sockets (they hold the traffic secret: dropped once decided). */
  private readonly alerts = new WeakMap<net.Socket, PostHandshakeAlert>();
  private readonly rejectionLog = new LogLimiter({ windowMs: REJECTION_LOG_WINDOW_MS, maxKeys: REJECTION_LOG_MAX_SOURCES });
  /** Open streams per session (Node does not expose the count). */
  private readonly streamCounts = new WeakMap<http2.Http2Session, number>();
  /** Set synchronously around h2.emit('connection') so the 'session' handler can pick it up. */
  private pendingCtx: SessionCtx | undefined;
  private closing = false;
  /** Drain waiters, re-checked whenever a session or stream closes. */
  private readonly changeListeners = new Set<() => void>();

  constructor(inputs: HboneServerInputs) {
    this.inputs = inputs;
    const h = inputs.http2;
    // A plain (h2c) server that never listens: we feed it sockets that are already TLS.
    this.h2 = http2.createServer({
      maxSessionMemory: sessionMemoryMb(h),
      settings: {
        maxConcurrentStreams: SERVER_MAX_CONCURRENT_STREAMS,
        maxHeaderListSize: SERVER_MAX_HEADER_LIST_BYTES,
        initialWindowSize: h.streamWindowBytes,
        maxFrameSize: h.frameSizeBytes,
      },
    });
    this.h2.on('session', (session: http2.ServerHttp2Session) => this.onSession(session));
    this.h2.on('stream', (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => this.onStream(stream, headers));
  }

  /**
   * Takes ownership of an accepted TCP socket. Listeners may use pauseOnConnect; bytes that already
   * arrived are replayed into TLS by Node, so hand-over timing does not matter.
   */
  handleSocket(socket: net.Socket): void {
    if (this.closing) {
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    this.handshaking.add(socket);
    const done = (): void => {
      this.handshaking.delete(socket);
    };
    socket.once('close', done);
    socket.on('error', () => {}); // reported through the TLS socket or the timeout below
    const localIp = normalizeIp(socket.localAddress);
    const timer = setTimeout(() => {
      this.fail(socket, 'tls', new MeshError('TLS_HANDSHAKE', `tls handshake from ${socket.remoteAddress} timed out`));
    }, this.inputs.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS);
    timer.unref();
    socket.once('close', () => clearTimeout(timer));

    this.inputs.secureContextFor(localIp).then(
      (ctx) => {
        if (socket.destroyed) return;
        if (this.closing) {
          socket.destroy();
          return;
        }
        let tlsSocket: tls.TLSSocket;
        try {
          tlsSocket = new tls.TLSSocket(socket, {
            ...this.inputs.tlsOptions(ctx),
            isServer: true,
            secureContext: ctx,
            requestCert: true,
            rejectUnauthorized: true,
          });
        } catch (err) {
          this.fail(socket, 'tls', new MeshError('TLS_HANDSHAKE', `tls setup failed: ${(err as Error).message}`, { cause: err }));
          return;
        }
        this.wrapped.set(socket, tlsSocket);
        // Before our 'secure' listener: it records the state the alert's sequence number rests on.
        this.alerts.set(socket, armPostHandshakeAlert(tlsSocket, socket));
        let secured = false;
        tlsSocket.on('error', (err) => {
          if (!secured) {
            this.fail(socket, 'tls', new MeshError('TLS_HANDSHAKE', `tls handshake from ${socket.remoteAddress} failed: ${err.message}`, { cause: err }));
          }
          // After hand-off the HTTP/2 session reports its own errors.
        });
        tlsSocket.once('secure', () => {
          secured = true;
          clearTimeout(timer);
          this.onSecure(socket, tlsSocket);
        });
      },
      (err: unknown) => {
        this.fail(socket, 'context', new MeshError('CERT_INVALID', `no certificate for local address ${localIp}: ${(err as Error).message}`, { cause: err }));
      },
    );
  }

  /**
   * GOAWAY to every session, wait for their streams until `deadlineMs`, then cut what is left.
   * Always settles by the deadline (plus at most DRAIN_CLOSE_GRACE_MS when streams finished
   * early), whatever peers do: Node's own graceful close would wait for each peer's FIN forever.
   */
  async close(deadlineMs: number): Promise<void> {
    this.closing = true;
    const started = Date.now();
    for (const s of this.handshaking) (this.wrapped.get(s) ?? s).destroy();
    for (const session of this.sessions.keys()) if (!session.destroyed) session.close();
    const idle = await this.waitUntil(() => this.stats().streams === 0, deadlineMs);
    if (!idle) {
      this.inputs.logger.warn({ sessions: this.sessions.size, streams: this.stats().streams }, 'hbone drain deadline reached, force-closing');
    } else {
      // Streams are done and GOAWAY is out; give peers a moment to close their end cleanly.
      const left = Math.max(0, Math.min(DRAIN_CLOSE_GRACE_MS, deadlineMs - (Date.now() - started)));
      await this.waitUntil(() => this.sessions.size === 0, left);
    }
    this.destroy();
  }

  /** Resolves true once `cond()` holds (checked on every session or stream close), false at the timeout. */
  private waitUntil(cond: () => boolean, timeoutMs: number): Promise<boolean> {
    if (cond()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const check = (): void => {
        if (!cond()) return;
        clearTimeout(timer);
        this.changeListeners.delete(check);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.changeListeners.delete(check);
        resolve(false);
      }, timeoutMs);
      this.changeListeners.add(check);
    });
  }

  private notifyChange(): void {
    for (const l of [...this.changeListeners]) l();
  }

  destroy(): void {
    this.closing = true;
    for (const s of this.handshaking) (this.wrapped.get(s) ?? s).destroy();
    for (const [session, ctx] of [...this.sessions]) killSession(session, ctx.transport, 'server shutting down');
  }

  stats(): HboneServerStats {
    let streams = 0;
    for (const session of this.sessions.keys()) streams += this.openStreams(session);
    return { handshaking: this.handshaking.size, sessions: this.sessions.size, streams };
  }

  private openStreams(session: http2.Http2Session): number {
    return this.streamCounts.get(session) ?? 0;
  }

  /**
   * Rejects a connection in handshake. Once wrapped, only the TLS socket may be destroyed: tearing
   * down the raw socket under a live TLSWrap (e.g. inside its handshake callback) crashes Node.
   * `alert` is given for a client refused after the handshake (chain, identity, ALPN): it is sent
   * as an encrypted TLS alert (must be called synchronously from 'secure'), or if that cannot be
   * done correctly the connection ends with close_notify instead of a bare reset.
   */
  private fail(socket: net.Socket, phase: HboneServerErrorPhase, err: Error, alert?: TlsAlertName): void {
    if (this.settled.has(socket)) return;
    this.settled.add(socket);
    this.handshaking.delete(socket);
    const sender = this.alerts.get(socket);
    this.alerts.delete(socket);
    const wrapped = this.wrapped.get(socket);
    let notSent: string | undefined;
    if (alert !== undefined) notSent = wrapped && sender ? sender.send(alert) : 'no TLS socket';
    this.logFailure(socket, phase, err, alert ?? alertSentByOpenssl(err), notSent);
    if (wrapped && alert !== undefined && notSent !== undefined) {
      // Fallback: a clean TLS close (close_notify at OpenSSL's own sequence number), then destroy.
      // Deferred: we are inside OpenSSL's handshake callback, where SSL_shutdown must not run.
      const timer = setTimeout(() => wrapped.destroy(), CLOSE_NOTIFY_GRACE_MS);
      timer.unref();
      wrapped.once('close', () => clearTimeout(timer));
      setImmediate(() => wrapped.destroySoon());
    } else if (wrapped) wrapped.destroy();
    else socket.destroy();
    this.inputs.onError?.(err, phase);
  }

  /**
   * Refused clients (`alert` set): WARN, at most one line per source IP per window with the count
   * of lines suppressed before it, since a client can retry at will. The rest as before.
   */
  private logFailure(socket: net.Socket, phase: HboneServerErrorPhase, err: Error, alert: TlsAlertName | undefined, notSent: string | undefined): void {
    const log = this.inputs.logger;
    const fields = { src: `${socket.remoteAddress}:${socket.remotePort}`, phase, code: meshErrorOf(err)?.code, err: err.message };
    if (alert !== undefined) {
      if (notSent !== undefined) log.debug({ ...fields, alert, reason: notSent }, 'hbone: tls alert not sent');
      const d = this.rejectionLog.admit(normalizeIp(socket.remoteAddress));
      if (d.log) log.warn({ ...fields, alert: notSent === undefined ? alert : 'close_notify', suppressed: d.suppressed }, 'hbone connection rejected');
    } else if (phase === 'identity' || phase === 'context') log.warn(fields, 'hbone connection rejected');
    else log.debug(fields, 'hbone connection failed');
  }

  private onSecure(raw: net.Socket, sock: tls.TLSSocket): void {
    const chainError = chainVerifyError(sock);
    if (chainError !== undefined) {
      this.fail(raw, 'tls', new MeshError('CERT_INVALID', `client certificate rejected: ${chainError}`), alertForVerifyError(chainError));
      return;
    }
    if (sock.alpnProtocol !== 'h2') {
      this.fail(raw, 'tls', new MeshError('TLS_HANDSHAKE', 'client did not negotiate ALPN h2'), 'no_application_protocol');
      return;
    }
    let peerIdentity: string;
    try {
      peerIdentity = this.inputs.verifyPeer(sock);
    } catch (err) {
      // Trust domain, SAN rule, EKU: the chain is fine but the certificate is not acceptable here.
      const alert = sock.getPeerX509Certificate() ? 'bad_certificate' : 'certificate_required';
      this.fail(raw, 'identity', err instanceof Error ? err : new Error(String(err)), alert);
      return;
    }
    this.alerts.delete(raw);
    this.handshaking.delete(raw);
    this.settled.add(raw);
    // tls.Server clears this before 'secureConnection'; Http2Session waits for a 'secureConnect'
    // (never emitted on server sockets) while it is still set.
    (sock as tls.TLSSocket & { secureConnecting: boolean }).secureConnecting = false;
    // Synchronous hand-off: data after the handshake stays buffered and the session replays it.
    this.pendingCtx = { info: sessionInfoOf(sock), peerIdentity, transport: { tls: sock, tcp: raw }, stopKeepalive: () => {} };
    try {
      this.h2.emit('connection', sock);
    } finally {
      this.pendingCtx = undefined;
    }
  }

  private onSession(session: http2.ServerHttp2Session): void {
    const ctx = this.pendingCtx;
    if (!ctx) {
      session.destroy();
      return;
    }
    this.sessions.set(session, ctx);
    this.streamCounts.set(session, 0);
    const log = this.inputs.logger;
    watchTransport(session, ctx.transport, (reason) => {
      log.debug({ peer: ctx.peerIdentity, src: formatAuthority(ctx.info.remoteAddress.ip, ctx.info.remoteAddress.port), reason }, 'hbone connection lost');
      this.dropSession(session);
    });
    const h = this.inputs.http2;
    try {
      session.setLocalWindowSize(h.connectionWindowBytes);
    } catch (err) {
      log.debug({ err }, 'hbone: could not raise the connection window');
    }
    ctx.stopKeepalive = startKeepalive(session, { intervalMs: h.pingIntervalMs, timeoutMs: h.pingTimeoutMs }, (reason) => {
      log.warn({ peer: ctx.peerIdentity, reason }, 'hbone connection dead, closing');
      this.inputs.onError?.(new MeshError('H2_ERROR', `keepalive: ${reason}`), 'keepalive');
      // ztunnel: abrupt shutdown with GOAWAY NO_ERROR (best effort: the peer is not answering).
      if (!session.destroyed) session.goaway(http2.constants.NGHTTP2_NO_ERROR);
      killSession(session, ctx.transport, `keepalive: ${reason}`);
    });
    session.on('error', (err: Error) => {
      log.debug({ peer: ctx.peerIdentity, err: err.message }, 'hbone session error');
      this.inputs.onError?.(err, 'h2');
    });
    session.once('close', () => this.dropSession(session));
  }

  private dropSession(session: http2.ServerHttp2Session): void {
    const ctx = this.sessions.get(session);
    if (!ctx) return;
    ctx.stopKeepalive();
    this.sessions.delete(session);
    this.notifyChange();
  }

  private onStream(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): void {
    const session = stream.session as http2.ServerHttp2Session | undefined;
    const ctx = session ? this.sessions.get(session) : undefined;
    // A stream error with no listener would throw; handlers add their own on top.
    stream.on('error', (err) => this.inputs.logger.debug({ err: err.message }, 'hbone stream error'));
    if (!session || !ctx) {
      stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
      return;
    }
    this.streamCounts.set(session, this.openStreams(session) + 1);
    stream.once('close', () => {
      this.streamCounts.set(session, Math.max(0, this.openStreams(session) - 1));
      this.notifyChange();
    });
    // RFC 9113 §8.1.1: a malformed request is refused on its own stream; the session carries on.
    const problem = connectHeaderProblem(headerFieldsOf(headers));
    if (problem !== undefined) {
      const err = new MeshError('BAD_HEADER', `malformed CONNECT request: ${problem}`);
      this.inputs.logger.debug({ peer: ctx.peerIdentity, stream: stream.id, err: err.message }, 'hbone request refused');
      this.inputs.onError?.(err, 'h2');
      respondError(stream, err.status);
      return;
    }
    const authority = headers[':authority'];
    if (headers[':method'] !== 'CONNECT' || typeof authority !== 'string') {
      respondError(stream, 400);
      return;
    }
    this.inputs.onConnect({
      stream,
      authority,
      headers,
      peerIdentity: ctx.peerIdentity,
      localAddress: ctx.info.localAddress,
      remoteAddress: ctx.info.remoteAddress,
      session: ctx.info,
    });
  }
}
