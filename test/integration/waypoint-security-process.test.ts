// `ambit waypoint` as a process (manifests mode) with an AuthorizationPolicy and a
// RequestAuthentication targeting its Gateway: the objects pass validation, the translated
// security is in force (/config_dump), the JWKS is fetched by the waypoint itself, and the
// security metrics are exported.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually, startJwksServer } from '../helpers/jwks-server.js';
import { jwksOf, makeKey } from '../helpers/jwt-keys.js';
import { WaypointProcessHandle } from '../helpers/waypoint-process.js';

const OBJECTS = (jwksUri: string): string => `apiVersion: v1
kind: Namespace
metadata:
  name: demo
  labels:
    istio.io/dataplane-mode: ambient
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: waypoint
  namespace: demo
spec:
  gatewayClassName: istio-waypoint
  listeners:
  - name: mesh
    port: 15008
    protocol: HBONE
---
apiVersion: v1
kind: Service
metadata:
  name: waypoint
  namespace: demo
  labels:
    gateway.istio.io/managed: istio.io-mesh-controller
    gateway.networking.k8s.io/gateway-name: waypoint
spec:
  selector:
    gateway.networking.k8s.io/gateway-name: waypoint
  clusterIP: 10.77.96.20
  clusterIPs: ["10.77.96.20"]
  ports:
  - name: mesh
    port: 15008
---
apiVersion: v1
kind: Service
metadata:
  name: echo
  namespace: demo
  labels:
    istio.io/use-waypoint: waypoint
spec:
  selector:
    app: echo
  clusterIP: 10.77.96.10
  clusterIPs: ["10.77.96.10"]
  ports:
  - name: http
    port: 80
    targetPort: 8080
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: require-jwt
  namespace: demo
spec:
  targetRefs:
  - group: gateway.networking.k8s.io
    kind: Gateway
    name: waypoint
  action: ALLOW
  rules:
  - from:
    - source:
        requestPrincipals: ["*"]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: ext
  namespace: demo
spec:
  targetRefs:
  - group: ""
    kind: Service
    name: echo
  action: CUSTOM
  provider:
    name: opa
  rules:
  - {}
---
apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata:
  name: jwt
  namespace: demo
spec:
  targetRefs:
  - group: gateway.networking.k8s.io
    kind: Gateway
    name: waypoint
  jwtRules:
  - issuer: https://issuer.example
    jwksUri: ${jwksUri}
`;

test('ambit waypoint (manifests mode) enforces policies with targetRefs and fetches the JWKS itself', async (t) => {
  const key = await makeKey('RS256', 'k1');
  const jwks = await startJwksServer(jwksOf(key));
  const dir = mkdtempSync(join(tmpdir(), 'ambit-waypoint-sec-'));
  const manifests = join(dir, 'manifests');
  mkdirSync(manifests);
  writeFileSync(join(manifests, 'objects.yaml'), OBJECTS(`${jwks.url}/jwks`));
  const wp = new WaypointProcessHandle({
    bind: '127.0.0.1',
    env: { POD_NAMESPACE: 'demo', ISTIO_META_WORKLOAD_NAME: 'waypoint', POD_NAME: 'waypoint-1', AMBIT_STATE_DIR: join(dir, 'state') },
    args: ['--manifests', manifests],
  });
  t.after(async () => {
    wp.kill();
    await jwks.close();
    rmSync(dir, { recursive: true, force: true });
  });
  await wp.start();
  const dump = await wp.configDump();
  const security = dump.waypointConfig.config.security;
  assert.deepEqual(security.authorization.map((p: { name: string; action: string; services?: string[] }) => [p.name, p.action, p.services]), [
    ['ext', 'CUSTOM', ['demo/echo.demo.svc.cluster.local']],
    ['require-jwt', 'ALLOW', undefined],
  ]);
  assert.equal(security.jwtRules[0].jwksUri, `${jwks.url}/jwks`);
  assert.deepEqual(dump.proxy.security.authorization.map((p: { policy: string }) => p.policy), ['demo/ext', 'demo/require-jwt']);
  await eventually('the waypoint fetched the JWKS', async () => ((await wp.configDump()).proxy.security.jwks[0]?.keys ?? 0) === 1);
  assert.equal(jwks.hits.get('/jwks'), 1);
  const metrics = await wp.metrics();
  assert.match(metrics, /ambit_waypoint_jwks_fetches_total\{result="success"\} 1/);
  assert.match(metrics, /# TYPE ambit_waypoint_authz_denied(_total)? counter/);
  assert.match(metrics, /# TYPE ambit_waypoint_jwt_failures(_total)? counter/);
  assert.deepEqual(await wp.stop(), { code: 0, signal: null });
});
