// The gRPC `grpc-timeout` request header at the waypoint: parsed as the gRPC HTTP/2 protocol
// defines it and folded into the route timeout as Envoy's router does for Istio's routes.

import type { HeaderMutation } from './model/route-model.js';

/** ms per unit of `TimeoutValue TimeoutUnit` (gRPC PROTOCOL-HTTP2.md: Hour, Minute, Second, milli, micro, nano). */
const UNIT_MS: Readonly<Record<string, number>> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 1e-3, n: 1e-6 };

/**
 * `grpc-timeout` in ms: 1–8 ASCII digits and a unit; anything else is malformed ⇒ undefined
 * (ignored, as Envoy's Grpc::Common::getGrpcTimeout). A non-zero value under 1 ms counts as 1 ms
 * (0 means "no timeout" below, and a sub-millisecond deadline is already as good as past).
 */
export function parseGrpcTimeout(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const m = /^(\d{1,8})([HMSmun])$/.exec(value);
  if (!m) return undefined;
  const ms = Number(m[1]) * UNIT_MS[m[2]!]!;
  return ms > 0 && ms < 1 ? 1 : Math.floor(ms);
}

/**
 * The route timeout of a gRPC request, ms (0 ⇒ none). Istio sets the deprecated
 * `RouteAction.max_grpc_timeout` to the route timeout on every Envoy route (pilot
 * networking/core/route setTimeout; `max_stream_duration` only for proxyless gRPC), so Envoy's
 * router (FilterUtility::finalTimeout) takes the client's `grpc-timeout` as the route timeout,
 * capped by the configured one, 0 meaning infinite on either side; no header ⇒ the configured one.
 */
export function grpcRouteTimeoutMs(routeMs: number, header: string | undefined): number {
  const client = parseGrpcTimeout(header);
  if (client === undefined || client === 0) return routeMs;
  return routeMs > 0 && routeMs < client ? routeMs : client;
}

/** `ms` as a `grpc-timeout` value (Envoy Grpc::Common::toGrpcTimeout writes milliseconds; 8 digits at most). */
export function formatGrpcTimeout(ms: number): string {
  if (ms < 1e8) return `${Math.max(0, Math.floor(ms))}m`;
  if (ms / 1000 < 1e8) return `${Math.floor(ms / 1000)}S`;
  if (ms / 60_000 < 1e8) return `${Math.floor(ms / 60_000)}M`;
  return `${Math.min(99_999_999, Math.floor(ms / 3_600_000))}H`;
}

/** The route's header filter sets, adds or removes grpc-timeout (it then has the last word: Envoy applies it after). */
export function mutatesGrpcTimeout(m: HeaderMutation | undefined): boolean {
  if (!m) return false;
  const is = (n: string): boolean => n.toLowerCase() === 'grpc-timeout';
  return (m.set ?? []).some((h) => is(h.name)) || (m.add ?? []).some((h) => is(h.name)) || (m.remove ?? []).some(is);
}
