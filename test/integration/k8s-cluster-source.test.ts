// ClusterSource with the real @kubernetes/client-node against the fake API server (HTTPS, token):
// initial paged sync, watch events, bookmarks, 410 ⇒ relist, dropped watches, absent CRDs,
// refused objects, status patches, and a clean close.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KINDS, type Kind } from '../../src/k8s/index.js';
import { ClusterSource, KubeApiError } from '../../src/k8s/cluster/index.js';
import { createRegistry, ErrorCounter } from '../../src/metrics/index.js';
import { FakeKubeApiServer, ambitResources, type FakeKubeApiServerOptions } from '../helpers/fake-kube-apiserver.js';
import { goodObject, withField } from '../helpers/k8s-good-objects.js';
import { captureLogs } from '../helpers/log-capture.js';
import { metricSum } from '../helpers/prometheus-text.js';
import { waitUntil } from '../helpers/wait-until.js';

type T = { after: (fn: () => Promise<void> | void) => void };

interface Setup {
  server: FakeKubeApiServer;
  kubeconfigPath: string;
}

async function fakeServer(t: T, options: Partial<FakeKubeApiServerOptions> = {}): Promise<Setup> {
  const server = new FakeKubeApiServer({ resources: ambitResources(), ...options });
  await server.start();
  const dir = await mkdtemp(join(tmpdir(), 'ambit-kube-'));
  const kubeconfigPath = join(dir, 'kubeconfig');
  await writeFile(kubeconfigPath, server.kubeconfigYaml());
  t.after(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });
  return { server, kubeconfigPath };
}

function clusterSource(t: T, setup: Setup, extra: { kinds?: readonly Kind[]; pageSize?: number; logs?: ReturnType<typeof captureLogs> } = {}) {
  const registry = createRegistry({ processMetrics: false });
  const logs = extra.logs ?? captureLogs('info');
  const source = new ClusterSource({
    kubeconfigPath: setup.kubeconfigPath,
    logger: logs.logger,
    registry,
    errors: new ErrorCounter(registry),
    backoffInitialMs: 50,
    backoffMaxMs: 400,
    absentRetryMs: 300,
    ...(extra.kinds !== undefined ? { kinds: extra.kinds } : {}),
    ...(extra.pageSize !== undefined ? { pageSize: extra.pageSize } : {}),
  });
  t.after(() => source.close());
  return { source, registry, logs };
}

const podNames = (source: ClusterSource): string[] => source.snapshot().list('Pod').map((p) => p.metadata.name);

test('initial sync: every kind listed in pages, whenSynced gates, list items completed with kind/apiVersion; close ends every watch', async (t) => {
  const setup = await fakeServer(t);
  const { server } = setup;
  for (const kind of KINDS) server.apply(goodObject(kind));
  for (const name of ['p1', 'p2', 'p3', 'p4']) server.apply(goodObject('Pod', name));
  const { source } = clusterSource(t, setup, { pageSize: 2 });
  assert.equal(source.synced, false);
  await source.start();
  await source.whenSynced();
  assert.equal(source.synced, true);
  for (const kind of KINDS) {
    assert.equal(source.kindSynced(kind), true, kind);
    assert.equal(source.snapshot().list(kind).length, kind === 'Pod' ? 5 : 1, kind);
  }
  const pod = source.snapshot().get('Pod', 'default', 'p1');
  assert.equal(pod?.kind, 'Pod');
  assert.equal(pod?.apiVersion, 'v1');
  assert.deepEqual(source.rejections(), []);

  const lists = server.requestsFor('Pod', 'list');
  assert.equal(lists.length, 3, '5 pods at 2 per page');
  assert.deepEqual(lists.map((r) => r.query['limit']), ['2', '2', '2']);
  assert.equal(lists[0]!.query['continue'], undefined);
  assert.ok(lists[1]!.query['continue'] && lists[2]!.query['continue']);
  await waitUntil(() => server.requestsFor('Pod', 'watch').length > 0, 'the Pod watch starts');
  const watch = server.requestsFor('Pod', 'watch')[0]!;
  assert.equal(watch.query['allowWatchBookmarks'], 'true');
  assert.equal(watch.query['resourceVersion'], String(server.state.rv), 'the watch starts at the list’s resourceVersion');

  await waitUntil(() => server.watchCount() === KINDS.length, 'one watch per kind');
  await source.close();
  await waitUntil(() => server.watchCount() === 0, 'close ends every watch');
  const requests = server.requests.length;
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal(server.requests.length, requests, 'nothing is requested after close');
});

