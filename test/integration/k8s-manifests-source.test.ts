// ManifestsSource against real folders: multi-document files, List kinds, namespace defaulting,
// edits, pruning, bad objects beside good ones, unparseable files, duplicates, debounce.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rename, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { isMeshError } from '../../src/common/errors.js';
import { silentLogger } from '../../src/common/log.js';
import { ManifestsSource, type Kind, type ObjectSnapshot } from '../../src/k8s/index.js';
import { createRegistry, ErrorCounter, type Registry } from '../../src/metrics/index.js';
import { goodObject, withField } from '../helpers/k8s-good-objects.js';
import { captureLogs } from '../helpers/log-capture.js';
import { metricSum } from '../helpers/prometheus-text.js';
import { waitUntil } from '../helpers/wait-until.js';

type T = { after: (fn: () => Promise<void> | void) => void };

async function tempDir(t: T): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ambit-manifests-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

const docs = (...objects: unknown[]): string => objects.map((o) => stringify(o)).join('---\n');
const names = (s: ObjectSnapshot, kind: Kind): string[] => s.list(kind).map((o) => `${o.metadata.namespace ?? ''}/${o.metadata.name}`);

async function started(t: T, dir: string, opts: { debounceMs?: number; registry?: Registry; logger?: ReturnType<typeof captureLogs>['logger'] } = {}) {
  const registry = opts.registry ?? createRegistry({ processMetrics: false });
  const errors = new ErrorCounter(registry);
  const source = new ManifestsSource({ dir, logger: opts.logger ?? silentLogger(), registry, errors, debounceMs: opts.debounceMs ?? 30 });
  t.after(() => source.close());
  await source.start();
  return { source, registry };
}

test('folder: multi-document files, nested folders, List kinds, namespace defaulting; hidden entries skipped', async (t) => {
  const dir = await tempDir(t);
  await writeFile(
    join(dir, 'mesh.yaml'),
    docs(goodObject('Namespace', 'shop'), withField(goodObject('Service', 'web'), 'metadata.namespace', undefined), null, goodObject('Pod', 'cart', 'shop')),
  );
  await mkdir(join(dir, 'policies'));
  await writeFile(join(dir, 'policies', 'authz.yml'), docs(goodObject('AuthorizationPolicy', 'allow-web')));
  await writeFile(join(dir, 'list.yaml'), docs({ apiVersion: 'v1', kind: 'List', items: [goodObject('ServiceAccount', 'sa1'), goodObject('ServiceAccount', 'sa2', 'shop')] }));
  // A typed list as an API server prints it: items without kind/apiVersion, namespace defaulted.
  const { kind: _k, apiVersion: _a, ...bareNode } = goodObject('Node', 'node-1');
  await writeFile(join(dir, 'nodes.yaml'), docs({ apiVersion: 'v1', kind: 'NodeList', items: [bareNode] }));
  await mkdir(join(dir, '.hidden'));
  await writeFile(join(dir, '.hidden', 'x.yaml'), docs(goodObject('Pod', 'hidden')));
  await writeFile(join(dir, 'notes.txt'), docs(goodObject('Pod', 'not-yaml-ext')));

  const { source } = await started(t, dir);
  assert.equal(source.synced, true);
  await source.whenSynced();
  const s = source.snapshot();
  assert.deepEqual(names(s, 'Namespace'), ['/shop']);
  assert.deepEqual(names(s, 'Service'), ['default/web'], 'a namespaced object without namespace lands in default');
  assert.deepEqual(names(s, 'Pod'), ['shop/cart'], 'hidden folders and non-YAML files are not read');
  assert.deepEqual(names(s, 'AuthorizationPolicy'), ['default/allow-web']);
  assert.deepEqual(names(s, 'ServiceAccount'), ['default/sa1', 'shop/sa2']);
  assert.deepEqual(names(s, 'Node'), ['/node-1']);
  assert.equal(s.get('Node', undefined, 'node-1')?.apiVersion, 'v1');
  assert.deepEqual(source.rejections(), []);
});

