// Two config sources into one state: the union of their snapshots, the first input (the local
// config in the agent) winning a key conflict, conflicts reported once per change.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProxyState, type StateSnapshot } from '../../src/state/index.js';
import { SnapshotMerger } from '../../src/xds/index.js';
import { captureLogs } from '../helpers/log-capture.js';
import { policy, service, workload } from '../helpers/xds-client-fixture.js';

const A = workload('uid-a', '10.0.0.1');
const B = workload('uid-b', '10.0.0.2');
const A_FROM_XDS = workload('uid-a', '10.0.0.99');
const snap = (s: Partial<StateSnapshot>): StateSnapshot => ({ workloads: [], services: [], policies: [], ...s });

test('union of the inputs; the first input wins a conflicting key; conflicts are listed and logged once', () => {
  const state = new ProxyState();
  const logs = captureLogs();
  const merger = new SnapshotMerger(state, ['local', 'xds'], logs.logger);
  const local = merger.input('local');
  const xds = merger.input('xds');
  xds.apply(snap({ workloads: [A_FROM_XDS, B], services: [service('ns', 'h', '10.96.0.1')], policies: [policy('ns', 'p')] }));
  assert.equal(state.workloadByUid('uid-a')?.workloadIps[0], '10.0.0.99', 'only xDS so far');
  local.apply(snap({ workloads: [A], policies: [policy('ns', 'p')] }));
  assert.equal(state.workloadByUid('uid-a')?.workloadIps[0], '10.0.0.1', 'local wins');
  assert.ok(state.workloadByUid('uid-b') && state.serviceByKey('ns/h') && state.policyByKey('ns/p'));
  assert.equal(state.snapshot().workloads.length, 2);
  assert.deepEqual(merger.conflicts(), ['workload uid-a: local wins over xds', 'policy ns/p: local wins over xds']);
  xds.apply(snap({ workloads: [A_FROM_XDS, B], policies: [policy('ns', 'p')] }));
  assert.equal(logs.lines.filter((l) => /more than one config source/.test(l.msg)).length, 1, 'the same conflicts are not logged again');
  local.apply(snap({}));
  assert.deepEqual(merger.conflicts(), []);
  assert.equal(state.workloadByUid('uid-a')?.workloadIps[0], '10.0.0.99', 'with the local entry gone, xDS is visible again');
  assert.throws(() => merger.input('other'));
});
