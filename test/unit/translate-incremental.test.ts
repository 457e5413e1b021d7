// MeshTranslator over successive snapshots: always the same result as translating the snapshot from
// scratch (changes of every kind, bad objects), and unchanged pods' Workloads handed back as the same objects.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MeshTranslator, translateMesh } from '../../src/controlplane/index.js';
import { ObjectStore, KINDS, type KubeObject, type ObjectChange } from '../../src/k8s/index.js';
import { ChangeGenerator } from '../../bench/control/cluster-changes.js';
import { generateCluster, namespaceName } from '../../bench/control/synthetic-cluster.js';
import { OPTS, authz, endpointSlice, gateway, namespace, node, peerAuthn, pod, service } from '../helpers/k8s-objects.js';

const SHAPE = { pods: 300, services: 40, namespaces: 4, nodes: 5 };

function storeOf(objects: readonly KubeObject[]): ObjectStore {
  const store = new ObjectStore();
  store.replaceKinds(KINDS, objects);
  return store;
}

function current<K extends KubeObject['kind']>(store: ObjectStore, kind: K, ns: string | undefined, name: string): KubeObject<K> {
  const o = store.snapshot().get(kind, ns, name);
  assert.ok(o, `${kind} ${ns}/${name} exists`);
  return o;
}

const upsert = (object: KubeObject): ObjectChange => ({ type: 'upsert', object });
const labelled = <T extends KubeObject>(o: T, labels: Record<string, string>): T => ({ ...o, metadata: { ...o.metadata, labels: { ...o.metadata.labels, ...labels } } });

test('after every change, of any kind, the incremental translation equals a translation from scratch', () => {
  const cluster = generateCluster(SHAPE);
  const store = storeOf(cluster.objects);
  const translator = new MeshTranslator(OPTS);
  const ns = namespaceName(1);
  const app = cluster.apps.find((a) => a.namespace === ns)!;
  const steps: Array<{ name: string; changes: () => ObjectChange[] }> = [
    { name: 'pod changes', changes: () => [] },
    { name: 'Namespace label (enrollment)', changes: () => [upsert(labelled(current(store, 'Namespace', undefined, ns), { 'istio.io/dataplane-mode': 'none' }))] },
    { name: 'Node zone', changes: () => [upsert(labelled(current(store, 'Node', undefined, 'node-001'), { 'topology.kubernetes.io/zone': 'elsewhere' }))] },
    { name: 'Service selector', changes: () => [upsert({ ...current(store, 'Service', ns, app.app), spec: { ...current(store, 'Service', ns, app.app).spec, selector: { tier: 'api' } } } as KubeObject)] },
    {
      name: 'EndpointSlice listing a pod of another Service',
      changes: () => {
        const s = store.snapshot().list('EndpointSlice', ns)[0]!;
        // A pod no Service of the slice's selects (the Service selects tier=api after the step above).
        const other = cluster.apps.find((a) => a.namespace === ns && a.labels['tier'] === 'data')!;
        const p = current(store, 'Pod', ns, other.pods[0]!);
        const extra = { addresses: ['10.99.0.1'], targetRef: { kind: 'Pod', name: p.metadata.name, uid: p.metadata.uid } };
        return [upsert({ ...s, endpoints: [...s.endpoints, extra] } as KubeObject)];
      },
    },
    { name: 'AuthorizationPolicy selecting a tier', changes: () => [upsert(authz('tier-web', ns, { selector: { matchLabels: { tier: 'web' } }, action: 'DENY', rules: [{}] }))] },
    { name: 'PeerAuthentication for a namespace', changes: () => [upsert(peerAuthn('off', ns, { mtls: { mode: 'DISABLE' } }))] },
    { name: 'Gateway (waypoint) removed', changes: () => [{ type: 'delete', kind: 'Gateway', namespace: namespaceName(0), name: 'waypoint' }] },
    {
      name: 'ServiceEntry selecting a tier, with endpoints and a DNS host',
      changes: () => [
        upsert({ apiVersion: 'networking.istio.io/v1', kind: 'ServiceEntry', metadata: { name: 'legacy', namespace: ns }, spec: { hosts: ['legacy.example.com'], addresses: ['192.0.2.1'], ports: [{ number: 80, name: 'http', protocol: 'HTTP' }], resolution: 'STATIC', workloadSelector: { labels: { tier: 'web' } } } } as unknown as KubeObject),
        upsert({ apiVersion: 'networking.istio.io/v1', kind: 'ServiceEntry', metadata: { name: 'ext', namespace: ns }, spec: { hosts: ['api.example.com'], ports: [{ number: 443, name: 'tls', protocol: 'TLS' }], resolution: 'DNS' } } as unknown as KubeObject),
      ],
    },
    { name: 'ServiceEntry removed', changes: () => [{ type: 'delete', kind: 'ServiceEntry', namespace: ns, name: 'legacy' }] },
    { name: 'a pod whose IP does not parse (reported, left out)', changes: () => [upsert({ ...current(store, 'Pod', ns, app.pods[0]!), status: { podIP: 'not-an-ip' } } as KubeObject)] },
  ];
  const gen = new ChangeGenerator(cluster, OPTS.clusterId);
  for (const step of steps) {
    for (const c of [...step.changes(), gen.next().change, gen.next().change]) {
      store.apply([c]);
      const s = store.snapshot();
      assert.deepEqual(translator.translate(s), translateMesh(s, OPTS), `after ${step.name}`);
    }
  }
  assert.ok(translator.translate(store.snapshot()).errors.some((e) => e.severity === 'error'), 'the bad pod is still reported when its translation is reused');
});

