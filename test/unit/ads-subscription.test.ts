// Table-driven tests for one stream's subscription to one type: wildcard (legacy and "*"), on-demand
// names, initial_resource_versions, unsubscribe, and what each plan sends or removes.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TypeSubscription } from '../../src/controlplane/ads/subscription.js';
import { ResourceCache, type TypeView } from '../../src/controlplane/ads/resource-cache.js';
import { contentVersion } from '../../src/controlplane/ads/versions.js';

const T = 'type.googleapis.com/test.Res';
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
/** Version of a content string, as the cache computes it. */
const v = (content: string): string => contentVersion(enc(content));

function viewOf(contents: Record<string, string>): TypeView {
  const cache = new ResourceCache();
  cache.setResources(T, new Map(Object.entries(contents).map(([k, c]) => [k, enc(c)])));
  return cache.view(T);
}

type Step =
  | { readonly initial: { sub?: string[]; unsub?: string[]; versions?: Record<string, string> } }
  | { readonly update: { sub?: string[]; unsub?: string[] } }
  /** Plan against the full view and commit it, as a sent response. */
  | { readonly send: true }
  | { readonly view: Record<string, string> };

interface Case {
  readonly name: string;
  readonly view: Record<string, string>;
  readonly steps: readonly Step[];
  /** Plan against these journal candidates (default: a full comparison). */
  readonly candidates?: readonly string[];
  readonly expect: { readonly send: string[]; readonly remove: string[]; readonly respond: boolean; readonly wildcard: boolean; readonly subscribed?: string[] };
}

const AB = { a: 'A', b: 'B' };

const cases: Case[] = [
  { name: 'legacy wildcard: empty subscribe on the first request gets everything', view: AB, steps: [{ initial: {} }], expect: { send: ['a', 'b'], remove: [], respond: true, wildcard: true } },
  { name: 'explicit "*" is wildcard', view: AB, steps: [{ initial: { sub: ['*'] } }], expect: { send: ['a', 'b'], remove: [], respond: true, wildcard: true } },
  {
    name: 'on-demand start: "*" subscribed and unsubscribed = nothing, but an (empty) answer',
    view: AB,
    steps: [{ initial: { sub: ['*'], unsub: ['*'] } }],
    expect: { send: [], remove: [], respond: true, wildcard: false },
  },
  {
    name: 'on-demand: a name that exists is sent, a missing one is answered with a removal',
    view: AB,
    steps: [{ initial: { sub: ['*'], unsub: ['*'] } }, { send: true }, { update: { sub: ['a', 'missing'] } }],
    expect: { send: ['a'], remove: ['missing'], respond: true, wildcard: false, subscribed: ['a', 'missing'] },
  },
  {
    name: 'explicit names on the first request',
    view: AB,
    steps: [{ initial: { sub: ['b', 'nope'] } }],
    expect: { send: ['b'], remove: ['nope'], respond: true, wildcard: false },
  },
  {
    name: 'wildcard reconnect: same version not resent, other version resent, vanished removed',
    view: AB,
    steps: [{ initial: { versions: { a: v('A'), b: v('old'), gone: v('G') } } }],
    expect: { send: ['b'], remove: ['gone'], respond: true, wildcard: true },
  },
  {
    name: 'wildcard reconnect with everything current: an empty answer',
    view: AB,
    steps: [{ initial: { versions: { a: v('A'), b: v('B') } } }],
    expect: { send: [], remove: [], respond: true, wildcard: true },
  },
  {
    name: 'version "" (asked for, never received): sent if it exists, removal if not',
    view: AB,
    steps: [{ initial: { sub: ['*'], unsub: ['*'], versions: { a: '', missing: '' } } }],
    expect: { send: ['a'], remove: ['missing'], respond: true, wildcard: false, subscribed: ['a', 'missing'] },
  },
  {
    name: 'non-wildcard reconnect: held names become subscriptions (istiod), current ones not resent',
    view: AB,
    steps: [{ initial: { sub: ['*'], unsub: ['*'], versions: { a: v('A'), gone: v('G') } } }],
    expect: { send: [], remove: ['gone'], respond: true, wildcard: false, subscribed: ['a', 'gone'] },
  },
  {
    name: 'explicit name with its current version on the first request: not resent',
    view: AB,
    steps: [{ initial: { sub: ['a'], versions: { a: v('A') } } }],
    expect: { send: [], remove: [], respond: true, wildcard: false, subscribed: ['a'] },
  },
  { name: 'after a send, nothing changed: no response', view: AB, steps: [{ initial: {} }, { send: true }], expect: { send: [], remove: [], respond: false, wildcard: true } },
  {
    name: 'wildcard incremental: only the changed, added and removed',
    view: AB,
    steps: [{ initial: {} }, { send: true }, { view: { b: 'B2', c: 'C' } }],
    candidates: ['a', 'b', 'c'],
    expect: { send: ['b', 'c'], remove: ['a'], respond: true, wildcard: true },
  },
  {
    name: 'explicit subscription ignores changes to other names',
    view: AB,
    steps: [{ initial: { sub: ['a'] } }, { send: true }, { view: { a: 'A', b: 'B2', c: 'C' } }],
    candidates: ['b', 'c'],
    expect: { send: [], remove: [], respond: false, wildcard: false },
  },
  {
    name: 'a name removed from the cache is removed from an explicit subscriber',
    view: AB,
    steps: [{ initial: { sub: ['a'] } }, { send: true }, { view: { b: 'B' } }],
    candidates: ['a'],
    expect: { send: [], remove: ['a'], respond: true, wildcard: false },
  },
  {
    name: 'unsubscribe: forgotten without a removal, later changes not sent',
    view: AB,
    steps: [{ initial: { sub: ['a', 'b'] } }, { send: true }, { update: { unsub: ['a'] } }, { view: { a: 'A2', b: 'B' } }],
    candidates: ['a'],
    expect: { send: [], remove: [], respond: false, wildcard: false, subscribed: ['b'] },
  },
  {
    name: 'resubscribe after unsubscribe: sent again even though unchanged',
    view: AB,
    steps: [{ initial: { sub: ['a'] } }, { send: true }, { update: { unsub: ['a'] } }, { update: { sub: ['a'] } }],
    expect: { send: ['a'], remove: [], respond: true, wildcard: false },
  },
  {
    name: 'subscribe and unsubscribe the same name in one request: nothing',
    view: AB,
    steps: [{ initial: { sub: ['*'], unsub: ['*'] } }, { send: true }, { update: { sub: ['a'], unsub: ['a'] } }],
    expect: { send: [], remove: [], respond: false, wildcard: false, subscribed: [] },
  },
  {
    name: 'legacy wildcard ends at the first explicit name (envoy xds_protocol)',
    view: AB,
    steps: [{ initial: {} }, { send: true }, { update: { sub: ['a'] } }, { view: { a: 'A', b: 'B2' } }],
    candidates: ['b'],
    expect: { send: ['a'], remove: [], respond: true, wildcard: false, subscribed: ['a'] },
  },
  {
    name: '"*" plus names keeps the wildcard',
    view: AB,
    steps: [{ initial: { sub: ['*', 'a'] } }, { send: true }, { view: { a: 'A', b: 'B2' } }],
    candidates: ['b'],
    expect: { send: ['b'], remove: [], respond: true, wildcard: true },
  },
  {
    name: 'unsubscribing "*" ends the wildcard without removals',
    view: AB,
    steps: [{ initial: { sub: ['*'] } }, { send: true }, { update: { unsub: ['*'] } }, { view: { a: 'A2' } }],
    candidates: ['a', 'b'],
    expect: { send: [], remove: [], respond: false, wildcard: false },
  },
  {
    name: 'subscribing "*" later sends everything not yet held',
    view: AB,
    steps: [{ initial: { sub: ['a'] } }, { send: true }, { update: { sub: ['*'] } }],
    candidates: [],
    expect: { send: ['b'], remove: [], respond: true, wildcard: true },
  },
];

