// `ambit control` in cluster mode against the test API server (documented list/watch protocol, real
// @kubernetes/client-node): objects reach the translation, and HTTPRoute status is written back.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ControlPlane } from '../../src/bin/control-plane.js';
import { ambitResources, FakeKubeApiServer } from '../helpers/fake-kube-apiserver.js';
import { startClusterControlPlane } from '../helpers/cluster-control-plane.js';
import { parseAllDocuments } from 'yaml';
import { meshAddresses } from '../helpers/mesh-config.js';
import { meshManifests } from '../helpers/mesh-manifests.js';
import { randomLoopbackPrefix } from '../helpers/tcp.js';
import { waitUntil } from '../helpers/two-node-mesh.js';

const addrs = meshAddresses(randomLoopbackPrefix());
let server: FakeKubeApiServer;
let plane: ControlPlane;

function route(name: string, backend: string): Record<string, unknown> {
  return {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: { name, namespace: 'default', generation: 1 },
    spec: {
      parentRefs: [{ group: '', kind: 'Service', name: 'echo', port: 80 }],
      rules: [{ backendRefs: [{ name: backend, port: 80 }] }],
    },
  };
}

interface StoredParent {
  controllerName: string;
  conditions: Array<{ type: string; status: string; reason: string; lastTransitionTime?: string }>;
}

function parentsOf(name: string): StoredParent[] {
  const obj = server.state.get('gateway.networking.k8s.io/httproutes', 'default', name) as { status?: { parents?: StoredParent[] } } | undefined;
  return obj?.status?.parents ?? [];
}

before(async () => {
  server = new FakeKubeApiServer({ resources: ambitResources() });
  await server.start();
  for (const doc of parseAllDocuments(meshManifests(addrs))) server.apply(doc.toJSON() as Record<string, unknown>);
  server.apply(route('to-echo', 'echo'));
  server.apply(route('to-nowhere', 'missing'));
  // Another controller's entry on the same route must survive our writes.
  server.state.patchStatus('gateway.networking.k8s.io/httproutes', 'default', 'to-echo', {
    parents: [{ parentRef: { name: 'gw' }, controllerName: 'example.com/other', conditions: [{ type: 'Accepted', status: 'True', reason: 'Accepted', message: '', lastTransitionTime: '2026-01-01T00:00:00Z', observedGeneration: 1 }] }],
  });
  ({ plane } = await startClusterControlPlane(server));
});

after(async () => {
  plane?.destroy();
  await server?.close();
});

test('objects listed and watched from the API server are translated', async () => {
  await waitUntil(() => (plane.pipeline.state().translation?.workloads.length ?? 0) === 2, 10_000);
  const t = plane.pipeline.state().translation!;
  assert.deepEqual(t.workloads.map((w) => [w.name, w.protocol, w.node]), [['client', 'HBONE', 'a'], ['echo', 'HBONE', 'b']]);
  assert.deepEqual(t.services.map((s) => s.hostname), ['echo.default.svc.cluster.local']);
});

test('HTTPRoute status: Accepted/ResolvedRefs written for our parents, other controllers kept, missing backends reported', async () => {
  await waitUntil(() => parentsOf('to-echo').some((p) => p.controllerName === 'istio.io/mesh-controller'), 10_000);
  const echo = parentsOf('to-echo');
  assert.ok(echo.some((p) => p.controllerName === 'example.com/other'), 'another controller’s status entry was overwritten');
  const ours = echo.find((p) => p.controllerName === 'istio.io/mesh-controller')!;
  const cond = (p: StoredParent, type: string): StoredParent['conditions'][number] | undefined => p.conditions.find((c) => c.type === type);
  assert.equal(cond(ours, 'Accepted')?.status, 'True');
  assert.equal(cond(ours, 'ResolvedRefs')?.status, 'True');
  assert.ok(cond(ours, 'Accepted')?.lastTransitionTime, 'conditions need lastTransitionTime');
  await waitUntil(() => parentsOf('to-nowhere').some((p) => p.controllerName === 'istio.io/mesh-controller'), 10_000);
  const nowhere = parentsOf('to-nowhere').find((p) => p.controllerName === 'istio.io/mesh-controller')!;
  assert.equal(cond(nowhere, 'ResolvedRefs')?.status, 'False');
  assert.equal(cond(nowhere, 'ResolvedRefs')?.reason, 'BackendNotFound');
  // Steady state: a new translation (another object changes) writes no new status.
  const patches = (): number => server.requests.filter((r) => r.method === 'PATCH' && r.path.endsWith('/status')).length;
  // Let the watch deliver our own writes (each is a MODIFIED event and a new translation).
  let written = -1;
  for (let stable = 0; stable < 3; ) {
    await new Promise((r) => setTimeout(r, 100));
    const n = patches();
    stable = n === written ? stable + 1 : 0;
    written = n;
  }
  assert.equal(written, 2, 'one status write per route');
  server.apply({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'unrelated', namespace: 'default' } });
  const v = plane.pipeline.state().objectsVersion;
  await waitUntil(() => plane.pipeline.state().objectsVersion > v, 10_000);
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(patches(), written, 'an unchanged status was written again');
});
