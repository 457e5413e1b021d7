// One HTTP request through the waypoint: view, telemetry span, routing decision, mirrors, the
// forward with the route's timeouts and retries, response filters and the reply (HTTP/1.1 or
// HTTP/2 downstream alike, trailers passed through).

import type * as http from 'node:http';
import type * as http2 from 'node:http2';
import type { Logger } from '../common/log.js';
import type { Service, Workload } from '../state/index.js';
import { badRequestStatus, type BadRequestCounter } from './bad-request-counter.js';
import { BodyTap } from './body-tap.js';
import { Cancellation } from './cancellation.js';
import type { CompiledConfig } from './compiled-config.js';
import { applyCorsResponse } from './cors.js';
import { formatGrpcTimeout, grpcRouteTimeoutMs, mutatesGrpcTimeout } from './grpc-timeout.js';
import { forwardableTrailers, headerMapFromRaw, stripHopByHop, toH2Outgoing, toOutgoing } from './header-map.js';
import { abortResponse, endWithHead, isGrpcRequest, sendLocalReply, upstreamFailureBody, type DownstreamResponse } from './local-reply.js';
import { DEFAULT_RETRY, type Cluster, type Route } from './model/route-model.js';
import type { Readable } from 'node:stream';
import { forward, type BodySource, type ForwarderInputs } from './request-forwarder.js';
import { fieldCount, MAX_REQUEST_HEADERS } from './request-validation.js';
import { decide, type MutableRequest } from './route-decision.js';
import { applyHeaderMutation, chance, headerValue, type HeaderMap } from './routing/index.js';
import type { SecurityTunnel, WaypointSecurity } from './security/index.js';
import { joinResponseFlags, withResponseFlag, type ResponseFlagName, type WaypointTelemetry } from './telemetry/index.js';

/** Who is on the other end of one CONNECT tunnel and what it targets. */
export interface TunnelContext {
  readonly service: Service;
  readonly servicePort: number;
  readonly clientIp: string;
  readonly clientPort: number;
  readonly peerIdentity: string;
  readonly clientWorkload: Workload | undefined;
  /** The CONNECT authority was this workload's IP (pod-addressed): forwarded to it, not routed. */
  readonly pinnedWorkloadUid?: string;
  /** What L7 security reads of the tunnel (source IP, dialled address); absent ⇒ no security check. */
  readonly security?: SecurityTunnel;
}

export interface RequestHandlerInputs {
  readonly config: () => CompiledConfig;
  readonly telemetry: WaypointTelemetry;
  readonly forwarder: ForwarderInputs;
  readonly random: () => number;
  readonly draining: () => boolean;
  readonly logger: Logger;
  /** AuthorizationPolicy / RequestAuthentication; absent ⇒ none. */
  readonly security?: WaypointSecurity;
  readonly badRequests: BadRequestCounter;
}

type DownstreamRequest = http.IncomingMessage | http2.Http2ServerRequest;

/** Response headers never forwarded downstream besides hop-by-hop ones. */
const H2_RESPONSE_SKIP = new Set<string>();

/** Mirrors never run longer than this, whatever the route says, ms. */
const MIRROR_TIMEOUT_MS = 30_000;

function hasBody(req: DownstreamRequest): boolean {
  if ('stream' in req && req.stream) return !req.stream.readableEnded && !(req.stream as unknown as { endAfterHeaders?: boolean }).endAfterHeaders;
  const h = req.headers;
  return h['transfer-encoding'] !== undefined || (h['content-length'] !== undefined && h['content-length'] !== '0');
}

/**
 * An absolute-form target (`GET http://host/p HTTP/1.1`) as origin-form: routed and forwarded by
 * its path, its authority replacing Host (RFC 9112 §3.2.2, §3.2.1). Other forms are unchanged.
 */
