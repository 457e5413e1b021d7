// `ambit waypoint` as a process in manifests mode (a Gateway of class istio-waypoint, the Service
// that is its address, a Service using it, an HTTPRoute): readiness, /config_dump, live reload,
// a refused change keeping the last good config, and a clean exit on SIGTERM. And in xDS mode
// against `ambit control` over TLS: a waypoint with its own bearer token is accepted.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ControlPlaneProcess } from '../helpers/control-plane-process.js';
import { WaypointProcessHandle } from '../helpers/waypoint-process.js';

const NAMESPACE = `apiVersion: v1
kind: Namespace
metadata:
  name: demo
  labels:
    istio.io/dataplane-mode: ambient
`;

const WAYPOINT = `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: waypoint
  namespace: demo
  labels:
    istio.io/waypoint-for: service
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
`;

const service = (name: string, ip: string): string => `apiVersion: v1
kind: Service
metadata:
  name: ${name}
  namespace: demo
  labels:
    istio.io/use-waypoint: waypoint
spec:
  selector:
    app: ${name}
  clusterIP: ${ip}
  clusterIPs: ["${ip}"]
  ports:
  - name: http
    port: 80
    targetPort: 8080
`;

const ROUTE = `apiVersion: gateway.networking.k8s.io/v1
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
    - path:
        type: PathPrefix
        value: /
    backendRefs:
    - name: echo
      port: 80
`;

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const hostnames = (cfg: { services: { hostname: string }[] } | undefined): string[] => (cfg?.services ?? []).map((s) => s.hostname).sort();

test('ambit waypoint (manifests mode): ready with its identity and config, follows the folder, keeps the last good config, drains on SIGTERM', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ambit-waypoint-'));
  const manifests = join(dir, 'manifests');
  const state = join(dir, 'state');
  mkdirSync(manifests);
  writeFileSync(join(manifests, 'namespace.yaml'), NAMESPACE);
  writeFileSync(join(manifests, 'waypoint.yaml'), WAYPOINT);
  writeFileSync(join(manifests, 'echo.yaml'), service('echo', '10.77.96.10'));
  writeFileSync(join(manifests, 'route.yaml'), ROUTE);
  const wp = new WaypointProcessHandle({
    bind: '127.0.0.1',
    // Istio's waypoint pod variables; the name from ISTIO_META_WORKLOAD_NAME as Istio sets it.
    env: { POD_NAMESPACE: 'demo', ISTIO_META_WORKLOAD_NAME: 'waypoint', POD_NAME: 'waypoint-5d8f', AMBIT_STATE_DIR: state },
    args: ['--manifests', manifests],
  });
  t.after(() => {
    wp.kill();
    rmSync(dir, { recursive: true, force: true });
  });
  await wp.start();

  // Ready: certificate, config and listener. The dump names the identity and what it serves.
  const dump = await wp.configDump();
  const identity = 'spiffe://cluster.local/ns/demo/sa/waypoint';
  assert.deepEqual(dump.waypoint, { namespace: 'demo', name: 'waypoint', serviceAccount: 'waypoint', identity, trustDomain: 'cluster.local' });
  assert.deepEqual(dump.certificates.map((c: { identity: string }) => c.identity), [identity]);
  assert.equal(dump.certificates[0].state, 'Available');
  assert.equal(dump.waypointConfig.source, 'manifests');
  assert.match(dump.waypointConfig.version, /^[0-9a-f]{16}$/);
  assert.deepEqual(dump.waypointConfig.config.waypoint, { namespace: 'demo', name: 'waypoint' });
  assert.deepEqual(hostnames(dump.waypointConfig.config), ['echo.demo.svc.cluster.local'], 'the service that uses this waypoint');
  assert.equal(dump.version.waypointConfigVersion, dump.waypointConfig.version);
  assert.ok(dump.services.some((s: { hostname: string }) => s.hostname === 'echo.demo.svc.cluster.local'), 'the mesh state has the service too');
  assert.ok(dump.proxy !== undefined, 'the proxy dump is included');
  assert.deepEqual(dump.rejectedConfigs, { count: 0 });
  assert.equal(dump.xds, undefined, 'no control plane in manifests mode');
  assert.ok(wp.ports.hbone > 0);

  // A second service joins: the folder is watched, a new config version applied.
  const v1 = dump.waypointConfig.version as string;
  writeFileSync(join(manifests, 'reviews.yaml'), service('reviews', '10.77.96.11'));
  const d2 = await until('reviews in the WaypointConfig', async () => {
    const d = await wp.configDump();
    return hostnames(d.waypointConfig?.config).includes('reviews.demo.svc.cluster.local') ? d : undefined;
  });
  assert.notEqual(d2.waypointConfig.version, v1);
  const v2 = d2.waypointConfig.version as string;

  // The Gateway goes away: no config for this waypoint; refused, counted, the last good one stays.
  rmSync(join(manifests, 'waypoint.yaml'));
  const d3 = await until('the rejection', async () => {
    const d = await wp.configDump();
    return d.rejectedConfigs.count > 0 ? d : undefined;
  });
  assert.match(d3.rejectedConfigs.last.reason, /no Gateway demo\/waypoint of class istio-waypoint/);
  assert.equal(d3.waypointConfig.version, v2, 'the last good config is still in force');
  assert.ok(wp.lines.some((l) => l.msg === 'WaypointConfig rejected; the last good one stays in force' && l.level === 50));
  assert.match(await wp.metrics(), /ambit_errors_total\{[^}]*component="waypoint_config"[^}]*code="CONFIG_INVALID"[^}]*\} [1-9]/);
  const ready = await fetch(wp.url(wp.ports.readiness, '/healthz/ready'));
  assert.equal(ready.status, 200, 'still ready: it serves the last good config');

  // SIGTERM: drains and exits 0.
  const exit = await wp.stop();
  assert.deepEqual(exit, { code: 0, signal: null });
  assert.ok(wp.lines.some((l) => l.msg === 'draining'));
  assert.ok(wp.lines.some((l) => l.msg === 'stopped'));
});

