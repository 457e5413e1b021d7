// Valid objects of every kind the control plane reads, as a person would write them in a manifest
// (no server-set fields), for validation tables, manifests folders and the fake API server.

import type { Kind } from '../../src/k8s/index.js';

type Obj = Record<string, unknown>;

/** One good object per kind (namespaced kinds in `default`, unless `ns` is given). */
export function goodObject(kind: Kind, name = `${kind.toLowerCase()}-a`, ns = 'default'): Obj {
  const meta = { name, namespace: ns };
  switch (kind) {
    case 'Namespace':
      return { apiVersion: 'v1', kind, metadata: { name, labels: { 'istio.io/dataplane-mode': 'ambient' } } };
    case 'Node':
      return { apiVersion: 'v1', kind, metadata: { name, labels: { 'topology.kubernetes.io/zone': 'z1' } }, spec: { podCIDR: '10.0.0.0/24' } };
    case 'Pod':
      return {
        apiVersion: 'v1',
        kind,
        metadata: { ...meta, labels: { app: 'web' }, annotations: { 'ambit.dev/netns': '/var/run/netns/web' } },
        spec: { serviceAccountName: 'web', nodeName: 'node-1', containers: [{ name: 'web', image: 'nginx', ports: [{ containerPort: 8080 }] }] },
        status: { podIP: '10.0.0.5', podIPs: [{ ip: '10.0.0.5' }] },
      };
    case 'Service':
      return { apiVersion: 'v1', kind, metadata: meta, spec: { selector: { app: 'web' }, clusterIP: '10.96.0.10', ports: [{ name: 'http', port: 80, targetPort: 8080 }] } };
    case 'ServiceAccount':
      return { apiVersion: 'v1', kind, metadata: meta };
    case 'EndpointSlice':
      return {
        apiVersion: 'discovery.k8s.io/v1',
        kind,
        metadata: { ...meta, labels: { 'kubernetes.io/service-name': 'web' } },
        addressType: 'IPv4',
        endpoints: [{ addresses: ['10.0.0.5'], conditions: { ready: true } }],
        ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
      };
    case 'Gateway':
      return {
        apiVersion: 'gateway.networking.k8s.io/v1',
        kind,
        metadata: meta,
        spec: { gatewayClassName: 'istio-waypoint', listeners: [{ name: 'mesh', port: 15008, protocol: 'HBONE' }] },
      };
    case 'HTTPRoute':
      return {
        apiVersion: 'gateway.networking.k8s.io/v1',
        kind,
        metadata: meta,
        spec: { parentRefs: [{ group: '', kind: 'Service', name: 'web' }], rules: [{ matches: [{ path: { type: 'PathPrefix', value: '/' } }], backendRefs: [{ name: 'web', port: 80 }] }] },
      };
    case 'GRPCRoute':
      return {
        apiVersion: 'gateway.networking.k8s.io/v1',
        kind,
        metadata: meta,
        spec: { parentRefs: [{ name: 'gw' }], rules: [{ matches: [{ method: { service: 'echo.Echo', method: 'Say' } }], backendRefs: [{ name: 'echo', port: 9000 }] }] },
      };
    case 'TCPRoute':
      return { apiVersion: 'gateway.networking.k8s.io/v1alpha2', kind, metadata: meta, spec: { parentRefs: [{ name: 'gw' }], rules: [{ backendRefs: [{ name: 'db', port: 5432 }] }] } };
    case 'AuthorizationPolicy':
      return {
        apiVersion: 'security.istio.io/v1',
        kind,
        metadata: meta,
        spec: { action: 'ALLOW', selector: { matchLabels: { app: 'web' } }, rules: [{ from: [{ source: { principals: ['cluster.local/ns/default/sa/client'] } }], to: [{ operation: { ports: ['8080'] } }] }] },
      };
    case 'PeerAuthentication':
      return { apiVersion: 'security.istio.io/v1', kind, metadata: meta, spec: { mtls: { mode: 'STRICT' } } };
    case 'RequestAuthentication':
      return { apiVersion: 'security.istio.io/v1', kind, metadata: meta, spec: { jwtRules: [{ issuer: 'https://issuer.example', jwksUri: 'https://issuer.example/jwks' }] } };
    case 'DestinationRule':
      return { apiVersion: 'networking.istio.io/v1', kind, metadata: meta, spec: { host: 'web.default.svc.cluster.local', trafficPolicy: { tls: { mode: 'ISTIO_MUTUAL' } } } };
    case 'VirtualService':
      return {
        apiVersion: 'networking.istio.io/v1',
        kind,
        metadata: meta,
        spec: { hosts: ['web'], http: [{ route: [{ destination: { host: 'web', port: { number: 80 } }, weight: 100 }] }] },
      };
    case 'ServiceEntry':
      return {
        apiVersion: 'networking.istio.io/v1',
        kind,
        metadata: meta,
        spec: { hosts: ['api.example.com'], ports: [{ number: 443, name: 'https', protocol: 'TLS' }], resolution: 'DNS', location: 'MESH_EXTERNAL' },
      };
  }
}

/** A deep copy with `patch` merged in at `path` (dot-separated keys; numbers index lists). */
export function withField(obj: Obj, path: string, value: unknown): Obj {
  const copy = structuredClone(obj);
  const keys = path.split('.');
  let cur: Record<string, unknown> = copy;
  for (const k of keys.slice(0, -1)) cur = cur[k] as Record<string, unknown>;
  const last = keys[keys.length - 1]!;
  if (value === undefined) delete cur[last];
  else cur[last] = value;
  return copy;
}
