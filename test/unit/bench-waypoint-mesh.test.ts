// The waypoint path's mesh, described twice (agents' local config, waypoint's manifests): both parse
// cleanly, and they agree on every pod's IP, node, identity and protocol, on the Service and on the waypoint.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { translateAll } from '../../src/controlplane/index.js';
import { snapshotOf, type KubeObject } from '../../src/k8s/index.js';
import { parseManifestFile } from '../../src/k8s/manifest-files.js';
import type { Workload } from '../../src/state/index.js';
import { parseLocalConfig } from '../../src/xds/index.js';
import { APP_HTTP_PORT } from '../../bench/paths/server-app.js';
import {
  BENCH_SERVICE_PORT, WAYPOINT_HBONE_PORT, WAYPOINT_NODE, benchServiceHostname, waypointAgentsYaml, waypointIdentity, waypointManifests,
  type WaypointMesh,
} from '../../bench/paths/waypoint-mesh.js';
import { waypointCommand } from '../../bench/paths/waypoint-process.js';

const MESH: WaypointMesh = {
  client: { name: 'wc', ip: '10.40.0.11', netnsPath: '/var/run/netns/ambit-x-wc' },
  server: { name: 'ws', ip: '10.40.0.13', netnsPath: '/var/run/netns/ambit-x-ws' },
  waypoint: { name: 'wp', ip: '10.40.0.12', netnsPath: '/var/run/netns/ambit-x-wp' },
  vip: '10.40.96.80',
  waypointVip: '10.40.96.81',
};

const OPTIONS = { clusterId: 'Kubernetes', trustDomain: 'cluster.local', domainSuffix: 'cluster.local', rootNamespace: 'istio-system', network: '' };

function translated(): ReturnType<typeof translateAll> {
  const objects: KubeObject[] = [];
  for (const [file, text] of Object.entries(waypointManifests(MESH))) {
    const parsed = parseManifestFile(file, text);
    assert.ok(parsed.parsed, `${file} is YAML`);
    assert.deepEqual(parsed.refused.map((r) => r.rejection), [], `${file}: every object is valid`);
    objects.push(...parsed.accepted.map((a) => a.object));
  }
  return translateAll(snapshotOf(objects), OPTIONS);
}

const identity = (w: Workload): string => `spiffe://${w.trustDomain}/ns/${w.namespace}/sa/${w.serviceAccount}`;

test('agents local config: client and server captured in-pod, the Service with its waypoint, the waypoint pod not captured', () => {
  const { snapshot, warnings } = parseLocalConfig(waypointAgentsYaml(MESH), 'mesh-waypoint.yaml');
  assert.deepEqual(warnings, []);
  const by = Object.fromEntries(snapshot.workloads.map((w) => [w.name, w]));
  assert.deepEqual(Object.keys(by).sort(), ['wc', 'wp', 'ws']);
  assert.deepEqual([by.wc!.node, by.wc!.netns, by.wc!.protocol], ['node1', MESH.client.netnsPath, 'HBONE']);
  assert.deepEqual([by.ws!.node, by.ws!.netns, by.ws!.protocol], ['node2', MESH.server.netnsPath, 'HBONE']);
  // The waypoint: an HBONE workload, on a node without agent and without netns: nobody captures it.
  assert.deepEqual([by.wp!.node, by.wp!.netns, by.wp!.protocol, by.wp!.workloadIps], [WAYPOINT_NODE, undefined, 'HBONE', [MESH.waypoint.ip]]);
  assert.equal(identity(by.wp!), waypointIdentity());
  assert.deepEqual([...by.ws!.services.entries()].map(([k, m]) => [k, [...m]]), [[`default/${benchServiceHostname()}`, [[BENCH_SERVICE_PORT, APP_HTTP_PORT]]]]);
  assert.equal(snapshot.services.length, 1);
  const svc = snapshot.services[0]!;
  assert.deepEqual(svc.vips, [{ network: '', ip: MESH.vip }]);
  assert.deepEqual([...svc.ports], [[BENCH_SERVICE_PORT, APP_HTTP_PORT]]);
  assert.deepEqual(svc.waypoint, { destination: { kind: 'address', network: '', ip: MESH.waypoint.ip }, hboneMtlsPort: WAYPOINT_HBONE_PORT });
});

