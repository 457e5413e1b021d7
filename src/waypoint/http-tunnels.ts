// HTTP inside CONNECT tunnels: each tunnel's bytes are fed to a Node HTTP/1.1 server or, when they
// open with the HTTP/2 preface (prior knowledge, gRPC), to an HTTP/2 server; neither listens.
// Also Upgrade (WebSocket) pass-through and the per-tunnel bookkeeping a graceful drain needs.

import * as http from 'node:http';
import * as http2 from 'node:http2';
import type { Duplex } from 'node:stream';
import { headerMapFromRaw, requestHead, stripHopByHop } from './header-map.js';
import { handleRequest, type RequestHandlerInputs, type TunnelContext } from './request-handler.js';
import { decide, type MutableRequest } from './route-decision.js';
import { clusterEndpoints } from './load-balancer.js';
import { buffersOnly } from './buffers-only.js';
import { h1HostProblem, h2RequestProblem, MAX_REQUEST_HEADERS } from './request-validation.js';
import { watchGoaway } from './h2-goaway-watch.js';
import { clientErrorReason, markBadRequest } from './bad-request-counter.js';

/** RFC 9113 §3.4 client connection preface. */
const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');

/** Idle keep-alive between requests on one tunnel, ms (Envoy's idle_timeout default is 1 h; we keep it shorter). */
const KEEP_ALIVE_MS = 60_000;

/** Time for a GOAWAY (connection error) to be written before its tunnel is ended, ms. */
const H2_GOAWAY_FLUSH_MS = 50;

/** How long an idle HTTP/1.1 tunnel ended by a drain may wait for the client to close its half, ms. */
const DRAIN_IDLE_GRACE_MS = 1000;

interface Tunnel {
  readonly stream: Duplex;
  readonly ctx: TunnelContext;
  kind: 'sniffing' | 'h1' | 'h2' | 'upgraded';
  active: number;
  session?: http2.ServerHttp2Session;
  /** HTTP/1.1: a malformed request was seen; the tunnel ends after the answers owed. */
  failed?: boolean;
  /** Runs once no response is in flight (the error answer after pipelined responses). */
  afterIdle?: () => void;
}

export class HttpTunnels {
  private readonly h1: http.Server;
  private readonly h2: http2.Http2Server;
  private readonly tunnels = new Set<Tunnel>();
  private readonly byStream = new WeakMap<object, Tunnel>();
  private pending: Tunnel | undefined;
  private draining = false;

