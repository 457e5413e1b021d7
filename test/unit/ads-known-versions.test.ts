// What a stream's client holds: a plain map, or a cache view plus the differences since; and a wildcard
// subscription holding exactly the view it last planned against once that plan is committed or settled.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KnownVersions } from '../../src/controlplane/ads/known-versions.js';
import { ResourceCache, type TypeView } from '../../src/controlplane/ads/resource-cache.js';
import { TypeSubscription } from '../../src/controlplane/ads/subscription.js';

const T = 'type.googleapis.com/test.Res';
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
function viewOf(contents: Record<string, string>): TypeView {
  const cache = new ResourceCache();
  cache.setResources(T, new Map(Object.entries(contents).map(([k, c]) => [k, enc(c)])));
  return cache.view(T);
}
const versions = (view: TypeView): Record<string, string> => Object.fromEntries([...view].map(([k, e]) => [k, e.version]));

test('KnownVersions: a base view with set/delete beside it reads as the merged map; retain makes it plain', () => {
  const view = viewOf({ a: 'A', b: 'B', c: 'C' });
  const k = new KnownVersions();
  k.set('x', '1');
  k.rebase(view);
  assert.deepEqual(Object.fromEntries(k.toMap()), versions(view), 'rebase replaces everything');
  k.set('a', 'other');
  k.delete('b');
  k.set('d', '4');
  k.set('c', view.get('c')!.version); // the base's own version: nothing to keep beside it
  assert.deepEqual(Object.fromEntries(k.toMap()), { a: 'other', c: view.get('c')!.version, d: '4' });
  assert.equal(k.has('b'), false);
  assert.equal(k.get('a'), 'other');
  k.retain((n) => n !== 'a');
  assert.deepEqual(Object.fromEntries(k.toMap()), { c: view.get('c')!.version, d: '4' });
  k.rebase(viewOf({}));
  assert.deepEqual([...k.keys()], []);
});

test('a wildcard stream holds each view it was brought up to; the next change sends only what moved', () => {
  const sub = new TypeSubscription();
  sub.applyInitial(['*'], [], new Map([['gone', 'v0']]));
  const v1 = viewOf({ a: 'A', b: 'B' });
  const first = sub.plan(v1, undefined);
  assert.deepEqual(first.removed, ['gone']);
  sub.commit(first);
  assert.deepEqual(Object.fromEntries(sub.knownVersions()), versions(v1));
  const v2 = viewOf({ a: 'A2', b: 'B', c: 'C' });
  const second = sub.plan(v2, ['a', 'c']);
  assert.deepEqual(second.resources.map((e) => e.name), ['a', 'c']);
  sub.commit(second);
  assert.deepEqual(Object.fromEntries(sub.knownVersions()), versions(v2));
  // Nothing to send against the same view: settled, still holding it.
  const none = sub.plan(v2, ['a']);
  assert.equal(none.respond, false);
  sub.settle(none);
  assert.deepEqual(Object.fromEntries(sub.knownVersions()), versions(v2));
});

test('leaving the wildcard for explicit names keeps only what is still of interest', () => {
  const sub = new TypeSubscription();
  sub.applyInitial([], [], new Map());
  const view = viewOf({ a: 'A', b: 'B', c: 'C' });
  sub.commit(sub.plan(view, undefined));
  sub.applyUpdate(['b'], []); // an explicit subscription ends the legacy wildcard
  assert.equal(sub.wildcard, false);
  const plan = sub.plan(view, undefined);
  assert.deepEqual(plan.resources.map((e) => e.name), ['b'], 'a newly subscribed name is answered');
  sub.commit(plan);
  assert.deepEqual([...sub.knownVersions().keys()], ['b']);
});
