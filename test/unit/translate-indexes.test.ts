// The lookups translation builds once per snapshot: Services by selector (same answer and order as
// scanning every Service) and Services by the EndpointSlices that list a pod.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PodSliceIndex } from '../../src/controlplane/translate/endpoint-slices.js';
import { selectingServices, ServiceSelectorIndex, translateService, type ServiceInfo } from '../../src/controlplane/translate/services.js';
import { Problems } from '../../src/controlplane/translate/types.js';
import { WaypointIndex } from '../../src/controlplane/translate/waypoints.js';
import { serviceKey } from '../../src/state/index.js';
import { snapshotOf, type KubeObject } from '../../src/k8s/index.js';
import { generateCluster } from '../../bench/control/synthetic-cluster.js';
import { OPTS, endpointSlice, pod, service } from '../helpers/k8s-objects.js';

function infos(objects: readonly KubeObject[]): ServiceInfo[] {
  const snapshot = snapshotOf(objects);
  const problems = new Problems();
  const waypoints = new WaypointIndex(snapshot, OPTS, problems);
  return snapshot.list('Service').flatMap((s) => translateService(s, OPTS, waypoints, problems) ?? []);
}

const names = (list: readonly ServiceInfo[]): string[] => list.map((s) => `${s.service.namespace}/${s.service.name}`);

test('selector index: for every pod of a generated cluster, the same Services in the same order as a scan', () => {
  const cluster = generateCluster({ pods: 400, services: 60, namespaces: 5, nodes: 4 });
  const services = infos(cluster.objects);
  const index = new ServiceSelectorIndex(services);
  let inTwo = 0;
  for (const o of cluster.objects) {
    if (o.kind !== 'Pod') continue;
    const p = o as KubeObject<'Pod'>;
    const expected = selectingServices(p, services);
    assert.deepEqual(names(index.selecting(p)), names(expected));
    if (expected.length > 1) inTwo++;
  }
  assert.ok(inTwo > 0, 'some pods are in two Services (the tier Service), so order is exercised');
});

test('selector index: several labels must all match, namespaces are kept apart, empty selectors select nothing', () => {
  const services = infos([
    service('both', { selector: { app: 'a', version: 'v1' }, clusterIP: '10.96.0.1' }),
    service('app', { selector: { app: 'a' }, clusterIP: '10.96.0.2' }),
    service('other-ns', { ns: 'x', selector: { app: 'a' }, clusterIP: '10.96.0.3' }),
    service('empty', { selector: {}, clusterIP: '10.96.0.4' }),
    service('none', { clusterIP: '10.96.0.5' }),
  ]);
  const index = new ServiceSelectorIndex(services);
  const cases: Array<[Record<string, string>, string[]]> = [
    [{ app: 'a', version: 'v1' }, ['default/app', 'default/both']],
    [{ app: 'a', version: 'v2' }, ['default/app']],
    [{ version: 'v1' }, []],
    [{}, []],
  ];
  for (const [labels, expected] of cases) {
    const p = pod('p', { labels });
    assert.deepEqual(names(index.selecting(p)), expected, JSON.stringify(labels));
    assert.deepEqual(names(selectingServices(p, services)), expected);
  }
});

test('slice index: by targetRef namespace (default: the slice\'s), name and uid; each Service once, in slice order', () => {
  const objects: KubeObject[] = [
    service('b', { clusterIP: '10.96.0.2' }),
    service('a', { clusterIP: '10.96.0.1' }),
    endpointSlice('a-1', 'default', 'a', { endpoints: [{ addresses: ['10.0.0.1'], targetRef: { kind: 'Pod', name: 'p', uid: 'u1' } }] }),
    endpointSlice('a-2', 'default', 'a', { endpoints: [{ addresses: ['10.0.0.1'], targetRef: { kind: 'Pod', namespace: 'default', name: 'p', uid: 'u1' } }] }),
    endpointSlice('b-1', 'default', 'b', { endpoints: [{ addresses: ['10.0.0.1'], targetRef: { kind: 'Pod', name: 'p', uid: 'u1' } }] }),
    endpointSlice('b-2', 'default', 'b', { endpoints: [{ addresses: ['10.0.0.2'], targetRef: { kind: 'Pod', namespace: 'other', name: 'p', uid: 'u1' } }] }),
    endpointSlice('x', 'default', 'missing', { endpoints: [{ addresses: ['10.0.0.1'], targetRef: { kind: 'Pod', name: 'p', uid: 'u1' } }] }),
  ];
  const snapshot = snapshotOf(objects);
  const services = infos(objects);
  const byKey = new Map(services.map((s) => [serviceKey(s.service.namespace, s.service.hostname), s]));
  const index = new PodSliceIndex(snapshot, byKey, OPTS);
  assert.deepEqual(names(index.of(pod('p', { uid: 'u1' }))), ['default/a', 'default/b']);
  assert.deepEqual(names(index.of(pod('p', { uid: 'u2' }))), [], 'another pod of the same name (a new uid) is not listed');
  assert.deepEqual(names(index.of(pod('p', { ns: 'other', uid: 'u1' }))), ['default/b']);
  assert.equal(index.of(pod('p', { uid: 'u1' })), index.of(pod('p', { uid: 'u1' })), 'the same list for the same pod');
});