test('a pod change: every other Workload and Service is the same object as before; the changed pod is new', () => {
  const cluster = generateCluster(SHAPE);
  const store = storeOf(cluster.objects);
  const translator = new MeshTranslator(OPTS);
  const before = translator.translate(store.snapshot());
  const c = new ChangeGenerator(cluster, OPTS.clusterId).next(); // a label change
  store.apply([c.change]);
  const after = translator.translate(store.snapshot());
  const old = new Map(before.workloads.map((w) => [w.uid, w]));
  const changed = after.workloads.filter((w) => old.get(w.uid) !== w).map((w) => w.uid);
  // Non-pod endpoints of selector-less Services are rebuilt only when slices or Services change.
  assert.deepEqual(changed, [c.resource]);
  assert.ok(after.services.every((s, i) => s === before.services[i]));
  assert.ok(after.policies.every((p, i) => p === before.policies[i]));
});

test('a changed policy translates every pod again; only Workloads that came out different are new objects', () => {
  const cluster = generateCluster(SHAPE);
  const store = storeOf(cluster.objects);
  const translator = new MeshTranslator(OPTS);
  const before = translator.translate(store.snapshot());
  const ns = namespaceName(2);
  store.apply([upsert(authz('web-only', ns, { selector: { matchLabels: { tier: 'web' } }, action: 'ALLOW', rules: [{}] }))]);
  const after = translator.translate(store.snapshot());
  assert.deepEqual(after, translateMesh(store.snapshot(), OPTS));
  const old = new Map(before.workloads.map((w) => [w.uid, w]));
  const renewed = after.workloads.filter((w) => old.get(w.uid) !== w);
  assert.ok(renewed.length > 0);
  for (const w of renewed) {
    assert.equal(w.namespace, ns);
    assert.ok(w.authorizationPolicies.includes(`${ns}/web-only`), `${w.uid} carries the new policy`);
  }
  const selected = after.workloads.filter((w) => w.authorizationPolicies.includes(`${ns}/web-only`));
  assert.equal(renewed.length, selected.length, 'every other Workload is the very same object');
});

test('reset() forgets the memo; translations after it start from scratch and still agree', () => {
  const objects = [namespace('default'), node('n1', {}), pod('a', { labels: { app: 'a' } }), service('a', { selector: { app: 'a' } }), gateway('g')];
  const store = storeOf(objects);
  const translator = new MeshTranslator(OPTS);
  const first = translator.translate(store.snapshot());
  translator.reset();
  const second = translator.translate(store.snapshot());
  assert.deepEqual(second, first);
  assert.notEqual(second.workloads[0], first.workloads[0]);
});

test('EndpointSlices: a pod listed by uid, with or without the targetRef namespace; a uid mismatch does not join', () => {
  const objects: KubeObject[] = [
    namespace('default'),
    pod('p', { labels: { app: 'p' }, uid: 'uid-p' }),
    service('by-slice', { clusterIP: '10.96.0.20' }),
    service('by-slice-2', { clusterIP: '10.96.0.21' }),
    endpointSlice('s1', 'default', 'by-slice', { addressType: 'IPv4', endpoints: [{ addresses: ['10.0.0.9'], targetRef: { kind: 'Pod', name: 'p', uid: 'uid-p' } }] }),
    endpointSlice('s2', 'default', 'by-slice-2', { addressType: 'IPv4', endpoints: [{ addresses: ['10.0.0.9'], targetRef: { kind: 'Pod', namespace: 'default', name: 'p', uid: 'other' } }] }),
  ];
  const t = new MeshTranslator(OPTS).translate(storeOf(objects).snapshot());
  assert.deepEqual(t, translateMesh(storeOf(objects).snapshot(), OPTS));
  const w = t.workloads.find((x) => x.name === 'p')!;
  assert.deepEqual([...w.services.keys()], ['default/by-slice.default.svc.cluster.local']);
});
