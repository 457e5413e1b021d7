// The application protocol of a Service port by Istio's rules (pkg/config/kube/conversion.go
// ConvertProtocol): appProtocol if set, else the port name's prefix; what the waypoint speaks on it.
//
// Istio sniffs a port whose protocol is unknown; Ambit does not sniff and serves it as tcp, unless
// an HTTPRoute/GRPCRoute attaches to it (see waypoint-services.ts), which declares it HTTP.

import type { PortProtocol } from '../../waypoint/model/route-model.js';

/** What a Service port declares, and how Ambit's waypoint serves it. */
export interface DetectedProtocol {
  readonly protocol: PortProtocol;
  /** False when neither appProtocol nor the name names a protocol Istio knows (Istio would sniff). */
  readonly declared: boolean;
}

/**
 * Istio protocol.Parse names (case-insensitive), mapped to what the waypoint does with them.
 * grpc-web and http_proxy are HTTP/1.1-or-2 HTTP; every non-HTTP protocol is opaque TCP here.
 */
const PROTOCOLS: Readonly<Record<string, PortProtocol>> = {
  http: 'http',
  http_proxy: 'http',
  'grpc-web': 'http',
  http2: 'http2',
  grpc: 'grpc',
  tcp: 'tcp',
  tls: 'tcp',
  https: 'tcp',
  udp: 'tcp',
  mongo: 'tcp',
  mysql: 'tcp',
  redis: 'tcp',
  thrift: 'tcp',
};

/** Kubernetes standard appProtocol names (KEP-3726), honoured only in appProtocol. */
const K8S_APP_PROTOCOLS: Readonly<Record<string, PortProtocol>> = {
  'kubernetes.io/h2c': 'http2',
  'kubernetes.io/ws': 'http',
  'kubernetes.io/wss': 'tcp',
};

export interface PortView {
  readonly name?: string;
  readonly appProtocol?: string;
}

/**
 * appProtocol wins over the name (even when it names nothing known); a name counts as `<proto>` or
 * `<proto>-<suffix>` (`grpc-web` is checked before splitting at the first '-').
 */
export function detectPortProtocol(port: PortView): DetectedProtocol {
  let name = port.name ?? '';
  if (port.appProtocol !== undefined && port.appProtocol !== '') {
    const k8s = K8S_APP_PROTOCOLS[port.appProtocol];
    if (k8s !== undefined) return { protocol: k8s, declared: true };
    name = port.appProtocol;
  }
  const lower = name.toLowerCase();
  if (lower.startsWith('grpc-web')) return { protocol: 'http', declared: true };
  const dash = lower.indexOf('-');
  const prefix = dash >= 0 ? lower.slice(0, dash) : lower;
  const known = PROTOCOLS[prefix];
  return known !== undefined ? { protocol: known, declared: true } : { protocol: 'tcp', declared: false };
}

/** True for the protocols whose traffic the waypoint parses as HTTP (and routes with HTTP/GRPC routes). */
export function isHttpProtocol(p: PortProtocol): boolean {
  return p !== 'tcp';
}

/** How the waypoint speaks to a backend port: HTTP/2 (h2c) for http2 and grpc ports, else HTTP/1.1. */
export function upstreamProtocol(p: PortProtocol): 'http1' | 'http2' {
  return p === 'http2' || p === 'grpc' ? 'http2' : 'http1';
}
