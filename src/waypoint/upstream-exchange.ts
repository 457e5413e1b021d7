// One attempt of one request against one endpoint, over HTTP/1.1 (keep-alive agent) or HTTP/2
// (shared session), as a uniform response; failures are classified the way Envoy's retry_on
// conditions see them (connect-failure, refused-stream, reset, per-try timeout).

import * as http from 'node:http';
import * as http2 from 'node:http2';
import { Readable } from 'node:stream';
import { isMeshError } from '../common/errors.js';
import type { CancelSignal } from './cancellation.js';
import type { HeaderMap } from './routing/index.js';
import { headerMapFromObject, headerMapFromRaw, toH2Outgoing, toOutgoing } from './header-map.js';
import type { UpstreamEndpoint } from './load-balancer.js';
import type { Cluster } from './model/route-model.js';
import { isConnectFailure, type UpstreamClients } from './upstream-clients.js';
import type { Lease } from './upstream-pool.js';

/** `overflow`: a circuit breaker refused the attempt before any connection was used (Envoy: not retried). */
export type AttemptFailureKind = 'connect' | 'refused' | 'reset' | 'timeout' | 'overflow';

export class AttemptFailure extends Error {
  constructor(readonly kind: AttemptFailureKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AttemptFailure';
  }
}

export interface UpstreamRequest {
  readonly method: string;
  /** Path with the query string. */
  readonly target: string;
  /** Hop-by-hop stripped; `host` is the authority to send. */
  readonly headers: HeaderMap;
  /** undefined ⇒ no body. */
  readonly body: Readable | undefined;
  /** The request's trailers, read once `body` ended (HTTP/1.1 chunked or HTTP/2 trailers). */
  readonly trailers?: () => HeaderMap | undefined;
}

export interface UpstreamResponse {
  readonly status: number;
  readonly headers: HeaderMap;
  readonly body: Readable;
  /** Trailers, valid once `body` ended. */
  trailers(): HeaderMap | undefined;
  /** HTTP/2: the answer ended with its HEADERS frame (gRPC "Trailers-Only"); `body` is empty. */
  readonly headersOnly?: boolean;
  /** Cancels the exchange (resets the upstream stream / drops the connection). */
  abort(): void;
}

export interface ExchangeContext {
  readonly clientIp: string;
  readonly clientPort: number;
  readonly service?: string;
}

const { NGHTTP2_REFUSED_STREAM, NGHTTP2_CANCEL, NGHTTP2_FLAG_END_STREAM } = http2.constants;

export function exchange(
  clients: UpstreamClients,
  ep: UpstreamEndpoint,
  cluster: Cluster,
  req: UpstreamRequest,
  ctx: ExchangeContext,
  signal: CancelSignal,
): Promise<UpstreamResponse> {
  return cluster.protocol === 'http2' ? exchangeH2(clients, ep, cluster, req, ctx, signal) : exchangeH1(clients, ep, cluster, req, ctx, signal);
}

/** A stream slot from the endpoint's pool; pool failures become attempt failures. */
async function leaseFor<C>(acquire: () => Promise<Lease<C>>, signal: CancelSignal): Promise<Lease<C>> {
  if (signal.aborted) throw new AttemptFailure('timeout', 'attempt cancelled');
  try {
    return await acquire();
  } catch (err) {
    if (signal.aborted) throw new AttemptFailure('timeout', 'attempt cancelled', { cause: err });
    if (isMeshError(err, 'UPSTREAM_OVERFLOW')) throw new AttemptFailure('overflow', err.message, { cause: err });
    throw new AttemptFailure('connect', (err as Error).message, { cause: err });
  }
}

/**
 * HTTP/1.1 framing for the upstream request (RFC 9112 §6): a body of known length keeps its
 * Content-Length; any other body is sent chunked whatever the method. Node only chunks by default
 * for methods that usually carry a body, so a chunked GET/DELETE/OPTIONS from the client (or an
 * HTTP/2 request without content-length) would otherwise go out unframed and the upstream would
 * read the body as the next request.
 */
export function h1RequestHeaders(headers: HeaderMap, hasBody: boolean): Record<string, string | string[]> {
  const out = toOutgoing(headers);
  if (!hasBody) return out;
  if (headers.has('content-length')) delete out['transfer-encoding'];
  else out['transfer-encoding'] = 'chunked';
  return out;
}

/**
 * The request body already failed (malformed, client gone) while the attempt waited for its
 * connection: its 'error' went by before our listeners, and piping a destroyed stream never ends,
 * so the attempt would wait forever for the rest of a body that is not coming.
 */
function bodyFailed(body: Readable | undefined): Error | undefined {
  if (!body) return undefined;
  if (body.errored) return body.errored;
  return body.readableAborted ? new Error('request body aborted') : undefined;
}

