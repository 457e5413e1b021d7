// The waypoint demo's manifests, written as Istio's traffic-management and security tutorials write
// them (istio.io/latest/docs/tasks/), for Services echo (v1 + v2), echo-v1 and echo-v2 of namespace demo.

/** HTTPRoute canary (tasks/traffic-management/traffic-shifting, Gateway API tab): weights v1/v2. */
export function canaryRoute(v1: number, v2: number): string {
  return `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: echo
  namespace: demo
spec:
  parentRefs:
  - group: ""
    kind: Service
    name: echo
    port: 80
  rules:
  - backendRefs:
    - name: echo-v1
      port: 80
      weight: ${v1}
    - name: echo-v2
      port: 80
      weight: ${v2}
`;
}

/** HTTPRoute A/B on a header (tasks/traffic-management/request-routing, Gateway API tab). */
export const AB_ROUTE = `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: echo
  namespace: demo
spec:
  parentRefs:
  - group: ""
    kind: Service
    name: echo
    port: 80
  rules:
  - matches:
    - headers:
      - name: end-user
        value: jason
    backendRefs:
    - name: echo-v2
      port: 80
  - backendRefs:
    - name: echo-v1
      port: 80
`;

const SUBSETS = `  subsets:
  - name: v1
    labels:
      version: v1
  - name: v2
    labels:
      version: v2
`;

/** destination-rule-all.yaml: the subsets the VirtualServices name. */
export const DESTINATION_RULE = `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: echo
  namespace: demo
spec:
  host: echo
${SUBSETS}`;

/** tasks/traffic-management/circuit-breaking: one connection, one pending request, one request per connection. */
export const DESTINATION_RULE_CIRCUIT_BREAKER = `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: echo
  namespace: demo
spec:
  host: echo
  trafficPolicy:
    connectionPool:
      tcp:
        maxConnections: 1
      http:
        http1MaxPendingRequests: 1
        maxRequestsPerConnection: 1
    outlierDetection:
      consecutive5xxErrors: 1
      interval: 1s
      baseEjectionTime: 3m
      maxEjectionPercent: 100
${SUBSETS}`;

const VS_HEAD = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: echo
  namespace: demo
spec:
  hosts:
  - echo
  http:
`;

/** A `route` to one subset, as a key of an http[] entry. */
const route = (subset: string): string => `    route:
    - destination:
        host: echo
        subset: ${subset}
`;

/** Makes `body` (keys indented four spaces) a new http[] entry: its first line gets the `- `. */
const entry = (body: string): string => `  - ${body.slice(4)}`;

const jason = `  - match:
    - headers:
        end-user:
          exact: jason
`;

/** virtual-service-all-v1.yaml */
export const VS_ALL_V1 = `${VS_HEAD}${entry(route('v1'))}`;

/** virtual-service-reviews-test-v2.yaml: jason gets v2, everyone else v1. */
export const VS_JASON = `${VS_HEAD}${jason}${route('v2')}${entry(route('v1'))}`;

/** virtual-service-reviews-50-v3.yaml: weights between the subsets. */
export function vsWeights(v1: number, v2: number): string {
  return `${VS_HEAD}  - route:
    - destination:
        host: echo
        subset: v1
      weight: ${v1}
    - destination:
        host: echo
        subset: v2
      weight: ${v2}
`;
}

/** tasks/traffic-management/fault-injection: a delay for jason, an abort for half of everyone else. */
export const VS_FAULTS = `${VS_HEAD}${jason}    fault:
      delay:
        percentage:
          value: 100.0
        fixedDelay: 2s
${route('v1')}  - fault:
      abort:
        percentage:
          value: 50.0
        httpStatus: 500
${route('v1')}`;

/** tasks/traffic-management/request-timeouts */
export const VS_TIMEOUT = `${VS_HEAD}${entry(route('v1'))}    timeout: 0.5s
`;

/** Both versions, no retries stanza: Istio's default retry policy (which does not retry a 503). */
export const VS_NO_RETRIES = `${VS_HEAD}  - route:
    - destination:
        host: echo
`;

/** The same with the VirtualService \`retries\` field (networking/virtual-service HTTPRetry). */
export const VS_RETRIES = `${VS_NO_RETRIES}    retries:
      attempts: 3
      perTryTimeout: 2s
      retryOn: 5xx
`;

/** tasks/traffic-management/mirroring: everything to v1, a copy of each request to v2. */
export const VS_MIRROR = `${VS_HEAD}  - route:
    - destination:
        host: echo
        subset: v1
      weight: 100
    mirror:
      host: echo
      subset: v2
    mirrorPercentage:
      value: 100.0
`;

/** tasks/security/authorization/authz-http, at the waypoint: targetRefs the Service. */
export const AUTHZ_HTTP = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: echo-viewer
  namespace: demo
spec:
  targetRefs:
  - kind: Service
    group: ""
    name: echo
  action: ALLOW
  rules:
  - from:
    - source:
        principals: ["cluster.local/ns/demo/sa/client"]
    to:
    - operation:
        methods: ["GET"]
        paths: ["/api/*"]
`;

export const JWT_ISSUER = 'testing@secure.istio.io';

/**
 * tasks/security/authorization/authz-jwt: RequestAuthentication with the keys inline (`jwks`), and
 * an ALLOW that requires a request principal; `groups` adds the tutorial's claim condition.
 */
export function jwtManifests(jwks: string, groups?: string): string {
  const indented = JSON.stringify(JSON.parse(jwks), null, 2).split('\n').map((l) => `      ${l}`).join('\n');
  const when = groups === undefined ? '' : `    when:
    - key: request.auth.claims[groups]
      values: ["${groups}"]
`;
  return `apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata:
  name: jwt-example
  namespace: demo
spec:
  targetRefs:
  - kind: Service
    group: ""
    name: echo
  jwtRules:
  - issuer: "${JWT_ISSUER}"
    jwks: |
${indented}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: require-jwt
  namespace: demo
spec:
  targetRefs:
  - kind: Service
    group: ""
    name: echo
  action: ALLOW
  rules:
  - from:
    - source:
        requestPrincipals: ["${JWT_ISSUER}/${JWT_ISSUER}"]
${when}`;
}
