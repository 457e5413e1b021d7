// What RouteStatusWriter would write for one route (desiredParents): our entries replaced or removed,
// other controllers' kept as read, lastTransitionTime kept while a condition holds, nothing when
// only times would change; and the newest observedGeneration of our stored entries.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { desiredParents, newestObserved, type RouteParentStatus } from '../../src/controlplane/index.js';

const MESH = 'istio.io/mesh-controller';
const OURS = new Set([MESH]);
const NOW = '2026-05-01T00:00:00Z';
const EARLIER = '2026-01-01T00:00:00Z';
const ref = { group: '', kind: 'Service', name: 'echo' };

const cond = (type: string, status: 'True' | 'False', reason: string, generation = 2) => ({ type, status, reason, message: `${type} ${reason}`, observedGeneration: generation });
const entry = (conditions: ReturnType<typeof cond>[]): RouteParentStatus => ({ parentRef: ref, controllerName: MESH, conditions: conditions as RouteParentStatus['conditions'] });
const stored = (conditions: ReturnType<typeof cond>[], controllerName = MESH, time = EARLIER) => ({ parentRef: ref, controllerName, conditions: conditions.map((c) => ({ ...c, lastTransitionTime: time })) });
const other = stored([cond('Accepted', 'True', 'Accepted', 1)], 'example.com/other');

const rows: [string, RouteParentStatus[], Record<string, unknown>[], unknown[] | undefined][] = [
  ['first write: others first, then ours with the current time', [entry([cond('Accepted', 'True', 'Accepted')])], [other], [other, stored([cond('Accepted', 'True', 'Accepted')], MESH, NOW)]],
  ['the same conditions: nothing to write', [entry([cond('Accepted', 'True', 'Accepted')])], [other, stored([cond('Accepted', 'True', 'Accepted')])], undefined],
  [
    'a condition added, one unchanged: the unchanged keeps its time',
    [entry([cond('Accepted', 'True', 'Accepted'), cond('PartiallyInvalid', 'True', 'UnsupportedValue')])],
    [stored([cond('Accepted', 'True', 'Accepted')])],
    [{ parentRef: ref, controllerName: MESH, conditions: [{ ...cond('Accepted', 'True', 'Accepted'), lastTransitionTime: EARLIER }, { ...cond('PartiallyInvalid', 'True', 'UnsupportedValue'), lastTransitionTime: NOW }] }],
  ],
  [
    'a condition that flips gets a new time',
    [entry([cond('Accepted', 'False', 'Conflicted')])],
    [stored([cond('Accepted', 'True', 'Accepted')])],
    [stored([cond('Accepted', 'False', 'Conflicted')], MESH, NOW)],
  ],
  [
    'only the generation moved: written (observedGeneration follows), the time kept',
    [entry([cond('Accepted', 'True', 'Accepted', 3)])],
    [stored([cond('Accepted', 'True', 'Accepted', 2)])],
    [stored([cond('Accepted', 'True', 'Accepted', 3)], MESH, EARLIER)],
  ],
  ['no parent of ours any more: our entry removed, others kept', [], [other, stored([cond('Accepted', 'True', 'Accepted')])], [other]],
  ['nothing of ours anywhere: nothing to write', [], [other], undefined],
  [
    'the same entry with keys in the API server\'s (sorted) order: nothing to write',
    [entry([cond('Accepted', 'True', 'Accepted')])],
    [{ conditions: [{ lastTransitionTime: EARLIER, message: 'Accepted Accepted', observedGeneration: 2, reason: 'Accepted', status: 'True', type: 'Accepted' }], controllerName: MESH, parentRef: { group: '', kind: 'Service', name: 'echo' } }],
    undefined,
  ],
];

for (const [name, ours, current, expected] of rows) {
  test(`desired parents: ${name}`, () => {
    assert.deepEqual(desiredParents(ours, current, OURS, NOW), expected);
  });
}

test('newest observedGeneration: ours only', () => {
  assert.equal(newestObserved([stored([cond('Accepted', 'True', 'Accepted', 4), cond('ResolvedRefs', 'True', 'ResolvedRefs', 5)]), stored([cond('Accepted', 'True', 'Accepted', 9)], 'x/y')], OURS), 5);
  assert.equal(newestObserved([], OURS), 0);
});
