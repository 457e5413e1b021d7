// The pipeline's desired set per type: updated in place run after run, a name not set again in a run
// is dropped at its end, and an unchanged run leaves the very same buffers.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DesiredSet } from '../../src/controlplane/desired-set.js';

const b = (s: string): Uint8Array => new TextEncoder().encode(s);

test('runs: set, replace, drop what was not set again; the same map throughout', () => {
  const d = new DesiredSet();
  const [a1, b1, a2, c1] = [b('a1'), b('b1'), b('a2'), b('c1')];
  d.begin();
  d.set('a', a1);
  d.set('b', b1);
  const first = d.end();
  assert.deepEqual([...first], [['a', a1], ['b', b1]]);
  d.begin();
  d.set('a', a2);
  d.set('c', c1);
  d.set('c', c1); // set twice in one run: still one name
  const second = d.end();
  assert.equal(second, first, 'updated in place');
  assert.deepEqual(new Map(second), new Map([['a', a2], ['c', c1]]));
  d.begin();
  d.end();
  assert.equal(second.size, 0, 'a run that sets nothing empties it');
});