async function exchangeH1(clients: UpstreamClients, ep: UpstreamEndpoint, cluster: Cluster, req: UpstreamRequest, ctx: ExchangeContext, signal: CancelSignal): Promise<UpstreamResponse> {
  // The connection's Agent ends the lease itself (socket freed or closed).
  const lease = await leaseFor(() => clients.acquireH1(cluster, ep, ctx, signal), signal);
  const broken = bodyFailed(req.body);
  if (broken) {
    // Nothing was written: the connection goes back as it was.
    lease.done();
    throw new AttemptFailure('reset', `request body failed: ${broken.message}`, { cause: broken });
  }
  return new Promise((resolve, reject) => {
    let r: http.ClientRequest;
    try {
      r = http.request({ agent: lease.conn.agent, method: req.method, path: req.target, headers: h1RequestHeaders(req.headers, req.body !== undefined), setHost: false });
    } catch (err) {
      lease.done();
      reject(new AttemptFailure('reset', `invalid upstream request: ${(err as Error).message}`, { cause: err }));
      return;
    }
    let answered = false;
    const onAbort = (): void => {
      r.destroy();
      if (!answered) reject(new AttemptFailure('timeout', 'attempt cancelled'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    r.on('error', (err) => {
      signal.removeEventListener('abort', onAbort);
      if (answered) return;
      answered = true;
      // A socket never assigned (createConnection failed) means no request byte left us.
      reject(new AttemptFailure(isConnectFailure(err) ? 'connect' : 'reset', err.message, { cause: err }));
    });
    r.on('response', (res: http.IncomingMessage) => {
      answered = true;
      res.once('close', () => signal.removeEventListener('abort', onAbort));
      resolve({
        status: res.statusCode ?? 502,
        headers: headerMapFromRaw(res.rawHeaders),
        body: res,
        trailers: () => (res.rawTrailers.length > 0 ? headerMapFromRaw(res.rawTrailers) : undefined),
        abort: () => r.destroy(),
      });
    });
    if (req.body) {
      const body = req.body;
      body.on('error', () => r.destroy());
      body.pipe(r, { end: false });
      body.once('end', () => {
        // Trailers go out only with chunked coding (Node ignores them otherwise).
        const t = req.trailers?.();
        try {
          if (t && t.size > 0) r.addTrailers(toOutgoing(t));
          r.end();
        } catch {
          r.destroy();
        }
      });
    } else r.end();
  });
}

async function exchangeH2(clients: UpstreamClients, ep: UpstreamEndpoint, cluster: Cluster, req: UpstreamRequest, ctx: ExchangeContext, signal: CancelSignal): Promise<UpstreamResponse> {
  const lease = await leaseFor(() => clients.acquireH2(cluster, ep, ctx, signal), signal);
  const broken = bodyFailed(req.body);
  if (broken) {
    lease.done();
    throw new AttemptFailure('reset', `request body failed: ${broken.message}`, { cause: broken });
  }
  const session = lease.conn.session;
  return new Promise((resolve, reject) => {
    let stream: http2.ClientHttp2Stream;
    const authority = req.headers.get('host')?.[0] ?? `${ep.ip}:${ep.port}`;
    try {
      // Request trailers need waitForTrailers from the start; only asked when the client announced
      // them (`Trailer`, RFC 9110 §6.6.2), so plain bodies end with their last DATA frame.
      stream = session.request(
        { ':method': req.method, ':path': req.target, ':authority': authority, ':scheme': 'http', ...toH2Outgoing(req.headers) },
        { endStream: req.body === undefined, waitForTrailers: req.body !== undefined && req.headers.has('trailer') },
      );
      stream.once('close', () => lease.done());
    } catch (err) {
      lease.done();
      // The session is closing or gone: nothing was sent, safe to retry like a refused stream.
      reject(new AttemptFailure('refused', (err as Error).message, { cause: err }));
      return;
    }
    let answered = false;
    let trailers: HeaderMap | undefined;
    const onAbort = (): void => {
      if (!stream.destroyed) stream.close(NGHTTP2_CANCEL);
      if (!answered) reject(new AttemptFailure('timeout', 'attempt cancelled'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    stream.on('trailers', (t: http2.IncomingHttpHeaders) => {
      trailers = headerMapFromObject(t);
    });
    const failed = (err?: Error): void => {
      if (answered) return;
      answered = true;
      signal.removeEventListener('abort', onAbort);
      const kind = stream.rstCode === NGHTTP2_REFUSED_STREAM ? 'refused' : 'reset';
      reject(new AttemptFailure(kind, err?.message ?? `upstream stream closed (rst ${stream.rstCode})`, { cause: err }));
    };
    stream.on('error', failed);
    stream.once('close', () => failed());
    stream.once('response', (headers: http2.IncomingHttpHeaders, flags: number) => {
      answered = true;
      stream.once('close', () => signal.removeEventListener('abort', onAbort));
      const headersOnly = (flags & NGHTTP2_FLAG_END_STREAM) !== 0;
      resolve({
        headersOnly,
        status: Number(headers[':status'] ?? 502),
        headers: headerMapFromObject(headers),
        // A HEADERS frame with END_STREAM (gRPC "Trailers-Only") has no body: Node closes and
        // destroys such a stream before anyone reads it, so it never emits 'end'.
        body: headersOnly ? Readable.from([]) : stream,
        trailers: () => trailers,
        abort: () => {
          if (!stream.destroyed) stream.close(NGHTTP2_CANCEL);
        },
      });
    });
    if (req.body) {
      stream.once('wantTrailers', () => {
        const t = req.trailers?.();
        try {
          stream.sendTrailers(t && t.size > 0 ? toH2Outgoing(t) : {});
        } catch {
          if (!stream.destroyed) stream.close(NGHTTP2_CANCEL);
        }
      });
      req.body.on('error', () => {
        if (!stream.destroyed) stream.close(NGHTTP2_CANCEL);
      });
      req.body.pipe(stream);
    }
  });
}
