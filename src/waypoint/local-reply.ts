// Responses the waypoint makes itself (404 no route, 503 no upstream, 504 timeout, redirects,
// direct responses, faults): plain text for HTTP, trailers-only gRPC status for gRPC requests.

import type * as http from 'node:http';
import type * as http2 from 'node:http2';

export type DownstreamResponse = http.ServerResponse | http2.Http2ServerResponse;

/** Envoy's HTTP → gRPC status mapping for locally generated replies (Grpc::Utility::httpToGrpcStatus). */
export function grpcStatusForHttp(status: number): number {
  switch (status) {
    case 400: return 13;
    case 401: return 16;
    case 403: return 7;
    case 404: return 12;
    case 429: case 502: case 503: case 504: return 14;
    default: return 2;
  }
}

/** Envoy's reset reason text (Http::Utility::resetReasonToString) for the flag a failed forward ends with. */
const RESET_REASON: Readonly<Record<string, string>> = {
  UO: 'overflow',
  UF: 'remote connection failure',
  UC: 'connection termination',
};

/**
 * The body of a 503/504 the router makes when no upstream answered (Envoy router.cc): `no healthy
 * upstream` (sendNoHealthyUpstreamResponse), `upstream request timeout` (onResponseTimeout / a
 * per-try timeout with no retry left), otherwise onUpstreamReset's "upstream connect error or
 * disconnect/reset before headers. [retried and the latest ]reset reason: <reason>", the middle part
 * when more than one attempt was made. `flags` is the joined value (`UF,URX`); its first flag decides.
 */
export function upstreamFailureBody(flags: string, attempts: number): string {
  const first = flags.split(',')[0]!;
  if (first === 'UH') return 'no healthy upstream';
  if (first === 'UT') return 'upstream request timeout';
  const reason = RESET_REASON[first] ?? 'remote reset';
  return `upstream connect error or disconnect/reset before headers. ${attempts > 1 ? 'retried and the latest ' : ''}reset reason: ${reason}`;
}

export function isGrpcRequest(contentType: string | undefined): boolean {
  return contentType !== undefined && contentType.toLowerCase().startsWith('application/grpc');
}

/** Resets the downstream exchange after its head went out (a response cut mid-way must not look complete). */
export function abortResponse(res: DownstreamResponse): void {
  if ('stream' in res && res.stream) {
    if (!res.stream.destroyed) res.stream.close(2 /* INTERNAL_ERROR */);
    return;
  }
  (res as http.ServerResponse).destroy();
}

/**
 * Sends head and end together. On HTTP/2 that is one HEADERS frame with END_STREAM, which is what a
 * gRPC "Trailers-Only" response must be (a status in headers without END_STREAM is ignored by gRPC
 * clients): Node's compat API sets END_STREAM on the head only when end() comes before any
 * writeHead(), so this never calls writeHead().
 */
export function endWithHead(res: DownstreamResponse, status: number, headers: Record<string, string | string[]>): void {
  res.statusCode = status;
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
  res.end();
}

/**
 * Writes a local reply; returns the gRPC status sent (gRPC) or undefined. `extra` headers (e.g.
 * Location, mutated response headers) come first; content headers are ours.
 */
export function sendLocalReply(
  res: DownstreamResponse,
  status: number,
  opts: { grpc: boolean; body?: string; headers?: Record<string, string | string[]>; close?: boolean },
): number | undefined {
  if (res.headersSent) {
    abortResponse(res);
    return undefined;
  }
  const headers: Record<string, string | string[]> = { ...opts.headers };
  if (opts.grpc) {
    const grpcStatus = grpcStatusForHttp(status);
    headers['content-type'] = 'application/grpc';
    headers['grpc-status'] = String(grpcStatus);
    headers['grpc-message'] = encodeURIComponent(opts.body ?? `upstream status ${status}`);
    if (opts.close && !('stream' in res)) headers['connection'] = 'close';
    endWithHead(res, 200, headers);
    return grpcStatus;
  }
  const body = opts.body ?? '';
  headers['content-length'] = String(Buffer.byteLength(body));
  if (body !== '') headers['content-type'] = 'text/plain';
  if (opts.close && !('stream' in res)) headers['connection'] = 'close';
  res.writeHead(status, headers);
  res.end(body);
  return undefined;
}