test('a ConfigMap volume: files reached through ..data symlinks, read once, updated by the atomic symlink swap', async (t) => {
  const dir = await tempDir(t);
  // The kubelet's layout: a timestamped folder, `..data` pointing at it, visible symlinks into `..data`.
  await mkdir(join(dir, '..2024_01'));
  await writeFile(join(dir, '..2024_01', 'mesh.yaml'), docs(goodObject('Service', 'web')));
  await symlink('..2024_01', join(dir, '..data'));
  await symlink('..data/mesh.yaml', join(dir, 'mesh.yaml'));
  const { source } = await started(t, dir);
  assert.deepEqual(names(source.snapshot(), 'Service'), ['default/web']);
  assert.deepEqual(source.rejections(), [], 'read once: no duplicate through the hidden folders');

  await mkdir(join(dir, '..2024_02'));
  await writeFile(join(dir, '..2024_02', 'mesh.yaml'), docs(goodObject('Service', 'web2')));
  await symlink('..2024_02', join(dir, '..data_tmp'));
  await rename(join(dir, '..data_tmp'), join(dir, '..data'));
  await rm(join(dir, '..2024_01'), { recursive: true });
  await waitUntil(() => names(source.snapshot(), 'Service').join() === 'default/web2', 'the swapped content applies');
});

test('edits apply; removed objects and files are pruned; new subfolders are watched; rename-replace applies', async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, 'a.yaml'), docs(goodObject('Service', 'web'), goodObject('Pod', 'p1')));
  await writeFile(join(dir, 'b.yaml'), docs(goodObject('ServiceAccount', 'sa')));
  const { source } = await started(t, dir);
  const changes: Array<ReadonlySet<Kind>> = [];
  source.onChange((_s, changed) => changes.push(changed));

  await writeFile(join(dir, 'a.yaml'), docs(withField(goodObject('Service', 'web'), 'spec.ports.0.port', 81)));
  await waitUntil(() => source.snapshot().list('Pod').length === 0, 'the pod removed from a.yaml is pruned');
  const svc = source.snapshot().get('Service', 'default', 'web') as { spec: { ports: Array<{ port: number }> } } | undefined;
  assert.equal(svc?.spec.ports[0]?.port, 81, 'the edit and the prune land in the same snapshot');
  assert.deepEqual([...changes.at(-1)!].sort(), ['Pod', 'Service']);

  await unlink(join(dir, 'b.yaml'));
  await waitUntil(() => source.snapshot().list('ServiceAccount').length === 0, 'the objects of a deleted file are pruned');

  await mkdir(join(dir, 'sub', 'deeper'), { recursive: true });
  await writeFile(join(dir, 'sub', 'deeper', 'c.yaml'), docs(goodObject('ServiceAccount', 'late')));
  await waitUntil(() => source.snapshot().get('ServiceAccount', 'default', 'late') !== undefined, 'a file in a new subfolder is read');
  await writeFile(join(dir, 'sub', 'deeper', 'c.yaml'), docs(goodObject('ServiceAccount', 'later')));
  await waitUntil(() => source.snapshot().get('ServiceAccount', 'default', 'later') !== undefined, 'an edit in the new subfolder is seen (it is watched)');

  await writeFile(join(dir, '.a.yaml.tmp'), docs(goodObject('Service', 'web2')));
  await rename(join(dir, '.a.yaml.tmp'), join(dir, 'a.yaml'));
  await waitUntil(() => names(source.snapshot(), 'Service').join() === 'default/web2', 'an editor-style rename-replace applies');

  await rm(join(dir, 'sub'), { recursive: true });
  await waitUntil(() => source.snapshot().list('ServiceAccount').length === 0, 'a removed subfolder prunes its objects');
});