  constructor(private readonly inputs: RequestHandlerInputs & { readonly upgrade: UpgradeInputs }) {
    // requireHostHeader off: the Host rule is checked (and counted) by h1HostProblem.
    this.h1 = http.createServer({ keepAliveTimeout: KEEP_ALIVE_MS, requestTimeout: 0, headersTimeout: 60_000, requireHostHeader: false });
    // One more than allowed, so an excess reaches the handler (431) instead of being dropped.
    this.h1.maxHeadersCount = MAX_REQUEST_HEADERS + 1;
    this.h1.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => this.onH1Request(req, res));
    this.h1.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => this.onUpgrade(req, socket, head));
    this.h1.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => this.onClientError(err, socket));
    // CONNECT inside a tunnel: Envoy answers 403 to an upgrade its route does not enable (Istio
    // enables none for CONNECT); Node would silently drop the tunnel without this listener.
    this.h1.on('connect', (_req: http.IncomingMessage, socket: Duplex) => {
      const t = this.byStream.get(socket);
      if (!t) socket.destroy();
      else this.finalAnswer(t, socket, 403);
    });
    this.h2 = http2.createServer({});
    this.h2.on('session', (session: http2.ServerHttp2Session) => {
      // A protocol error ends this session (GOAWAY) and its tunnel only; counted, never thrown.
      session.on('error', (err) => {
        this.inputs.badRequests.h2(err);
        this.inputs.logger.debug({ err: err.message, code: (err as NodeJS.ErrnoException).code }, 'waypoint: h2 session error in a tunnel');
      });
      session.on('frameError', (type: number, code: number) => {
        this.inputs.logger.debug({ type, code }, 'waypoint: h2 frame error in a tunnel');
      });
      const t = this.pending;
      if (!t) return;
      t.session = session;
      this.byStream.set(session, t);
    });
    this.h2.on('request', (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => {
      const t = this.byStream.get(req.stream.session as object);
      if (!t) {
        res.stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
        return;
      }
      const problem = h2RequestProblem(req.rawHeaders);
      if (problem !== undefined) {
        // Malformed (RFC 9113 §8.1.1): a stream error on this stream only.
        this.inputs.badRequests.inc('h2_stream');
        this.inputs.logger.debug({ reason: problem, peer: t.ctx.peerIdentity }, 'waypoint: malformed HTTP/2 request');
        res.stream.close(http2.constants.NGHTTP2_PROTOCOL_ERROR);
        return;
      }
      this.track(t, res);
      handleRequest(this.inputs, t.ctx, req, res);
    });
  }

  /** Serves one CONNECT stream (already answered 200); resolves when it is closed. */
  serve(stream: Duplex, ctx: TunnelContext): Promise<void> {
    const t: Tunnel = { stream, ctx, kind: 'sniffing', active: 0 };
    this.tunnels.add(t);
    this.byStream.set(stream, t);
    stream.on('error', () => {});
    const closed = new Promise<void>((resolve) => stream.once('close', () => {
      this.tunnels.delete(t);
      resolve();
    }));
    const chunks: Buffer[] = [];
    const decideKind = (): void => {
      try {
        handOver();
      } catch (err) {
        this.inputs.logger.error({ err }, 'waypoint: tunnel hand-over failed');
        stream.destroy();
      }
    };
    const handOver = (): void => {
      stream.off('data', onData);
      stream.off('end', decideKind);
      stream.pause();
      const buf = Buffer.concat(chunks);
      if (buf.length > 0) stream.unshift(buf);
      const isH2 = buf.length >= H2_PREFACE.length && buf.subarray(0, H2_PREFACE.length).equals(H2_PREFACE);
      t.kind = isH2 ? 'h2' : 'h1';
      if (isH2) {
        watchGoaway(stream, (code) => this.onH2ConnectionError(t, code));
        this.pending = t;
        try {
          this.h2.emit('connection', stream);
        } finally {
          this.pending = undefined;
        }
        if (this.draining) t.session?.close();
      } else {
        buffersOnly(stream);
        // Node's HTTP/1 server ends its half only when it is done with the connection (close,
        // error answer, drain); a client that keeps its half open (or whose FIN is never read,
        // the parser having stopped) is cut after a grace period instead of holding the tunnel.
        stream.once('finish', () => setTimeout(() => stream.destroy(), DRAIN_IDLE_GRACE_MS).unref());
        this.h1.emit('connection', stream);
        if (this.draining) this.endIfIdle(t);
      }
      // We paused it to hand it over with nothing lost; the new owner's listeners are attached now.
      stream.resume();
    };
    const onData = (c: Buffer): void => {
      chunks.push(c);
      const buf = Buffer.concat(chunks);
      const n = Math.min(buf.length, H2_PREFACE.length);
      if (n === H2_PREFACE.length || !buf.subarray(0, n).equals(H2_PREFACE.subarray(0, n))) decideKind();
    };
    stream.on('data', onData);
    stream.once('end', decideKind);
    return closed;
  }

  private track(t: Tunnel, res: http.ServerResponse | http2.Http2ServerResponse): void {
    t.active++;
    res.once('close', () => {
      t.active--;
      if (t.active === 0 && t.afterIdle) t.afterIdle();
      if (this.draining) this.endIfIdle(t);
    });
  }

  /**
   * The session sent GOAWAY for a connection error (the client broke HTTP/2): counted, and the
   * tunnel ended once the GOAWAY had time to leave, since Node would keep it open.
   */
  private onH2ConnectionError(t: Tunnel, code: number): void {
    this.inputs.badRequests.inc('h2_session');
    this.inputs.logger.debug({ code, peer: t.ctx.peerIdentity, client: t.ctx.clientIp }, 'waypoint: h2 connection error in a tunnel');
    setTimeout(() => {
      t.session?.destroy();
      if (!t.stream.writableEnded) t.stream.end();
      setTimeout(() => t.stream.destroy(), DRAIN_IDLE_GRACE_MS).unref();
    }, H2_GOAWAY_FLUSH_MS).unref();
  }

  /**
   * Malformed HTTP/1.1 costs only its own tunnel (RFC 9112 §2.2, §6.3: the connection cannot be
   * trusted after a framing error): answered 431 for oversized heads, 408 for a head too slow,
   * else 400, with Connection: close, after the responses to the requests before it (pipelining);
   * logged and counted. A request whose body turned out malformed is answered by its handler
   * (400 too, see markBadRequest). Plain socket errors (a reset peer) just end the tunnel.
   */
  private onClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
    const t = this.byStream.get(socket);
    const reason = clientErrorReason(err);
    if (reason === undefined || !t || t.failed || !socket.writable) {
      socket.destroy();
      return;
    }
    t.failed = true;
    const status = reason === 'header_overflow' ? 431 : reason === 'headers_timeout' ? 408 : 400;
    this.inputs.badRequests.inc(reason);
    this.inputs.logger.debug({ code: err.code, reason: err.message, peer: t.ctx.peerIdentity, client: t.ctx.clientIp }, 'waypoint: malformed HTTP/1.1 request');
    stopParsing(socket);
    const incoming = (socket as unknown as { parser?: { incoming?: http.IncomingMessage | null } }).parser?.incoming;
    if (incoming && !incoming.complete) {
      // Mid-body: that request is being handled; its body fails and its handler answers `status`.
      markBadRequest(incoming, status);
      // Never unheard: a request no handler holds (refused early) has no listener of its own.
      incoming.on('error', () => {});
      incoming.emit('error', err);
      // Its answer is the tunnel's last (it may have gone out already, before the body broke).
      const end = (): void => {
        if (!socket.writableEnded) socket.end();
        setTimeout(() => socket.destroy(), DRAIN_IDLE_GRACE_MS).unref();
      };
      if (t.active === 0) end();
      else t.afterIdle = end;
      return;
    }
    this.finalAnswer(t, socket, status);
  }

  /** Writes a last bodiless answer and ends the tunnel, once the responses owed before it are out. */
  private finalAnswer(t: Tunnel, socket: Duplex, status: number): void {
    t.failed = true;
    stopParsing(socket);
    const answer = (): void => {
      if (socket.writable) socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
      setTimeout(() => socket.destroy(), DRAIN_IDLE_GRACE_MS).unref();
    };
    if (t.active === 0) answer();
    else t.afterIdle = answer;
  }

  private onH1Request(req: http.IncomingMessage, res: http.ServerResponse): void {
    req.on('error', () => {});
    const t = this.byStream.get(req.socket);
    if (!t) {
      res.writeHead(503, { connection: 'close' }).end();
      return;
    }
    this.track(t, res);
    const hostProblem = h1HostProblem(req.httpVersion, req.rawHeaders);
    // Envoy answers an excess of fields 431 and closes the connection (a codec error).
    const refusal = hostProblem !== undefined ? { status: 400, reason: 'invalid_host', why: hostProblem }
      : req.rawHeaders.length / 2 > MAX_REQUEST_HEADERS ? { status: 431, reason: 'too_many_headers', why: `more than ${MAX_REQUEST_HEADERS} fields` }
        : undefined;
    if (refusal) {
      // The request's last answer: requests pipelined behind it are not parsed, let alone forwarded.
      this.inputs.badRequests.inc(refusal.reason);
      this.inputs.logger.debug({ reason: refusal.why, peer: t.ctx.peerIdentity }, 'waypoint: malformed HTTP/1.1 request');
      t.failed = true;
      stopParsing(req.socket);
      req.resume();
      res.writeHead(refusal.status, { 'content-length': '0', connection: 'close' }).end();
      return;
    }
    handleRequest(this.inputs, t.ctx, req, res);
  }

  /** Routes the Upgrade request, then opens the upstream, writes the head and pipes both ways. */
  private onUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    const t = this.byStream.get(socket);
    const reply = (status: number, text: string): void => {
      socket.end(`HTTP/1.1 ${status} ${text}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
    };
    if (!t) return reply(503, 'Service Unavailable');
    t.kind = 'upgraded';
    t.active++;
    upgradeThrough(this.inputs, t.ctx, req, socket, head, reply)
      .catch((err: unknown) => {
        this.inputs.logger.error({ err }, 'waypoint: upgrade failed');
        socket.destroy();
      })
      .finally(() => t.active--);
  }

  get activeTunnels(): number {
    return this.tunnels.size;
  }

  /** Graceful: GOAWAY to h2 tunnels, idle HTTP/1.1 tunnels ended, busy ones end after their response. */
  drain(): void {
    this.draining = true;
    for (const t of this.tunnels) {
      if (t.kind === 'h2') t.session?.close();
      else this.endIfIdle(t);
    }
  }

  private endIfIdle(t: Tunnel): void {
    if (t.kind === 'h1' && t.active === 0 && !t.stream.writableEnded) {
      // Ends our half; the client's parser sees EOF and closes the CONNECT stream. A client that
      // keeps its half open is cut after a grace period so the drain does not wait for it.
      t.stream.end();
      setTimeout(() => t.stream.destroy(), DRAIN_IDLE_GRACE_MS).unref();
    }
  }

  destroy(): void {
    this.draining = true;
    for (const t of this.tunnels) {
      t.session?.destroy();
      t.stream.destroy();
    }
    this.h1.closeAllConnections?.();
  }
}

/**
 * Nothing more is parsed on a tunnel after a framing error: the HTTP/1 server's readers are taken
 * off and the client's further bytes discarded, its EOF still read (so the tunnel closes as soon
 * as both halves are done, instead of lingering paused until a timer cuts it).
 */
function stopParsing(socket: Duplex): void {
  // The tunnel's 'data'/'end' listeners are the HTTP server's alone once it was handed over.
  socket.removeAllListeners('data');
  socket.removeAllListeners('end');
  socket.on('data', () => {});
  socket.on('end', () => {});
  socket.resume();
}

export interface UpgradeInputs {
  /** Opens a raw byte stream to a cluster endpoint (HBONE or TCP). */
  readonly open: (ep: import('./load-balancer.js').UpstreamEndpoint, ctx: { clientIp: string; clientPort: number; service?: string }) => Promise<Duplex>;
}

async function upgradeThrough(
  inputs: RequestHandlerInputs & { readonly upgrade: UpgradeInputs },
  tunnel: TunnelContext,
  req: http.IncomingMessage,
  socket: Duplex,
  head: Buffer,
  reply: (status: number, text: string) => void,
): Promise<void> {
  const cfg = inputs.config();
  const port = cfg.port(tunnel.service.namespace, tunnel.service.hostname, tunnel.servicePort);
  if (!port) return reply(404, 'Not Found');
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const mreq: MutableRequest = { method: req.method ?? 'GET', path: q < 0 ? url : url.slice(0, q), query: q < 0 ? '' : url.slice(q + 1), headers: headerMapFromRaw(req.rawHeaders) };
  // An Upgrade is a request like any other for AuthorizationPolicy / RequestAuthentication.
  if (inputs.security && tunnel.security) {
    const v = await inputs.security.checkRequest(tunnel.security, mreq);
    if (v.kind === 'reject') {
      const extra = Object.entries(v.headers ?? {}).map(([k, val]) => `${k}: ${val}\r\n`).join('');
      socket.end(`HTTP/1.1 ${v.status} ${http.STATUS_CODES[v.status] ?? ''}\r\n${extra}Content-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(v.body)}\r\nConnection: close\r\n\r\n${v.body}`);
      return;
    }
    mreq.path = v.path;
  }
  const d = await decide({ port, clusters: cfg.clusters, servicePort: tunnel.servicePort, pinnedWorkloadUid: tunnel.pinnedWorkloadUid, random: inputs.random, delay: (ms) => new Promise((r) => setTimeout(r, ms)) }, mreq);
  if (d.kind === 'local') {
    const loc = d.headers?.location;
    socket.end(`HTTP/1.1 ${d.status} ${http.STATUS_CODES[d.status] ?? ''}\r\n${loc ? `Location: ${loc}\r\n` : ''}Content-Length: 0\r\nConnection: close\r\n\r\n`);
    return;
  }
  const hash = { headers: mreq.headers, query: mreq.query, sourceIp: tunnel.clientIp };
  const ep = inputs.forwarder.lb.pick(d.cluster, clusterEndpoints(inputs.forwarder.state, d.cluster, inputs.forwarder.network), hash);
  if (!ep) return reply(503, 'Service Unavailable');
  const release = inputs.forwarder.lb.acquire(ep);
  let up: Duplex;
  try {
    up = await inputs.upgrade.open(ep, { clientIp: tunnel.clientIp, clientPort: tunnel.clientPort, service: tunnel.service.hostname });
  } catch {
    release();
    return reply(503, 'Service Unavailable');
  }
  stripHopByHop(mreq.headers, true);
  const target = mreq.query === '' ? mreq.path : `${mreq.path}?${mreq.query}`;
  up.write(requestHead(mreq.method, target, mreq.headers));
  if (head.length > 0) up.write(head);
  await new Promise<void>((resolve) => {
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      release();
      up.destroy();
      socket.destroy();
      resolve();
    };
    up.on('error', finish);
    socket.on('error', finish);
    up.once('close', finish);
    socket.once('close', finish);
    up.pipe(socket);
    socket.pipe(up);
  });
}
