// examples/mesh must keep working as its README says: loaded through the manifests source and the
// translation with no rejection or problem, the expected resources, and the demo's pods exactly.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { silentLogger } from '../../src/common/log.js';
import { CONTROL_DEFAULTS } from '../../src/config/index.js';
import { translateMesh, type TranslateOptions } from '../../src/controlplane/index.js';
import { ManifestsSource, type ObjectSnapshot } from '../../src/k8s/index.js';
import { podsYaml, POD_NAMES, POD_ROLES, type MeshPods } from '../helpers/inpod-manifests.js';
import { startControlPlane } from '../helpers/mesh-manifests.js';

const EXAMPLE = fileURLToPath(new URL('../../../examples/mesh', import.meta.url));

const OPTIONS: TranslateOptions = {
  clusterId: CONTROL_DEFAULTS.clusterId,
  trustDomain: CONTROL_DEFAULTS.trustDomain,
  domainSuffix: CONTROL_DEFAULTS.clusterDomain,
  rootNamespace: CONTROL_DEFAULTS.rootNamespace,
  network: '',
};

const WAYPOINT = { destination: { kind: 'hostname', namespace: 'demo', hostname: 'waypoint.demo.svc.cluster.local' }, hboneMtlsPort: 15008 };

/** The demo topology as it would be with id `demo` on 10.77.0.0/24: the addresses the example uses. */
const DEMO_PODS: MeshPods = {
  ...(Object.fromEntries(POD_NAMES.map((n, i) => [n, { name: n, ip: `10.77.0.${i + 2}`, netnsPath: `/var/run/netns/ambit-demo-${n}` }])) as Omit<MeshPods, 'vip'>),
  vip: '10.77.96.10',
};

async function load(dir: string): Promise<{ snapshot: ObjectSnapshot; rejections: unknown[] }> {
  const source = new ManifestsSource({ dir, logger: silentLogger() });
  await source.start();
  try {
    return { snapshot: source.snapshot(), rejections: [...source.rejections()] };
  } finally {
    await source.close();
  }
}

test('examples/mesh: every object accepted, translated without a problem into the expected workloads, services, waypoint and route status', async () => {
  const { snapshot, rejections } = await load(EXAMPLE);
  assert.deepEqual(rejections, []);
  const kinds = ['Namespace', 'ServiceAccount', 'Node', 'Pod', 'Service', 'Gateway', 'HTTPRoute'] as const;
  assert.deepEqual(Object.fromEntries(kinds.map((k) => [k, snapshot.list(k).length])), { Namespace: 1, ServiceAccount: 3, Node: 2, Pod: 4, Service: 3, Gateway: 1, HTTPRoute: 1 });

  const t = translateMesh(snapshot, OPTIONS);
  assert.deepEqual(t.errors, []);
  assert.deepEqual(
    t.workloads.map((w) => [w.uid, w.protocol, w.node, w.serviceAccount, w.workloadIps.join(), w.netns, w.locality.zone, [...w.services.keys()].join(), w.waypoint]),
    [
      ['Kubernetes//Pod/demo/c1', 'HBONE', 'node1', 'client', '10.77.0.2', '/var/run/netns/ambit-demo-c1', 'eu-west-1a', 'demo/client.demo.svc.cluster.local', undefined],
      ['Kubernetes//Pod/demo/c2', 'HBONE', 'node1', 'other', '10.77.0.3', '/var/run/netns/ambit-demo-c2', 'eu-west-1a', '', undefined],
      ['Kubernetes//Pod/demo/s1', 'HBONE', 'node2', 'server', '10.77.0.4', '/var/run/netns/ambit-demo-s1', 'eu-west-1b', 'demo/echo.demo.svc.cluster.local', undefined],
      ['Kubernetes//Pod/demo/s2', 'HBONE', 'node2', 'server', '10.77.0.5', '/var/run/netns/ambit-demo-s2', 'eu-west-1b', 'demo/echo.demo.svc.cluster.local', undefined],
    ],
  );
  assert.deepEqual(
    t.services.map((s) => [s.hostname, s.vips.map((v) => v.ip).join(), Object.fromEntries(s.ports), s.waypoint]),
    [
      ['client.demo.svc.cluster.local', '10.77.96.11', { 80: 8080 }, undefined],
      ['echo.demo.svc.cluster.local', '10.77.96.10', { 80: 8080, 9000: 9000 }, WAYPOINT],
      ['waypoint.demo.svc.cluster.local', '10.77.96.20', { 15008: 15008 }, undefined],
    ],
  );
  assert.deepEqual(t.waypoints, [{ namespace: 'demo', name: 'waypoint', trafficType: 'service', address: WAYPOINT }]);
  assert.deepEqual(t.policies, []);
  assert.equal(t.httpRouteStatus.length, 1);
  const route = t.httpRouteStatus[0]!;
  assert.equal(`${route.namespace}/${route.name}`, 'demo/echo');
  assert.deepEqual(route.parents.map((p) => [p.parentRef.kind, p.parentRef.name]), [['Service', 'echo']]);
  assert.deepEqual(route.parents[0]!.conditions.map((c) => `${c.type}=${c.status}`), ['Accepted=True', 'ResolvedRefs=True', 'ResolvedWaypoints=True']);
});

test("examples/mesh's pods are the demo's pods (names, nodes, service accounts, labels, netns and IP scheme)", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ambit-example-pods-'));
  try {
    writeFileSync(join(dir, 'pods.yaml'), podsYaml(DEMO_PODS));
    const demo = (await load(dir)).snapshot.list('Pod');
    const example = (await load(EXAMPLE)).snapshot.list('Pod');
    assert.deepEqual(example, demo);
    assert.deepEqual(example.map((p) => [p.metadata.name, p.spec?.nodeName]), POD_NAMES.map((n) => [n, POD_ROLES[n].node]));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('ambit control on examples/mesh: /ready, and /debug/resources shows what the README says', async () => {
  const state = mkdtempSync(join(tmpdir(), 'ambit-example-cp-'));
  const cp = await startControlPlane(EXAMPLE, state, { AMBIT_LOG_LEVEL: 'info' });
  try {
    const port = cp.plane.addresses().monitoring!.port;
    assert.equal((await fetch(`http://127.0.0.1:${port}/ready`)).status, 200);
    const res = (await (await fetch(`http://127.0.0.1:${port}/debug/resources`)).json()) as {
      workloads: Array<{ name: string; protocol: string }>;
      services: Array<{ hostname: string; waypoint?: unknown }>;
      waypoints: unknown[];
      httpRouteStatus: Array<{ name: string }>;
      problems: unknown[];
    };
    assert.deepEqual(res.workloads.map((w) => `${w.name} ${w.protocol}`), ['c1 HBONE', 'c2 HBONE', 's1 HBONE', 's2 HBONE']);
    assert.deepEqual(res.services.find((s) => s.hostname === 'echo.demo.svc.cluster.local')?.waypoint, WAYPOINT);
    assert.equal(res.waypoints.length, 1);
    assert.deepEqual(res.httpRouteStatus.map((r) => r.name), ['echo']);
    assert.deepEqual(res.problems, []);
    const configz = (await (await fetch(`http://127.0.0.1:${port}/debug/configz`)).json()) as { rejected: unknown[] };
    assert.deepEqual(configz.rejected, []);
  } finally {
    await cp.plane.close();
    rmSync(state, { recursive: true, force: true });
  }
});