test('ambit waypoint refuses to start without a source, naming the settings', async () => {
  const wp = new WaypointProcessHandle({ bind: '127.0.0.1', env: { POD_NAMESPACE: 'demo', WAYPOINT_NAME: 'waypoint' }, args: [] });
  await assert.rejects(wp.start(5_000), /exited during start-up: ambit waypoint: invalid configuration: 1 problem:\n {2}- XDS_ADDRESS or WAYPOINT_MANIFESTS: one is required/);
});

test('ambit waypoint (xDS mode): accepted by ambit control over TLS with its own token, as a waypoint node; CA from the control plane', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ambit-waypoint-xds-'));
  const manifests = join(dir, 'manifests');
  mkdirSync(manifests);
  for (const [f, text] of [['namespace.yaml', NAMESPACE], ['waypoint.yaml', WAYPOINT], ['echo.yaml', service('echo', '10.77.96.10')], ['route.yaml', ROUTE]]) {
    writeFileSync(join(manifests, f as string), text as string);
  }
  const tokenFile = join(dir, 'tokens.yaml');
  writeFileSync(tokenFile, 'waypoint-token-1: demo/waypoint\n', { mode: 0o600 });
  // A loopback address of its own: ambit control listens on istiod's fixed ports.
  const bind = `127.${20 + Math.floor(Math.random() * 200)}.${Math.floor(Math.random() * 250)}.7`;
  const cp = new ControlPlaneProcess({ manifests, bind, stateDir: join(dir, 'cp-state'), tokenFile });
  const root = join(dir, 'cp-state', 'root-cert.pem');
  const wp = new WaypointProcessHandle({
    bind,
    env: {
      POD_NAMESPACE: 'demo', WAYPOINT_NAME: 'waypoint', POD_NAME: 'waypoint-5d8f', INSTANCE_IP: bind,
      XDS_ADDRESS: cp.tlsAddress, XDS_ROOT_CA: root,
      AMBIT_CA_PROVIDER: 'istiod', CA_ADDR: cp.tlsAddress, CA_ROOT_CA: root,
      AUTH_TOKEN: 'waypoint-token-1',
    },
    args: [],
  });
  t.after(async () => {
    wp.kill();
    await cp.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  await cp.start();
  // Started = xDS synced (first ACK of Address, Authorization and the WaypointConfig answer) and listening.
  await wp.start(30_000, false);

  const dump = await wp.configDump();
  assert.equal(dump.xds.state, 'connected');
  assert.equal(dump.xds.synced, true);
  assert.equal(dump.xds.lastNack, undefined);
  assert.ok(dump.services.some((s: { hostname: string }) => s.hostname === 'echo.demo.svc.cluster.local'), 'the mesh state came over xDS');
  await until('the certificate from the control plane CA', async () => {
    const d = await wp.configDump();
    return d.certificates[0]?.state === 'Available' ? true : undefined;
  }).catch((err: Error) => assert.fail(`${err.message}: ${JSON.stringify(wp.lines.filter((l) => l.level >= 40).slice(-3))}`));

  const adsz = await cp.debug<{ clients: { principal: string; nodeId: string; listener: string; types: Record<string, { subscribed?: string[] }> }[] }>('/debug/adsz');
  const client = adsz.clients.find((c) => c.nodeId.startsWith('waypoint~'));
  assert.ok(client, `a waypoint node among ${JSON.stringify(adsz.clients.map((c) => c.nodeId))}`);
  assert.equal(client.nodeId, `waypoint~${bind}~waypoint-5d8f.demo~demo.svc.cluster.local`);
  assert.equal(client.principal, 'spiffe://cluster.local/ns/demo/sa/waypoint', 'authenticated by its bearer token on the TLS port');
  assert.equal(client.listener, 'tls');
  assert.ok(JSON.stringify(client.types).includes('ambit.waypoint.v1.WaypointConfig'), 'subscribed to its WaypointConfig');

  // Ready: the control plane served this waypoint's WaypointConfig, and it is in force.
  const ready = await fetch(wp.url(wp.ports.readiness, '/healthz/ready'));
  assert.equal(ready.status, 200, await ready.text());
  assert.equal(dump.waypointConfig?.source, 'xds');
  assert.deepEqual(hostnames(dump.waypointConfig.config), ['echo.demo.svc.cluster.local']);
  assert.deepEqual(await wp.stop(), { code: 0, signal: null });
});