test('a reload parses only the files whose content changed: the others keep the very same objects', async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, 'a.yaml'), docs(goodObject('Pod', 'pa'), goodObject('Service', 'web')));
  await writeFile(join(dir, 'b.yaml'), docs(goodObject('Pod', 'pb')));
  const { source } = await started(t, dir);
  assert.equal(source.filesParsed, 2);
  const pa = source.snapshot().get('Pod', 'default', 'pa');
  // b.yaml rewritten; a.yaml replaced by a new file with the same bytes. Both swapped in whole
  // (rename), so no reload can read a half-written file.
  const replace = async (file: string, text: string): Promise<void> => {
    await writeFile(join(dir, `.${file}.tmp`), text);
    await rename(join(dir, `.${file}.tmp`), join(dir, file));
  };
  await replace('b.yaml', docs(goodObject('Pod', 'pb2')));
  await replace('a.yaml', docs(goodObject('Pod', 'pa'), goodObject('Service', 'web')));
  await waitUntil(() => source.snapshot().get('Pod', 'default', 'pb2') !== undefined, 'the edit of b.yaml applies');
  assert.equal(source.filesParsed, 3, 'only b.yaml was parsed again');
  // A real edit of a.yaml is seen.
  await replace('a.yaml', docs(goodObject('Pod', 'pa'), withField(goodObject('Service', 'web'), 'spec.ports.0.port', 82)));
  await waitUntil(() => (source.snapshot().get('Service', 'default', 'web') as { spec: { ports: Array<{ port: number }> } }).spec.ports[0]!.port === 82, 'the edit of a.yaml applies');
  assert.equal(source.filesParsed, 4);
  assert.equal(source.snapshot().get('Pod', 'default', 'pa'), pa, 'an object the edit left alone stays the same object');
});

test('a bad object is refused alone, with file, document, identity, path and reason; counted, logged once, cleared when fixed', async (t) => {
  const dir = await tempDir(t);
  const badPod = withField(goodObject('Pod', 'web'), 'spec.containers.0.ports.0.containerPort', 'x');
  await writeFile(join(dir, 'apps.yaml'), docs(goodObject('Service', 'web'), badPod, goodObject('ServiceAccount', 'web')));
  const logs = captureLogs('info');
  const { source, registry } = await started(t, dir, { logger: logs.logger });

  assert.deepEqual(source.rejections(), [
    { source: 'apps.yaml', documentIndex: 1, kind: 'Pod', namespace: 'default', name: 'web', path: 'spec.containers[0].ports[0].containerPort', reason: 'must be integer, got string "x"' },
  ]);
  const s = source.snapshot();
  assert.deepEqual(names(s, 'Service'), ['default/web']);
  assert.deepEqual(names(s, 'ServiceAccount'), ['default/web']);
  assert.deepEqual(names(s, 'Pod'), [], 'a new invalid object is not served');
  let metrics = await registry.metrics();
  assert.equal(metricSum(metrics, 'ambit_control_rejected_objects', { source: 'manifests', kind: 'Pod' }), 1);
  assert.equal(metricSum(metrics, 'ambit_errors_total', { component: 'k8s', code: 'OBJECT_INVALID' }), 1);
  const rejectedLines = () => logs.lines.filter((l) => l.msg.startsWith('object rejected: '));
  assert.equal(rejectedLines().length, 1);
  assert.equal(rejectedLines()[0]!.msg, 'object rejected: apps.yaml#1 Pod default/web: spec.containers[0].ports[0].containerPort: must be integer, got string "x"');

  // An unrelated change reloads the folder: the same rejection is neither logged nor counted again.
  const reloads = source.reloads;
  await writeFile(join(dir, 'other.yaml'), docs(goodObject('ServiceAccount', 'other')));
  await waitUntil(() => source.reloads > reloads && source.snapshot().list('ServiceAccount').length === 2, 'the unrelated file is loaded');
  assert.equal(rejectedLines().length, 1);
  assert.equal(metricSum(await registry.metrics(), 'ambit_errors_total', { component: 'k8s', code: 'OBJECT_INVALID' }), 1);

  // A List with a bad item: the item's place is in the path.
  await writeFile(join(dir, 'list.yaml'), docs({ apiVersion: 'v1', kind: 'List', items: [goodObject('ServiceAccount', 'l1'), withField(goodObject('ServiceAccount', 'l2'), 'metadata.name', 'L_2')] }));
  await waitUntil(() => source.rejections().length === 2, 'the List item is refused');
  const listRejection = source.rejections().find((r) => r.source === 'list.yaml');
  assert.equal(listRejection?.path, 'items[1].metadata.name');
  assert.equal(listRejection?.documentIndex, 0);
  assert.ok(source.snapshot().get('ServiceAccount', 'default', 'l1'), 'the good item of the List is served');

  await writeFile(join(dir, 'apps.yaml'), docs(goodObject('Service', 'web'), goodObject('Pod', 'web'), goodObject('ServiceAccount', 'web')));
  await unlink(join(dir, 'list.yaml'));
  await waitUntil(() => source.rejections().length === 0, 'the fixed object is accepted');
  assert.deepEqual(names(source.snapshot(), 'Pod'), ['default/web']);
  metrics = await registry.metrics();
  assert.equal(metricSum(metrics, 'ambit_control_rejected_objects', { source: 'manifests', kind: 'Pod' }), 0);
  assert.equal(metricSum(metrics, 'ambit_control_rejected_objects', { source: 'manifests' }), 0);
  assert.ok(logs.lines.some((l) => l.msg === 'object rejection cleared: apps.yaml#1 Pod default/web'));
});