test('waypoint manifests: a WaypointConfig for default/waypoint serving the Service over HTTP, no route, its own cluster', () => {
  const t = translated();
  assert.deepEqual(t.waypoints.errors, []);
  const cfg = t.waypoints.configs.find((c) => c.waypoint.namespace === 'default' && c.waypoint.name === 'waypoint');
  assert.ok(cfg, 'a config for the waypoint');
  assert.deepEqual(cfg.services.map((s) => s.hostname), [benchServiceHostname()]);
  const ports = cfg.services[0]!.ports;
  assert.deepEqual(ports.map((p) => [p.port, p.protocol, p.routes.length]), [[BENCH_SERVICE_PORT, 'http', 0]]);
  assert.ok(cfg.clusters.some((c) => c.name === ports[0]!.defaultCluster), 'the default cluster exists');
});

test('both descriptions agree: pods (IP, node, identity, protocol), the Service (VIP, ports, endpoints) and the waypoint address', () => {
  const agents = parseLocalConfig(waypointAgentsYaml(MESH), 'mesh-waypoint.yaml').snapshot;
  const mesh = translated().mesh;
  for (const pod of [MESH.client, MESH.server, MESH.waypoint]) {
    const a = agents.workloads.find((w) => w.name === pod.name);
    const m = mesh.workloads.find((w) => w.name === pod.name);
    assert.ok(a && m, pod.name);
    assert.deepEqual(
      [m.workloadIps, m.node, identity(m), m.protocol],
      [a.workloadIps, a.node, identity(a), a.protocol],
      `${pod.name}: the waypoint sees what the agents see`,
    );
  }
  const a = agents.services[0]!;
  const m = mesh.services.find((s) => s.hostname === benchServiceHostname());
  assert.ok(m);
  assert.deepEqual([m.vips, [...m.ports]], [a.vips, [...a.ports]]);
  // The endpoints: only the server pod, with the same port mapping.
  const endpoints = (s: { workloads: readonly Workload[] }): string[][] =>
    s.workloads.filter((w) => w.services.has(`default/${benchServiceHostname()}`)).map((w) => [w.name, JSON.stringify([...w.services.get(`default/${benchServiceHostname()}`)!])]);
  assert.deepEqual(endpoints(mesh), endpoints(agents));
  // The control plane addresses the waypoint by its Service; the agents by its pod IP: the same pod.
  assert.deepEqual(m.waypoint, { destination: { kind: 'hostname', namespace: 'default', hostname: 'waypoint.default.svc.cluster.local' }, hboneMtlsPort: WAYPOINT_HBONE_PORT });
  const wpService = mesh.services.find((s) => s.hostname === 'waypoint.default.svc.cluster.local');
  assert.deepEqual(wpService?.vips, [{ network: '', ip: MESH.waypointVip }]);
  assert.deepEqual(mesh.workloads.filter((w) => w.services.has('default/waypoint.default.svc.cluster.local')).map((w) => w.workloadIps), [[MESH.waypoint.ip]]);
});

test('waypoint command: manifests mode, the run\'s built-in CA, --log-level warn, listeners on the pod IP, admin on loopback', () => {
  const cmd = waypointCommand({ pod: 'wp', ip: '10.40.0.12', manifestsDir: '/w/manifests', stateDir: '/w/ca-state' });
  const flag = (f: string): string | undefined => cmd[cmd.indexOf(f) + 1];
  assert.equal(cmd[cmd.indexOf('waypoint') - 1]!.endsWith('ambit.js'), true, '`ambit waypoint`');
  assert.deepEqual(
    ['--namespace', '--name', '--manifests', '--ca-provider', '--state-dir', '--log-level', '--bind-address', '--admin-bind-address', '--instance-ip'].map(flag),
    ['default', 'waypoint', '/w/manifests', 'builtin', '/w/ca-state', 'warn', '10.40.0.12', '127.0.0.1', '10.40.0.12'],
  );
  assert.ok(cmd.includes('--single-threaded-gc'), 'the agents\' Node flags');
  assert.equal(cmd.includes('--xds-address'), false);
});