for (const c of cases) {
  test(`subscription: ${c.name}`, () => {
    let view = viewOf(c.view);
    const sub = new TypeSubscription();
    for (const step of c.steps) {
      if ('initial' in step) sub.applyInitial(step.initial.sub ?? [], step.initial.unsub ?? [], new Map(Object.entries(step.initial.versions ?? {})));
      else if ('update' in step) sub.applyUpdate(step.update.sub ?? [], step.update.unsub ?? []);
      else if ('send' in step) sub.commit(sub.plan(view, undefined));
      else view = viewOf(step.view);
    }
    const plan = sub.plan(view, c.candidates);
    assert.deepEqual(
      { send: plan.resources.map((e) => e.name), remove: [...plan.removed], respond: plan.respond, wildcard: sub.wildcard },
      { send: c.expect.send, remove: c.expect.remove, respond: c.expect.respond, wildcard: c.expect.wildcard },
    );
    if (c.expect.subscribed !== undefined) assert.deepEqual(sub.subscribedNames(), c.expect.subscribed);
  });
}

test('subscription: what was sent is held whatever the ACK, so an unchanged (NACKed) version is not resent', () => {
  const view = viewOf(AB);
  const sub = new TypeSubscription();
  sub.applyInitial([], [], new Map());
  sub.commit(sub.plan(view, undefined));
  assert.deepEqual(Object.fromEntries(sub.knownVersions()), { a: v('A'), b: v('B') });
  assert.equal(sub.plan(view, ['a', 'b']).respond, false);
  const changed = viewOf({ a: 'A', b: 'B-fixed' });
  assert.deepEqual(sub.plan(changed, ['b']).resources.map((e) => e.name), ['b']);
});