test('an invalid edit leaves the last accepted version in force; removing the object then prunes it', async (t) => {
  const dir = await tempDir(t);
  const deny = withField(goodObject('AuthorizationPolicy', 'deny-all'), 'spec.action', 'DENY');
  await writeFile(join(dir, 'authz.yaml'), docs(deny));
  const { source } = await started(t, dir);
  assert.equal((source.snapshot().get('AuthorizationPolicy', 'default', 'deny-all')?.spec as { action?: string }).action, 'DENY');

  await writeFile(join(dir, 'authz.yaml'), docs(withField(deny, 'spec.action', 'DENNY')));
  await waitUntil(() => source.rejections().length === 1, 'the invalid edit is refused');
  assert.equal(source.rejections()[0]?.path, 'spec.action');
  const kept = source.snapshot().get('AuthorizationPolicy', 'default', 'deny-all');
  assert.equal((kept?.spec as { action?: string }).action, 'DENY', 'a typo must not silently drop a DENY policy');

  await writeFile(join(dir, 'authz.yaml'), '');
  await waitUntil(() => source.snapshot().list('AuthorizationPolicy').length === 0 && source.rejections().length === 0, 'the removed object is pruned');
});

test('a file that is not YAML keeps its last good objects while other files still reload', async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, 'a.yaml'), docs(goodObject('Service', 'web'), goodObject('Pod', 'web')));
  await writeFile(join(dir, 'b.yaml'), docs(goodObject('ServiceAccount', 'one')));
  await writeFile(join(dir, 'c.yaml'), 'kind: [unclosed\n');
  const { source } = await started(t, dir);
  assert.equal(source.rejections().length, 1, 'a new file that never parsed serves nothing and is reported');
  assert.equal(source.rejections()[0]?.source, 'c.yaml');

  await writeFile(join(dir, 'a.yaml'), `${docs(goodObject('Service', 'web'))}---\nmetadata: {name: [\n`);
  await writeFile(join(dir, 'b.yaml'), docs(goodObject('ServiceAccount', 'two')));
  await waitUntil(() => source.snapshot().get('ServiceAccount', 'default', 'two') !== undefined && source.rejections().length === 2, 'b.yaml reloads and a.yaml is reported');
  const r = source.rejections().find((x) => x.source === 'a.yaml');
  assert.equal(r?.path, '(document)');
  assert.equal(r?.documentIndex, 1);
  assert.match(r?.reason ?? '', /^not valid YAML: /);
  assert.deepEqual(names(source.snapshot(), 'Pod'), ['default/web'], 'the last good objects of a.yaml stay, the pod included');

  await writeFile(join(dir, 'a.yaml'), docs(goodObject('Service', 'web')));
  await waitUntil(() => source.snapshot().list('Pod').length === 0, 'the fixed file applies (the pod it no longer holds is pruned)');
  assert.deepEqual(source.rejections().map((x) => x.source), ['c.yaml']);
});

