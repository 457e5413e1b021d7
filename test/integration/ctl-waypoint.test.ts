// `ambit ctl routes` against a live waypoint (the `ambit waypoint` composition root in-process, in
// manifests mode on examples/mesh plus a second HTTPRoute), and `ambit ctl --control` against a live
// `ambit control` on the same folder: tables and JSON checked against what each process serves.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WaypointProcess } from '../../src/bin/waypoint.js';
import { loadWaypointConfig } from '../../src/config/index.js';
import { ctl, tableRows } from '../helpers/ctl-run.js';
import { startControlPlane, type TestControlPlane } from '../helpers/mesh-manifests.js';

const EXAMPLE = fileURLToPath(new URL('../../../examples/mesh', import.meta.url));

/** POST /login is redirected to https; it sorts before echo's PathPrefix / (Exact first). */
const LOGIN_ROUTE = `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: echo-login
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
        type: Exact
        value: /login
      method: POST
      headers:
      - name: x-canary
        value: "1"
    filters:
    - type: RequestRedirect
      requestRedirect:
        scheme: https
        statusCode: 301
`;

let dir: string;
let wp: WaypointProcess;
let cp: TestControlPlane;
let wpAdmin: string;
let cpMonitoring: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ambit-ctl-wp-'));
  const manifests = join(dir, 'manifests');
  cpSync(EXAMPLE, manifests, { recursive: true });
  writeFileSync(join(manifests, 'echo-login.yaml'), LOGIN_ROUTE);
  const config = loadWaypointConfig(
    ['--manifests', manifests, '--namespace', 'demo', '--name', 'waypoint', '--bind-address', '127.0.0.1', '--admin-bind-address', '127.0.0.1', '--port-hbone', '0', '--port-admin', '0', '--port-stats', '0', '--port-readiness', '0', '--state-dir', join(dir, 'wp-state')],
    {},
  );
  wp = new WaypointProcess({ config, logDestination: { write: () => undefined } });
  await wp.start();
  await wp.readiness.whenReady();
  wpAdmin = `127.0.0.1:${wp.addresses().admin!.port}`;
  cp = await startControlPlane(manifests, join(dir, 'cp-state'), { AMBIT_LOG_LEVEL: 'info' });
  cpMonitoring = `127.0.0.1:${cp.plane.addresses().monitoring!.port}`;
});

after(async () => {
  wp?.destroy();
  await cp?.plane.close();
  rmSync(dir, { recursive: true, force: true });
});

test('routes: per service port in precedence order with match and backends, then clusters with endpoints and health', async () => {
  const r = await ctl(['routes', '--waypoint', wpAdmin]);
  assert.equal(r.code, 0, r.err);
  const [head, routes, clusters] = r.out.split('\n\n');
  assert.match(head!, /^waypoint demo\/waypoint \(spiffe:\/\/cluster\.local\/ns\/demo\/sa\/waypoint\), WaypointConfig version [0-9a-f]{16}$/);
  assert.equal(routes!.split('\n')[0]?.replace(/ {2,}/g, '|'), 'SERVICE|PORT|PROTOCOL|ROUTE|MATCH|BACKENDS');
  assert.deepEqual(tableRows(routes!), [
    ['echo.demo.svc.cluster.local', '80', 'http', '0: demo/echo-login.r0.m0', 'path exact /login, method POST, header x-canary=1', 'redirect 301 https://'],
    ['echo.demo.svc.cluster.local', '80', 'http', '1: demo/echo.r0.m0', 'path prefix /', 'outbound|80||echo.demo.svc.cluster.local'],
    ['echo.demo.svc.cluster.local', '9000', 'tcp', '(default)', '*', 'outbound|9000||echo.demo.svc.cluster.local'],
  ]);
  assert.deepEqual(tableRows(clusters!), [
    ['outbound|80||echo.demo.svc.cluster.local', 'LEAST_REQUEST', 'demo/s1', '10.77.0.4:8080', 'HEALTHY', 'HBONE', '0'],
    ['outbound|80||echo.demo.svc.cluster.local', 'LEAST_REQUEST', 'demo/s2', '10.77.0.5:8080', 'HEALTHY', 'HBONE', '0'],
    ['outbound|9000||echo.demo.svc.cluster.local', 'LEAST_REQUEST', 'demo/s1', '10.77.0.4:9000', 'HEALTHY', 'HBONE', '0'],
    ['outbound|9000||echo.demo.svc.cluster.local', 'LEAST_REQUEST', 'demo/s2', '10.77.0.5:9000', 'HEALTHY', 'HBONE', '0'],
  ]);
});