function originForm(url: string, headers: HeaderMap): string {
  const m = /^https?:\/\/([^/?#]*)([^#]*)/i.exec(url);
  if (!m) return url;
  const authority = m[1]!.slice(m[1]!.lastIndexOf('@') + 1);
  if (authority !== '') headers.set('host', [authority]);
  const rest = m[2]!;
  return rest === '' ? '/' : rest.startsWith('/') ? rest : `/${rest}`;
}

function splitUrl(url: string): { path: string; query: string } {
  const q = url.indexOf('?');
  return q < 0 ? { path: url, query: '' } : { path: url.slice(0, q), query: url.slice(q + 1) };
}

export function handleRequest(inputs: RequestHandlerInputs, tunnel: TunnelContext, req: DownstreamRequest, res: DownstreamResponse): void {
  // Writing to a response whose tunnel is gone must never become an uncaught 'error'.
  res.on('error', () => {});
  req.on('error', () => {});
  serve(inputs, tunnel, req, res).catch((err: unknown) => {
    inputs.logger.error({ err }, 'waypoint: unexpected request failure');
    try {
      if (!res.headersSent) sendLocalReply(res, 500, { grpc: false, body: 'internal error', close: true });
      else abortResponse(res);
    } catch {
      abortResponse(res);
    }
  });
}

async function serve(inputs: RequestHandlerInputs, tunnel: TunnelContext, req: DownstreamRequest, res: DownstreamResponse): Promise<void> {
  const startedAt = process.hrtime.bigint();
  const cfg = inputs.config();
  const headers = headerMapFromRaw(req.rawHeaders);
  const { path: rawPath, query } = splitUrl(originForm(req.url ?? '/', headers));
  let path = rawPath;
  // An HTTP/1.0 request may come without Host; upstream HTTP/1.1 needs one: the Service addressed
  // (Envoy's default_host_for_http_10 does the same with a configured name).
  if (!headers.has('host')) headers.set('host', [tunnel.servicePort === 80 ? tunnel.service.hostname : `${tunnel.service.hostname}:${tunnel.servicePort}`]);
  const grpc = isGrpcRequest(headerValue(headers, 'content-type'));
  const close = inputs.draining();
  const span = inputs.telemetry.begin({
    protocol: grpc ? 'grpc' : 'http',
    method: req.method ?? 'GET',
    path,
    authority: headerValue(headers, 'host') ?? '',
    source: { ip: tunnel.clientIp, port: tunnel.clientPort, identity: tunnel.peerIdentity, workload: tunnel.clientWorkload },
    destinationService: tunnel.service,
    headers,
    startedAt,
  });
  let responseBytes = 0;
  let requestBytes = 0;
  const port = cfg.port(tunnel.service.namespace, tunnel.service.hostname, tunnel.servicePort);
  const clientGone = new Cancellation();
  // Closed before we ended it: the client went away (reset, tunnel gone). Not writableFinished:
  // Node's HTTP/2 compatibility response reports itself finished when its stream is reset.
  res.once('close', () => {
    if (!res.writableEnded) clientGone.abort();
  });
  const local = (status: number, flags: string, opts: { body?: string; headers?: Record<string, string | string[]>; route?: Route; cluster?: Cluster; attempts?: number; error?: Error; grpcStatus?: number; close?: boolean } = {}): void => {
    req.resume();
    let grpcStatus: number | undefined;
    if (opts.grpcStatus !== undefined && grpc) {
      endWithHead(res, 200, { ...opts.headers, 'content-type': 'application/grpc', 'grpc-status': String(opts.grpcStatus) });
      grpcStatus = opts.grpcStatus;
    } else grpcStatus = sendLocalReply(res, status, { grpc, body: opts.body, headers: opts.headers, close: close || opts.close || badRequestStatus(req) !== undefined });
    span.end({ status: grpc ? 200 : status, grpcStatus, flags, route: opts.route?.name, cluster: opts.cluster?.name, requestBytes, responseBytes: Buffer.byteLength(opts.body ?? ''), attempts: opts.attempts, error: opts.error });
  };
  // Before any await: the body's failure listeners must be on before the parser can fail it.
  const tap = hasBody(req) ? new BodyTap(req) : undefined;
  if (fieldCount(req.rawHeaders) > MAX_REQUEST_HEADERS) {
    // Envoy answers 431 and, on HTTP/1.1, closes the connection (a codec error).
    inputs.badRequests.inc('too_many_headers');
    local(431, 'DPE', { body: 'too many header fields', close: true });
    return;
  }
  if (!port) {
    local(404, 'NR', { body: 'service port not served' });
    return;
  }
  // L7 security before routing, as Envoy runs jwt_authn and RBAC before the router: the path is
  // normalized (Istio BASE) for policies and for what follows; a refusal is the reply.
  if (inputs.security && tunnel.security) {
    const verdict = await inputs.security.checkRequest(tunnel.security, { method: req.method ?? 'GET', path, query, headers });
    span.note(verdict.notes);
    if (clientGone.signal.aborted) return;
    if (verdict.kind === 'reject') {
      local(verdict.status, verdict.flags, { body: verdict.body, headers: verdict.headers });
      return;
    }
    path = verdict.path;
  }
  const mreq: MutableRequest = { method: req.method ?? 'GET', path, query, headers };
  // Envoy's router reads grpc-timeout as the client sent it, before the route's header filters.
  const grpcTimeout = grpc ? headerValue(headers, 'grpc-timeout') : undefined;
  // CORS looks at the Origin as received, before request header filters (Envoy filter order).
  const origin = headerValue(headers, 'origin');
  const decision = await decide(
    {
      port,
      clusters: cfg.clusters,
      servicePort: tunnel.servicePort,
      pinnedWorkloadUid: tunnel.pinnedWorkloadUid,
      random: inputs.random,
      delay: (ms) => new Promise((r) => {
        const t = setTimeout(r, ms);
        clientGone.signal.addEventListener('abort', () => { clearTimeout(t); r(undefined); }, { once: true });
      }),
    },
    mreq,
  );
  const route = decision.route;
  if (clientGone.signal.aborted) {
    // Gone during a fault delay: still one request in the metrics and the access log (Envoy
    // DownstreamConnectionTermination, with the DelayInjected the fault filter had set).
    span.end({ status: 499, flags: decision.delayInjected ? withResponseFlag('DC', 'DI') : 'DC', route: route?.name, requestBytes: 0, responseBytes: 0 });
    return;
  }
  if (decision.kind === 'local') {
    const rh: HeaderMap = new Map(Object.entries(decision.headers ?? {}).map(([k, v]) => [k, [v]]));
    applyHeaderMutation(rh, route?.responseHeaders);
    applyCorsResponse(route?.cors, origin, rh);
    const flags = decision.delayInjected ? withResponseFlag(decision.flags, 'DI') : decision.flags;
    local(decision.status, flags, { body: decision.body, headers: toOutgoing(rh), route, grpcStatus: decision.grpcStatus });
    return;
  }
  const { cluster, backend } = decision;
  stripHopByHop(mreq.headers);
  // Envoy (sidecar defaults): x-forwarded-proto is set when absent; Expect is answered here.
  if (!mreq.headers.has('x-forwarded-proto')) mreq.headers.set('x-forwarded-proto', ['http']);
  mreq.headers.delete('expect');
  const target = mreq.query === '' ? mreq.path : `${mreq.path}?${mreq.query}`;
  const ctx = { clientIp: tunnel.clientIp, clientPort: tunnel.clientPort, service: tunnel.service.hostname };
  const hash = { headers: mreq.headers, query: mreq.query, sourceIp: tunnel.clientIp };

  for (const m of route?.mirrors ?? []) {
    if (!chance(m.percent, inputs.random)) continue;
    const mc = cfg.clusters.get(m.cluster);
    if (mc) mirror(inputs, mc, mreq, target, tap, ctx, hash);
  }

  // Route timeout (whole transaction, retries included) and per-try timeout (Istio: backendRequest
  // is the per-try timeout when a retry policy is set, else it is the route timeout).
  // A gRPC request's timeout is its grpc-timeout, capped by the route's (grpc-timeout.ts).
  const routeMs = route?.timeouts?.requestMs || (route?.retry ? 0 : route?.timeouts?.backendRequestMs) || 0;
  const requestMs = grpc ? grpcRouteTimeoutMs(routeMs, grpcTimeout) : routeMs;
  const perTryMs = route?.retry?.perTryTimeoutMs ?? (route?.retry ? route.timeouts?.backendRequestMs : undefined);
  // Envoy's router then tells the server the deadline it enforces (the per-try one when shorter),
  // before the route's own header filters: a grpc-timeout the route set or removed stays so.
  const expectedMs = perTryMs && (requestMs === 0 || perTryMs < requestMs) ? perTryMs : requestMs;
  if (grpc && expectedMs > 0 && !mutatesGrpcTimeout(route?.requestHeaders) && !mutatesGrpcTimeout(backend?.requestHeaders)) mreq.headers.set('grpc-timeout', [formatGrpcTimeout(expectedMs)]);
  const overall = new Cancellation();
  clientGone.signal.addEventListener('abort', () => overall.abort(), { once: true });
  let timedOut = false;
  // Armed when the downstream request is complete, as Envoy's router does (router.cc
  // Filter::onRequestComplete): a client still sending (gRPC client or bidi streaming) is not
  // timed; from then on it bounds the rest of the exchange, the whole response stream included.
  let timer: NodeJS.Timeout | undefined;
  let timerOff = false;
  const armTimer = (): void => {
    if (!timerOff && requestMs > 0) timer = setTimeout(() => { timedOut = true; overall.abort(); }, requestMs);
  };
  const stopTimer = (): void => {
    timerOff = true;
    clearTimeout(timer);
  };
  const afterRequest = (cb: () => void): void => {
    if (!tap || req.readableEnded) cb();
    else req.once('end', cb);
  };
  afterRequest(armTimer);

  const outcome = await forward(inputs.forwarder, {
    cluster, method: mreq.method, target, headers: mreq.headers, tap, hash,
    retry: route?.retry ?? DEFAULT_RETRY, perTryMs, afterRequest, ctx, signal: overall.signal, downstream: tunnel,
  });
  requestBytes = tap?.bytes ?? 0;
  if (clientGone.signal.aborted && !timedOut) {
    stopTimer();
    if (outcome.ok) {
      outcome.resp.abort();
      outcome.release();
    }
    span.end({ status: 499, flags: decision.delayInjected ? withResponseFlag('DC', 'DI') : 'DC', route: route?.name, cluster: cluster.name, requestBytes, responseBytes: 0, attempts: outcome.attempts });
    return;
  }
  const bad = badRequestStatus(req);
  if (bad !== undefined && !outcome.ok) {
    // The body was malformed (the HTTP/1.1 parser failed mid-body): the client's fault, 400.
    stopTimer();
    local(bad, decision.delayInjected ? withResponseFlag('DPE', 'DI') : 'DPE', { body: 'malformed request body', route, cluster, attempts: outcome.attempts, close: true });
    return;
  }
  if (timedOut || !outcome.ok) {
    stopTimer();
    if (outcome.ok) {
      outcome.resp.abort();
      outcome.release();
    }
    const status = timedOut || outcome.ok ? 504 : outcome.status;
    const upstreamFlags = timedOut ? 'UT' : (outcome as { flags: string }).flags;
    const flags = decision.delayInjected ? withResponseFlag(upstreamFlags, 'DI') : upstreamFlags;
    local(status, flags, { body: upstreamFailureBody(upstreamFlags, outcome.attempts), headers: outcome.ok ? undefined : outcome.responseHeaders, route, cluster, attempts: outcome.attempts, error: outcome.ok ? undefined : outcome.error });
    return;
  }
  const { resp, endpoint } = outcome;
  const rh = resp.headers;
  stripHopByHop(rh);
  for (const [k, v] of Object.entries(outcome.responseHeaders ?? {})) rh.set(k, [...(rh.get(k) ?? []), v]);
  applyHeaderMutation(rh, backend?.responseHeaders);
  applyHeaderMutation(rh, route?.responseHeaders);
  applyCorsResponse(route?.cors, origin, rh);
  const h2 = 'stream' in res;
  // Draining, or the request's own bytes turned out malformed: this answer is the tunnel's last.
  if ((close || badRequestStatus(req) !== undefined) && !h2) rh.set('connection', ['close']);
  let outgoing: Record<string, string | string[]>;
  try {
    outgoing = h2 ? toH2Outgoing(rh, H2_RESPONSE_SKIP) : toOutgoing(rh);
    if (resp.headersOnly) {
      // The answer ended with its headers (gRPC Trailers-Only): forwarded the same way, head + end.
      endWithHead(res, resp.status, outgoing);
    } else res.writeHead(resp.status, outgoing);
  } catch (err) {
    // An upstream head this side cannot express (a status or field the downstream protocol
    // refuses): Envoy's 502 UPE (upstream protocol error).
    stopTimer();
    resp.abort();
    outcome.release();
    for (const name of res.getHeaderNames()) res.removeHeader(name);
    local(502, decision.delayInjected ? withResponseFlag('UPE', 'DI') : 'UPE', { body: 'upstream response not forwardable', route, cluster, attempts: outcome.attempts, error: err as Error });
    return;
  }
  const finish = (error?: Error): void => {
    stopTimer();
    outcome.release();
    const grpcStatus = Number(headerValue(resp.trailers() ?? rh, 'grpc-status') ?? NaN);
    // Cut mid-response: by the route timeout (UT), by the client going away (DC), else upstream (UR).
    // A client reset reaches the request body (tap) before the response's 'close': DC all the same.
    const flags: ResponseFlagName[] = error ? [timedOut ? 'UT' : clientGone.signal.aborted || tap?.broken ? 'DC' : 'UR'] : [];
    if (decision.delayInjected) flags.push('DI');
    if (outcome.retryLimitExceeded) flags.push('URX');
    // A retry refused by the cluster's maxRetries (circuit breaker): UO on the passed-through answer.
    if (!error && outcome.flags === 'UO') flags.push('UO');
    span.end({
      status: resp.status,
      grpcStatus: Number.isNaN(grpcStatus) ? undefined : grpcStatus,
      flags: joinResponseFlags(flags),
      route: route?.name,
      cluster: cluster.name,
      upstream: { ip: endpoint.ip, port: endpoint.port, workload: endpoint.workload, identity: endpoint.identity },
      requestBytes: tap?.bytes ?? 0,
      responseBytes,
      attempts: outcome.attempts,
      error,
    });
  };
  if (resp.headersOnly) {
    resp.body.resume();
    finish();
    return;
  }
  if (req.method === 'HEAD') resp.body.resume();
  let settled = false;
  const fail = (err: Error): void => {
    if (settled) return;
    settled = true;
    resp.abort();
    abortResponse(res);
    finish(err);
  };
  overall.signal.addEventListener('abort', () => fail(new Error(timedOut ? 'route timeout' : 'client went away')), { once: true });
  resp.body.on('data', (c: Buffer) => {
    responseBytes += c.length;
    if (!(res as http.ServerResponse).write(c)) resp.body.pause();
  });
  res.on('drain', () => resp.body.resume());
  resp.body.once('error', (err) => fail(err));
  resp.body.once('aborted', () => fail(new Error('upstream aborted the response')));
  resp.body.once('end', () => {
    if (settled) return;
    settled = true;
    const raw = resp.trailers();
    const trailers = raw ? forwardableTrailers(raw) : undefined;
    try {
      if (trailers && trailers.size > 0) res.addTrailers(h2 ? toH2Outgoing(trailers) : toOutgoing(trailers));
      res.end();
    } catch (err) {
      // Trailers this side cannot express: the response must not look complete.
      abortResponse(res);
      finish(err as Error);
      return;
    }
    finish();
  });
}

/**
 * Fire and forget (Envoy request_mirror_policies): one endpoint, answer dropped. The Host is kept as
 * it is: Istio sets `disable_shadow_host_suffix_append` on every mirror policy (pilot
 * DISABLE_SHADOW_HOST_SUFFIX, default true), so its waypoints do not append Envoy's `-shadow`.
 */
function mirror(
  inputs: RequestHandlerInputs,
  cluster: Cluster,
  req: MutableRequest,
  target: string,
  tap: BodyTap | undefined,
  ctx: { clientIp: string; clientPort: number; service?: string },
  hash: { headers: HeaderMap; query: string; sourceIp: string },
): void {
  const headers: HeaderMap = new Map([...req.headers].map(([k, v]) => [k, [...v]]));
  const body = tap ? tap.reader(false) : undefined;
  if (tap && !body) return;
  const ac = new Cancellation();
  const t = setTimeout(() => ac.abort(), MIRROR_TIMEOUT_MS);
  t.unref();
  forward(inputs.forwarder, {
    cluster, method: req.method, target, headers, tap: oneShot(body), hash,
    retry: { attempts: 0, codes: [], retryOn: [], backoffMs: 25 }, perTryMs: undefined, ctx, signal: ac.signal,
  }).then((o) => {
    if (o.ok) {
      o.resp.body.resume();
      o.resp.body.once('close', () => clearTimeout(t));
    } else clearTimeout(t);
  }, () => clearTimeout(t));
}

function oneShot(body: Readable | undefined): BodySource | undefined {
  if (!body) return undefined;
  let used = false;
  return {
    reader: () => {
      if (used) return undefined;
      used = true;
      return body;
    },
    replayable: false,
    release: (r) => r.destroy(),
  };
}