test('kubeconfig from KUBECONFIG (loadFromDefault) reaches the server', async (t) => {
  const setup = await fakeServer(t);
  setup.server.apply(goodObject('Service', 'web'));
  const saved = process.env['KUBECONFIG'];
  process.env['KUBECONFIG'] = setup.kubeconfigPath;
  let source: ClusterSource;
  try {
    source = new ClusterSource({ logger: captureLogs('warn').logger, kinds: ['Service'] });
  } finally {
    if (saved === undefined) delete process.env['KUBECONFIG'];
    else process.env['KUBECONFIG'] = saved;
  }
  t.after(() => source.close());
  await source.start();
  await source.whenSynced();
  assert.deepEqual(source.snapshot().list('Service').map((s) => s.metadata.name), ['web']);
});

test('in-cluster config: service account token and CA files, KUBERNETES_SERVICE_HOST/PORT', async (t) => {
  const setup = await fakeServer(t);
  setup.server.apply(goodObject('Service', 'web'));
  const root = await mkdtemp(join(tmpdir(), 'ambit-sa-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const sa = join(root, 'var/run/secrets/kubernetes.io/serviceaccount');
  await mkdir(sa, { recursive: true });
  await writeFile(join(sa, 'token'), setup.server.token);
  await writeFile(join(sa, 'ca.crt'), setup.server.caPem);
  await writeFile(join(sa, 'namespace'), 'istio-system');
  const saved = { host: process.env['KUBERNETES_SERVICE_HOST'], port: process.env['KUBERNETES_SERVICE_PORT'] };
  process.env['KUBERNETES_SERVICE_HOST'] = '127.0.0.1';
  process.env['KUBERNETES_SERVICE_PORT'] = new URL(setup.server.url).port;
  let source: ClusterSource;
  try {
    source = new ClusterSource({ inCluster: true, inClusterPathPrefix: root, logger: captureLogs('warn').logger, kinds: ['Service'] });
  } finally {
    for (const [k, v] of [['KUBERNETES_SERVICE_HOST', saved.host], ['KUBERNETES_SERVICE_PORT', saved.port]] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
  t.after(() => source.close());
  await source.start();
  await source.whenSynced();
  assert.deepEqual(source.snapshot().list('Service').map((s) => s.metadata.name), ['web']);
});

test('ADDED, MODIFIED and DELETED reach the snapshot, one change per event burst', async (t) => {
  const setup = await fakeServer(t);
  const { server } = setup;
  const { source } = clusterSource(t, setup, { kinds: ['Pod', 'Service'] });
  await source.start();
  await source.whenSynced();
  const changes: Kind[][] = [];
  source.onChange((_s, changed) => changes.push([...changed].sort()));

  server.apply(goodObject('Pod', 'web'));
  await waitUntil(() => podNames(source).includes('web'), 'ADDED arrives');
  server.apply(withField(goodObject('Pod', 'web'), 'metadata.labels', { app: 'web', v: '2' }));
  await waitUntil(() => source.snapshot().get('Pod', 'default', 'web')?.metadata.labels?.['v'] === '2', 'MODIFIED arrives');
  assert.equal(source.snapshot().get('Pod', 'default', 'web')?.metadata.resourceVersion, String(server.state.rv));
  server.delete('Pod', 'default', 'web');
  await waitUntil(() => podNames(source).length === 0, 'DELETED arrives');
  assert.deepEqual(changes, [['Pod'], ['Pod'], ['Pod']]);

  // Writes made together are delivered in one read and applied as one batch.
  server.apply(goodObject('Pod', 'a'));
  server.apply(goodObject('Pod', 'b'));
  server.apply(goodObject('Service', 'web'));
  await waitUntil(() => podNames(source).length === 2 && source.snapshot().list('Service').length === 1, 'the burst arrives');
  assert.ok(changes.length <= 5, `a burst of 3 writes on 2 watches gave ${changes.length - 3} changes`);
});

test('a bookmark advances the resourceVersion: after compaction a dropped watch resumes without relisting', async (t) => {
  const setup = await fakeServer(t);
  const { server } = setup;
  server.apply(goodObject('Pod', 'a'));
  const { source, logs } = clusterSource(t, setup, { kinds: ['Pod', 'Service'] });
  await source.start();
  await source.whenSynced();
  const podRv = source.resourceVersion('Pod');
  for (const name of ['s1', 's2', 's3']) server.apply(goodObject('Service', name));
  await waitUntil(() => source.snapshot().list('Service').length === 3, 'the services arrive');
  assert.equal(source.resourceVersion('Pod'), podRv, 'writes to other kinds do not move the Pod watch');

  server.bookmark();
  const bookmarkRv = String(server.state.rv);
  await waitUntil(() => source.resourceVersion('Pod') === bookmarkRv, 'the bookmark moves the Pod watch forward');

  const listsBefore = server.requestsFor('Pod', 'list').length;
  server.compact();
  server.dropWatches();
  await waitUntil(() => server.requestsFor('Pod', 'watch').some((r) => r.query['resourceVersion'] === bookmarkRv && r.status === 200), 'the Pod watch resumes from the bookmark');
  await waitUntil(() => server.watchCount('Pod') === 1, 'the Pod watch is open again');
  assert.equal(server.requestsFor('Pod', 'list').length, listsBefore, 'no relist was needed');
  assert.deepEqual(podNames(source), ['a']);
  assert.ok(logs.lines.some((l) => l.msg === 'list/watch failed; retrying with backoff' && l['kind'] === 'Pod'), 'the reset was seen and retried');
});

for (const watchExpiredAs of ['event', 'status'] as const) {
  test(`410 Gone (${watchExpiredAs === 'event' ? 'ERROR event' : 'HTTP 410'}) ⇒ relist: no lost and no phantom objects`, async (t) => {
    const setup = await fakeServer(t, { watchExpiredAs });
    const { server } = setup;
    for (const name of ['a', 'b', 'c']) server.apply(goodObject('Pod', name));
    const { source } = clusterSource(t, setup, { kinds: ['Pod'] });
    await source.start();
    await source.whenSynced();
    const listsBefore = server.requestsFor('Pod', 'list').length;

    // While the client is cut off: a deleted, b changed, d added; then the history is compacted.
    server.dropWatches();
    server.delete('Pod', 'default', 'a');
    server.apply(withField(goodObject('Pod', 'b'), 'metadata.labels', { app: 'web', v: '2' }));
    server.apply(goodObject('Pod', 'd'));
    server.compact();

    await waitUntil(() => server.requestsFor('Pod', 'list').length > listsBefore, 'the client relists');
    await waitUntil(() => podNames(source).join() === 'b,c,d', 'the snapshot matches the server');
    const expired = server.requestsFor('Pod', 'watch').filter((r) => r.status === (watchExpiredAs === 'event' ? 200 : 410));
    assert.ok(expired.length >= 1);
    for (const p of server.state.list('/pods')) {
      assert.equal(source.snapshot().get('Pod', 'default', p.metadata.name)?.metadata.resourceVersion, p.metadata['resourceVersion'], p.metadata.name);
    }
    assert.equal(source.snapshot().get('Pod', 'default', 'b')?.metadata.labels?.['v'], '2');
    server.apply(goodObject('Pod', 'e'));
    await waitUntil(() => podNames(source).includes('e'), 'the new watch delivers events');
  });
}

test('watch connections ended or dropped ⇒ reconnect and resume from the last resourceVersion', async (t) => {
  const setup = await fakeServer(t);
  const { server } = setup;
  const { source } = clusterSource(t, setup, { kinds: ['Pod'] });
  await source.start();
  await source.whenSynced();
  const lists = server.requestsFor('Pod', 'list').length;

  server.endWatches(); // clean end of the chunked body, as at timeoutSeconds
  server.apply(goodObject('Pod', 'while-ended'));
  await waitUntil(() => podNames(source).includes('while-ended'), 'the event written while disconnected is replayed');

  server.dropWatches(); // TCP reset
  server.apply(goodObject('Pod', 'while-dropped'));
  await waitUntil(() => podNames(source).includes('while-dropped'), 'the event written while reset is replayed');
  assert.equal(server.requestsFor('Pod', 'list').length, lists, 'resumed from the resourceVersion, not relisted');
  await waitUntil(() => server.watchCount('Pod') === 1, 'exactly one watch again');
});

test('a CRD not installed: the kind is empty and synced, retried, and served once installed; uninstalling empties it', async (t) => {
  const setup = await fakeServer(t);
  const { server } = setup;
  server.setServed('HTTPRoute', false);
  server.apply(goodObject('Service', 'web'));
  const { source, logs } = clusterSource(t, setup, { kinds: ['Service', 'HTTPRoute'] });
  await source.start();
  await source.whenSynced();
  assert.equal(source.kindSynced('HTTPRoute'), true);
  assert.deepEqual(source.snapshot().list('HTTPRoute'), []);
  assert.deepEqual(source.snapshot().list('Service').map((s) => s.metadata.name), ['web']);
  const absentLine = 'kind not served by the API server (CRD not installed?); treating it as empty and retrying';
  await logs.waitFor(absentLine);
  assert.deepEqual(
    server.requestsFor('HTTPRoute', 'list').slice(0, 2).map((r) => [r.path, r.status]),
    [
      ['/apis/gateway.networking.k8s.io/v1/httproutes', 404],
      ['/apis/gateway.networking.k8s.io/v1beta1/httproutes', 404],
    ],
    'every accepted version is tried, preferred first',
  );
  await waitUntil(() => server.requestsFor('HTTPRoute', 'list').length >= 4, 'the absent kind is listed again');
  assert.equal(logs.lines.filter((l) => l.msg === absentLine).length, 1, 'warned once, not at every retry');

  server.setServed('HTTPRoute', true);
  server.apply(goodObject('HTTPRoute', 'web'));
  await waitUntil(() => source.snapshot().list('HTTPRoute').length === 1, 'the route is served once the CRD is installed');
  await logs.waitFor('kind is served now; watching it');

  server.setServed('HTTPRoute', false);
  await waitUntil(() => source.snapshot().list('HTTPRoute').length === 0, 'uninstalling the CRD removes its objects');
});

test('a cluster serving only an older version of a CRD is watched at that version', async (t) => {
  const resources = ambitResources().map((r) => (r.kind === 'HTTPRoute' ? { ...r, versions: ['v1beta1'] } : r));
  const setup = await fakeServer(t, { resources });
  setup.server.apply(goodObject('HTTPRoute', 'old'));
  const { source } = clusterSource(t, setup, { kinds: ['HTTPRoute'] });
  await source.start();
  await source.whenSynced();
  const route = source.snapshot().get('HTTPRoute', 'default', 'old');
  assert.equal(route?.apiVersion, 'gateway.networking.k8s.io/v1beta1');
  await waitUntil(() => setup.server.watchCount('HTTPRoute') === 1, 'watched');
  assert.equal(setup.server.requestsFor('HTTPRoute', 'watch')[0]?.path, '/apis/gateway.networking.k8s.io/v1beta1/httproutes');
});

test('an invalid object is refused alone; a refused update keeps the last accepted version; deletion clears it', async (t) => {
  const setup = await fakeServer(t);
  const { server } = setup;
  // The fake server, like a CRD with a looser schema, stores what the upstream schema refuses.
  server.apply(withField(goodObject('AuthorizationPolicy', 'typo'), 'spec.action', 'ALOW'));
  server.apply(goodObject('AuthorizationPolicy', 'good'));
  const { source, registry } = clusterSource(t, setup, { kinds: ['AuthorizationPolicy'] });
  await source.start();
  await source.whenSynced();
  assert.deepEqual(source.snapshot().list('AuthorizationPolicy').map((p) => p.metadata.name), ['good']);
  assert.deepEqual(source.rejections(), [
    { source: 'cluster', kind: 'AuthorizationPolicy', namespace: 'default', name: 'typo', path: 'spec.action', reason: 'must be one of: ALLOW, DENY, AUDIT, CUSTOM, got string "ALOW"' },
  ]);
  assert.equal(metricSum(await registry.metrics(), 'ambit_control_rejected_objects', { source: 'cluster', kind: 'AuthorizationPolicy' }), 1);

  server.apply(withField(goodObject('AuthorizationPolicy', 'good'), 'spec.action', 'DENNY'));
  await waitUntil(() => source.rejections().length === 2, 'the bad update is refused');
  assert.equal((source.snapshot().get('AuthorizationPolicy', 'default', 'good')?.spec as { action?: string }).action, 'ALLOW', 'the last accepted version stays');

  server.apply(withField(goodObject('AuthorizationPolicy', 'typo'), 'spec.action', 'ALLOW'));
  server.delete('AuthorizationPolicy', 'default', 'good');
  await waitUntil(() => source.rejections().length === 0, 'fixed and deleted objects clear their rejections');
  assert.deepEqual(source.snapshot().list('AuthorizationPolicy').map((p) => p.metadata.name), ['typo']);
  assert.equal(metricSum(await registry.metrics(), 'ambit_control_rejected_objects', { source: 'cluster' }), 0);
});

test('writeStatus merge-patches the status subresource; the change comes back through the watch', async (t) => {
  const setup = await fakeServer(t);
  const { server } = setup;
  server.apply(goodObject('HTTPRoute', 'web'));
  const { source } = clusterSource(t, setup, { kinds: ['HTTPRoute'] });
  await source.start();
  await source.whenSynced();
  const generation = server.state.get('gateway.networking.k8s.io/httproutes', 'default', 'web')?.metadata['generation'];

  const accepted = { type: 'Accepted', status: 'True', reason: 'Accepted', message: '', lastTransitionTime: '2024-05-01T10:00:00Z', observedGeneration: 1 };
  const resolved = { ...accepted, type: 'ResolvedRefs', reason: 'ResolvedRefs' };
  const parent = { parentRef: { group: '', kind: 'Service', name: 'web' }, controllerName: 'ambit.dev/waypoint' };
  const written = await source.writeStatus('HTTPRoute', 'default', 'web', { parents: [{ ...parent, conditions: [accepted] }] });
  assert.deepEqual(written['status'], { parents: [{ ...parent, conditions: [accepted] }] });
  const patch = server.requests.find((r) => r.method === 'PATCH');
  assert.equal(patch?.path, '/apis/gateway.networking.k8s.io/v1/namespaces/default/httproutes/web/status');
  assert.equal(patch?.query['fieldManager'], 'ambit-control');
  const parentsSeen = (): unknown => (source.snapshot().get('HTTPRoute', 'default', 'web')?.status as { parents?: unknown } | undefined)?.parents;
  await waitUntil(() => Array.isArray(parentsSeen()), 'the status comes back through the watch');

  // Merge patch: a list is replaced whole; null deletes (here the whole status).
  await source.writeStatus('HTTPRoute', 'default', 'web', { parents: [{ ...parent, conditions: [accepted, resolved] }] });
  const stored = () => server.state.get('gateway.networking.k8s.io/httproutes', 'default', 'web');
  assert.deepEqual(stored()?.['status'], { parents: [{ ...parent, conditions: [accepted, resolved] }] });
  await source.writeStatus('HTTPRoute', 'default', 'web', null);
  assert.equal(stored()?.['status'], undefined);
  await waitUntil(() => parentsSeen() === undefined, 'the removal comes back through the watch');
  assert.equal(stored()?.metadata['generation'], generation, 'a status write does not change the generation');
  assert.deepEqual(stored()?.['spec'], goodObject('HTTPRoute', 'web')['spec'], 'a status write does not touch spec');
  assert.deepEqual(source.rejections(), []);

  await assert.rejects(source.writeStatus('HTTPRoute', 'default', 'missing', {}), (err: unknown) => err instanceof KubeApiError && err.statusCode === 404 && err.code === 'KUBE_API');
});
