// Table-driven tests for the ADS resource versions and cache: content hashing, what changed per step, atomic
// multi-type steps, the change journal, and the wire encoding of resources and responses.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { contentVersion } from '../../src/controlplane/ads/versions.js';
import { JOURNAL_LENGTH, ResourceCache } from '../../src/controlplane/ads/resource-cache.js';
import { encodeDeltaResponse, encodeResource, resourceValue } from '../../src/controlplane/ads/wire.js';
import { decodeResponse, testProtoRoot } from '../helpers/ads-client.js';

const T1 = 'type.googleapis.com/test.One';
const T2 = 'type.googleapis.com/test.Two';
const b = (s: string): Uint8Array => new TextEncoder().encode(s);
const set = (o: Record<string, string>): Map<string, Uint8Array> => new Map(Object.entries(o).map(([k, v]) => [k, b(v)]));

test('contentVersion: equal bytes give equal versions, any difference another; 16 hex digits', () => {
  const cases: Array<[string, string, boolean]> = [
    ['a', 'a', true],
    ['a', 'b', false],
    ['', '', true],
    ['abc', 'abd', false],
    ['x'.repeat(10_000), 'x'.repeat(10_000), true],
    ['x'.repeat(10_000), 'x'.repeat(9_999) + 'y', false],
  ];
  for (const [x, y, same] of cases) {
    assert.equal(contentVersion(b(x)) === contentVersion(b(y)), same, `${x.slice(0, 5)} vs ${y.slice(0, 5)}`);
    assert.match(contentVersion(b(x)), /^[0-9a-f]{16}$/);
  }
});

test('ResourceCache.setResources: what changed per call; a no-op call changes nothing; versions follow content', () => {
  const cache = new ResourceCache();
  const steps: Array<{ input: Record<string, string>; changed: string[] | null; removed?: string[] }> = [
    { input: { a: 'A1', b: 'B1' }, changed: ['a', 'b'], removed: [] },
    { input: { a: 'A1', b: 'B1' }, changed: null }, // same content: no change, no revision
    { input: { a: 'A2', b: 'B1' }, changed: ['a'], removed: [] },
    { input: { a: 'A2' }, changed: [], removed: ['b'] },
    { input: { a: 'A1', c: 'C' }, changed: ['a', 'c'], removed: [] },
    { input: {}, changed: [], removed: ['a', 'c'] },
  ];
  let revision = 0;
  for (const [i, s] of steps.entries()) {
    const change = cache.setResources(T1, set(s.input));
    if (s.changed === null) {
      assert.equal(change, undefined, `step ${i}`);
      assert.equal(cache.revision, revision);
      continue;
    }
    assert.ok(change, `step ${i}`);
    assert.equal(change.revision, ++revision);
    assert.deepEqual(change.types.get(T1), { changed: s.changed, removed: s.removed }, `step ${i}`);
    assert.deepEqual([...cache.view(T1).keys()].sort(), Object.keys(s.input).sort());
    for (const [name, content] of Object.entries(s.input)) assert.equal(cache.view(T1).get(name)?.version, contentVersion(b(content)));
  }
});

test('ResourceCache: an unchanged resource keeps its entry; the caller may reuse its buffers', () => {
  const cache = new ResourceCache();
  const buf = b('hello');
  cache.setResources(T1, new Map([['a', buf]]));
  const entry = cache.view(T1).get('a')!;
  buf[0] = 'j'.charCodeAt(0); // the caller reuses its buffer
  assert.equal(Buffer.from(resourceValue(entry.encoded, entry.size)).toString(), 'hello');
  assert.equal(cache.setResources(T1, new Map([['a', b('hello')]])), undefined);
  assert.equal(cache.view(T1).get('a'), entry, 'same entry object kept');
});

test('ResourceCache stableBuffers: the same buffer again is unchanged at once; equal new bytes keep the version; views are never mutated', () => {
  const cache = new ResourceCache();
  const a = b('A1');
  const c = b('C1');
  cache.setMany([[T1, new Map([['a', a], ['c', c]])]], { stableBuffers: true });
  const v1 = cache.view(T1);
  // The same buffers: no change, and the very same view.
  assert.equal(cache.setMany([[T1, new Map([['a', a], ['c', c]])]], { stableBuffers: true }), undefined);
  assert.equal(cache.view(T1), v1);
  // New buffers, same bytes: no change, no revision; the entries keep their version.
  const revision = cache.revision;
  assert.equal(cache.setMany([[T1, new Map([['a', b('A1')], ['c', b('C1')]])]], { stableBuffers: true }), undefined);
  assert.equal(cache.revision, revision);
  assert.equal(cache.view(T1).get('a')?.version, v1.get('a')?.version);
  // A changed, an added and a removed resource in one step; the view of before is left as it was.
  const change = cache.setMany([[T1, new Map([['a', b('A2')], ['d', b('D1')]])]], { stableBuffers: true });
  assert.deepEqual(change?.types.get(T1), { changed: ['a', 'd'], removed: ['c'] });
  assert.deepEqual([...cache.view(T1).keys()].sort(), ['a', 'd']);
  assert.deepEqual([...v1.keys()].sort(), ['a', 'c'], 'an older view is never changed');
  assert.equal(v1.get('a')?.version, contentVersion(b('A1')));
  assert.equal(cache.view(T1).get('a')?.version, contentVersion(b('A2')));
});