test('the same object in two places: every occurrence refused with both places; the served version stays', async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, 'a.yaml'), docs(goodObject('Service', 'web')));
  const { source } = await started(t, dir);
  await writeFile(join(dir, 'b.yaml'), docs(goodObject('ServiceAccount', 'x'), withField(goodObject('Service', 'web'), 'spec.ports.0.port', 81)));
  await writeFile(join(dir, 'c.yaml'), docs(goodObject('ServiceAccount', 'twin')));
  await writeFile(join(dir, 'd.yaml'), docs(goodObject('ServiceAccount', 'twin')));
  await waitUntil(() => source.rejections().length === 4, 'both duplicates are reported');
  const reason = 'duplicate: Service default/web is defined at a.yaml#0 and b.yaml#1; every occurrence is refused';
  assert.deepEqual(
    source.rejections().filter((r) => r.kind === 'Service'),
    [
      { source: 'a.yaml', documentIndex: 0, kind: 'Service', namespace: 'default', name: 'web', path: 'metadata.name', reason },
      { source: 'b.yaml', documentIndex: 1, kind: 'Service', namespace: 'default', name: 'web', path: 'metadata.name', reason },
    ],
  );
  const svc = source.snapshot().get('Service', 'default', 'web') as { spec: { ports: Array<{ port: number }> } } | undefined;
  assert.equal(svc?.spec.ports[0]?.port, 80, 'the version served before the duplicate appeared stays');
  assert.equal(source.snapshot().get('ServiceAccount', 'default', 'twin'), undefined, 'a duplicate never served before is absent');

  await unlink(join(dir, 'b.yaml'));
  await unlink(join(dir, 'd.yaml'));
  await waitUntil(() => source.rejections().length === 0, 'removing one occurrence clears the duplicate');
  assert.ok(source.snapshot().get('ServiceAccount', 'default', 'twin'));
});

test('bursts of file events are debounced into one atomic reload', async (t) => {
  const dir = await tempDir(t);
  const { source } = await started(t, dir, { debounceMs: 400 });
  const snapshots: number[] = [];
  source.onChange((s) => snapshots.push(s.list('ServiceAccount').length));
  const before = source.reloads;
  for (let i = 0; i < 5; i++) await writeFile(join(dir, `f${i}.yaml`), docs(goodObject('ServiceAccount', `sa${i}`)));
  await waitUntil(() => source.snapshot().list('ServiceAccount').length === 5, 'all five files are loaded');
  await new Promise((resolve) => setTimeout(resolve, 600));
  assert.equal(source.reloads, before + 1, 'five writes, one reload');
  assert.deepEqual(snapshots, [5], 'listeners saw one change holding all five objects');
});

test('start fails with CONFIG_IO on a missing folder; a folder vanishing later keeps the objects', async (t) => {
  const dir = await tempDir(t);
  const missing = new ManifestsSource({ dir: join(dir, 'nope'), logger: silentLogger() });
  await assert.rejects(missing.start(), (err: unknown) => isMeshError(err, 'CONFIG_IO'));

  const folder = join(dir, 'manifests');
  await mkdir(folder);
  await writeFile(join(folder, 'a.yaml'), docs(goodObject('Service', 'web')));
  const logs = captureLogs('info');
  const { source } = await started(t, folder, { logger: logs.logger });
  await rm(folder, { recursive: true });
  await logs.waitFor('manifests folder cannot be read; keeping the current objects until it is back');
  assert.deepEqual(names(source.snapshot(), 'Service'), ['default/web']);
  await mkdir(folder);
  await writeFile(join(folder, 'b.yaml'), docs(goodObject('ServiceAccount', 'back')));
  await waitUntil(() => source.snapshot().list('ServiceAccount').length === 1 && source.snapshot().list('Service').length === 0, 'the recreated folder is the desired state');
});
