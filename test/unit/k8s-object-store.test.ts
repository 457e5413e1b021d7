// ObjectStore snapshots: a batch changes only the kinds it touches; lists of untouched kinds are the same
// arrays as before, touched kinds are listed anew, and an older snapshot never changes.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ObjectStore, KINDS } from '../../src/k8s/index.js';
import { namespace, pod, service } from '../helpers/k8s-objects.js';

test('lists: untouched kinds keep their array, touched kinds are re-listed in key order, old snapshots stay', () => {
  const store = new ObjectStore();
  store.replaceKinds(KINDS, [namespace('default'), pod('b'), pod('a'), service('s')]);
  const before = store.snapshot();
  const pods = before.list('Pod');
  const services = before.list('Service');
  store.apply([{ type: 'upsert', object: pod('c') }]);
  const after = store.snapshot();
  assert.equal(after.list('Service'), services, 'Service was not touched: the same list');
  assert.notEqual(after.list('Pod'), pods);
  assert.deepEqual(after.list('Pod').map((p) => p.metadata.name), ['a', 'b', 'c']);
  assert.deepEqual(before.list('Pod').map((p) => p.metadata.name), ['a', 'b'], 'the older snapshot is unchanged');
  assert.equal(after.list('Pod')[0], pods[0], 'unchanged objects are the same objects');
  // A kind never listed before the batch is listed (and sorted) on demand.
  store.apply([{ type: 'delete', kind: 'Pod', namespace: 'default', name: 'a' }]);
  assert.deepEqual(store.snapshot().list('Namespace').map((n) => n.metadata.name), ['default']);
  assert.deepEqual(store.snapshot().list('Pod').map((p) => p.metadata.name), ['b', 'c']);
});