test('ResourceCache.setMany: several types in one revision and one event; a bad argument changes nothing', () => {
  const cache = new ResourceCache();
  const events: number[] = [];
  cache.onChange((c) => events.push(c.revision));
  cache.setResources(T1, set({ a: '1' }));
  const change = cache.setMany([
    [T1, set({ a: '2' })],
    [T2, set({ x: '1' })],
  ]);
  assert.equal(change?.revision, 2);
  assert.deepEqual([...change!.types.keys()].sort(), [T1, T2]);
  assert.deepEqual(events, [1, 2]);
  const before = cache.view(T1);
  assert.throws(() => cache.setMany([[T1, set({ a: '3' })], [T2, new Map([['', b('x')]])]]), /empty resource name/);
  assert.throws(() => cache.setMany([[T1, set({ a: '3' })], [T1, set({ a: '4' })]]), /given twice/);
  assert.equal(cache.view(T1), before, 'T1 untouched after a failed step');
  assert.equal(cache.revision, 2);
  assert.deepEqual(events, [1, 2]);
});

test('ResourceCache.changesSince: names after a revision, per type; undefined once the journal is cut', () => {
  const cache = new ResourceCache();
  cache.setResources(T1, set({ a: '1', b: '1' })); // r1
  cache.setResources(T2, set({ x: '1' })); // r2
  cache.setResources(T1, set({ a: '2', b: '1' })); // r3
  cache.setResources(T1, set({ a: '2' })); // r4
  const cases: Array<[string, number, string[]]> = [
    [T1, 0, ['a', 'b']],
    [T1, 1, ['a', 'b']],
    [T1, 2, ['a', 'b']],
    [T1, 3, ['b']],
    [T1, 4, []],
    [T2, 1, ['x']],
    [T2, 2, []],
    ['type.googleapis.com/never.Set', 0, []],
  ];
  for (const [t, rev, names] of cases) assert.deepEqual([...cache.changesSince(t, rev)!.names].sort(), names, `${t} since ${rev}`);
  assert.ok(cache.changesSince(T1, 3)!.oldestAt! > 0);
  for (let i = 0; i < JOURNAL_LENGTH + 5; i++) cache.setResources(T1, set({ a: String(i) }));
  assert.equal(cache.changesSince(T1, 4), undefined, 'older than the journal: full scan needed');
  assert.deepEqual([...cache.changesSince(T1, cache.revision - 1)!.names], ['a']);
});

test('wire: a Resource decodes with the schema; its message is the buffer tail; a response decodes field by field', () => {
  const value = b('payload-bytes');
  const encoded = encodeResource('ns/name', 'v1', T1, value);
  const Resource = testProtoRoot().lookupType('envoy.service.discovery.v3.Resource');
  const decoded = Resource.toObject(Resource.decode(encoded)) as { name: string; version: string; resource: { type_url: string; value: Uint8Array } };
  assert.equal(decoded.name, 'ns/name');
  assert.equal(decoded.version, 'v1');
  assert.equal(decoded.resource.type_url, T1);
  assert.deepEqual(Buffer.from(decoded.resource.value), Buffer.from(value));
  assert.deepEqual(Buffer.from(resourceValue(encoded, value.length)), Buffer.from(value));

  const bytes = encodeDeltaResponse({
    typeUrl: T1,
    nonce: 'n-1',
    systemVersionInfo: '7',
    resources: [encoded, encodeResource('b', 'v2', T1, b(''))],
    removed: ['gone', 'also-gone'],
    controlPlane: 'ambit',
  });
  const r = decodeResponse(bytes);
  assert.deepEqual(
    { typeUrl: r.typeUrl, nonce: r.nonce, sys: r.systemVersionInfo, removed: r.removed, cp: r.controlPlane },
    { typeUrl: T1, nonce: 'n-1', sys: '7', removed: ['gone', 'also-gone'], cp: 'ambit' },
  );
  assert.deepEqual(
    r.resources.map((x) => [x.name, x.version, x.anyType, x.value.toString()]),
    [
      ['ns/name', 'v1', T1, 'payload-bytes'],
      ['b', 'v2', T1, ''],
    ],
  );
});