test('routes -o json / yaml: the waypoint proxy\'s own route table; --namespace filters', async () => {
  const dump = (await (await fetch(`http://${wpAdmin}/config_dump`)).json()) as { proxy: { services: unknown[]; clusters: unknown[] }; waypointConfig: { version: string } };
  const j = JSON.parse((await ctl(['routes', '--waypoint', wpAdmin, '-o', 'json'])).out) as { waypoint: unknown; services: unknown[]; clusters: unknown[]; configVersion: string };
  assert.deepEqual(j.waypoint, { namespace: 'demo', name: 'waypoint' });
  assert.deepEqual(j.services, dump.proxy.services);
  assert.deepEqual(j.clusters, dump.proxy.clusters);
  assert.equal(j.configVersion, dump.waypointConfig.version);
  const y = await ctl(['routes', '--waypoint', wpAdmin, '-o', 'yaml', '-n', 'elsewhere']);
  assert.match(y.out, /^services: \[\]\nclusters: \[\]\n/m);
  const empty = await ctl(['routes', '--waypoint', wpAdmin, '-n', 'elsewhere']);
  assert.deepEqual(tableRows(empty.out.split('\n\n')[1]!), []);
});

test('workloads from the waypoint\'s admin API; explain and connections refused there with the reason', async () => {
  const w = await ctl(['workloads', '--waypoint', wpAdmin]);
  assert.deepEqual(tableRows(w.out).map((r) => r[1]), ['c1', 'c2', 's1', 's2']);
  const e = await ctl(['explain', '--node-agent', wpAdmin, '--from', 'demo/c1', '--to', 'echo.demo:80']);
  assert.equal(e.code, 1);
  assert.equal(e.err, `ambit ctl: ${wpAdmin} is the admin API of waypoint demo/waypoint, not of a node agent: /debug/explain is a node agent's (use --node-agent)\n`);
});

test('--control: the cluster-wide workloads, services and policies ambit control serves', async () => {
  const w = await ctl(['workloads', '--control', cpMonitoring]);
  assert.equal(w.code, 0, w.err);
  assert.deepEqual(tableRows(w.out), [
    ['demo', 'c1', '10.77.0.2', 'node1', 'None', 'HBONE'],
    ['demo', 'c2', '10.77.0.3', 'node1', 'None', 'HBONE'],
    ['demo', 's1', '10.77.0.4', 'node2', 'None', 'HBONE'],
    ['demo', 's2', '10.77.0.5', 'node2', 'None', 'HBONE'],
  ]);
  const s = await ctl(['services', '--control', cpMonitoring]);
  assert.deepEqual(tableRows(s.out), [
    ['demo', 'client', '10.77.96.11', 'None', '1/1'],
    ['demo', 'echo', '10.77.96.10', 'waypoint', '2/2'],
    ['demo', 'waypoint', '10.77.96.20', 'None', '0/0'],
  ]);
  const res = (await (await fetch(`http://${cpMonitoring}/debug/resources`)).json()) as { workloads: unknown[]; policies: unknown[] };
  assert.deepEqual(JSON.parse((await ctl(['workloads', '--control', cpMonitoring, '-o', 'json'])).out), res.workloads);
  assert.deepEqual(JSON.parse((await ctl(['policies', '--control', cpMonitoring, '-o', 'json'])).out), res.policies);
  const all = JSON.parse((await ctl(['all', '--control', cpMonitoring, '-o', 'json'])).out) as Record<string, unknown>;
  assert.deepEqual(Object.keys(all), ['workloads', 'services', 'policies']);
});

test('--control at an admin port, and an admin flag at the monitoring port: each recognised and pointed at the right flag', async () => {
  const a = await ctl(['services', '--control', wpAdmin]);
  assert.equal(a.code, 1);
  assert.match(a.err, /is not ambit control's monitoring port: GET \/debug\/resources answered HTTP 404 Not Found.*It looks like an Ambit admin port \(node agent or waypoint: use --node-agent or --waypoint\)/);
  const m = await ctl(['services', '--node-agent', cpMonitoring]);
  assert.equal(m.code, 1);
  assert.match(m.err, /is not an Ambit admin API \(node agent or waypoint\): GET \/config_dump answered HTTP 404 Not Found.*It looks like ambit control's monitoring port \(use --control\)/);
});
