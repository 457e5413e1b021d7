// What GatewayStatusWriter would write onto one waypoint Gateway (desiredGatewayStatus): our
// conditions replaced in place, others' kept, lastTransitionTime kept while a condition holds,
// removed listeners pruned, addresses never removed, nothing when only times or the API server's
// key order differ; and the newest observedGeneration among the conditions we own.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { desiredGatewayStatus, newestObservedGateway, type GatewayCondition, type GatewayStatus, type StoredGatewayStatus } from '../../src/controlplane/index.js';

const NOW = '2026-05-01T00:00:00Z';
const EARLIER = '2026-01-01T00:00:00Z';
const cond = (type: string, status: 'True' | 'False', reason: string, generation = 2): GatewayCondition => ({ type, status, reason, message: `${type} ${reason}`, observedGeneration: generation });
const timed = (c: GatewayCondition, time = EARLIER): Record<string, unknown> => ({ ...c, lastTransitionTime: time });
const KINDS = [{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute' }];
const LISTENER_CONDS = [cond('Accepted', 'True', 'Accepted'), cond('Conflicted', 'False', 'NoConflicts'), cond('Programmed', 'True', 'Programmed'), cond('ResolvedRefs', 'True', 'ResolvedRefs')];
const ADDRS = [{ type: 'IPAddress' as const, value: '10.96.0.2' }, { type: 'Hostname' as const, value: 'wp.default.svc.cluster.local' }];

function ours(o: { programmed?: GatewayCondition; addresses?: GatewayStatus['addresses']; attached?: number; listeners?: string[] } = {}): GatewayStatus {
  return {
    namespace: 'default',
    name: 'wp',
    addresses: 'addresses' in o ? o.addresses : ADDRS,
    conditions: [cond('Accepted', 'True', 'Accepted'), o.programmed ?? cond('Programmed', 'True', 'Programmed')],
    listeners: (o.listeners ?? ['mesh']).map((name) => ({ name, supportedKinds: KINDS, attachedRoutes: o.attached ?? 1, conditions: LISTENER_CONDS })),
  };
}

/** What the Gateway holds after we wrote `s` at EARLIER. */
function written(s: GatewayStatus): StoredGatewayStatus {
  return {
    ...(s.addresses !== undefined ? { addresses: s.addresses } : {}),
    conditions: s.conditions.map((c) => timed(c)),
    listeners: s.listeners.map((l) => ({ ...l, conditions: l.conditions.map((c) => timed(c)) })),
  };
}

test('first write: addresses, our conditions at the current time, listeners', () => {
  assert.deepEqual(desiredGatewayStatus(ours(), undefined, NOW), {
    addresses: ADDRS,
    conditions: [timed(cond('Accepted', 'True', 'Accepted'), NOW), timed(cond('Programmed', 'True', 'Programmed'), NOW)],
    listeners: [{ name: 'mesh', supportedKinds: KINDS, attachedRoutes: 1, conditions: LISTENER_CONDS.map((c) => timed(c, NOW)) }],
  });
});

test('what the Gateway holds already: nothing to write, whatever order the API server returns keys in', () => {
  assert.equal(desiredGatewayStatus(ours(), written(ours()), NOW), undefined);
  // The API server serialises custom resources with sorted keys.
  const sorted = JSON.parse(JSON.stringify(written(ours()), (_k, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? 1 : -1))) : v)) as StoredGatewayStatus;
  assert.equal(desiredGatewayStatus(ours(), sorted, NOW), undefined);
});

test('attachedRoutes changes: written; unchanged conditions keep their time', () => {
  const next = desiredGatewayStatus(ours({ attached: 2 }), written(ours()), NOW) as { listeners: { attachedRoutes: number; conditions: { lastTransitionTime: string }[] }[]; conditions: { lastTransitionTime: string }[] };
  assert.equal(next.listeners[0]!.attachedRoutes, 2);
  assert.deepEqual([...next.conditions, ...next.listeners[0]!.conditions].map((c) => c.lastTransitionTime), Array(6).fill(EARLIER));
});

test('Programmed flips: a new time for it only; addresses we no longer report are kept (istiod never removes them)', () => {
  const pending = cond('Programmed', 'False', 'AddressNotUsable');
  const next = desiredGatewayStatus(ours({ programmed: pending, addresses: undefined }), written(ours()), NOW) as Record<string, unknown>;
  assert.equal('addresses' in next, false, 'the merge patch leaves addresses as they are');
  assert.deepEqual(next['conditions'], [timed(cond('Accepted', 'True', 'Accepted')), timed(pending, NOW)]);
  // Once written, holding the old addresses is what we want: nothing more to write.
  const after = { ...written(ours({ programmed: pending, addresses: undefined })), addresses: ADDRS };
  assert.equal(desiredGatewayStatus(ours({ programmed: pending, addresses: undefined }), after, NOW), undefined);
});

test('conditions of other types are kept in place, on the Gateway and on listeners', () => {
  const foreign = { type: 'example.com/Healthy', status: 'True', reason: 'Fine', message: '', observedGeneration: 1, lastTransitionTime: EARLIER };
  const held = written(ours());
  const current: StoredGatewayStatus = {
    ...held,
    conditions: [held.conditions![0]!, foreign, held.conditions![1]!],
    listeners: [{ ...held.listeners![0]!, conditions: [foreign, ...held.listeners![0]!.conditions!] }],
  };
  assert.equal(desiredGatewayStatus(ours(), current, NOW), undefined, 'nothing of ours changed');
  const next = desiredGatewayStatus(ours({ attached: 3 }), current, NOW) as { conditions: { type: string }[]; listeners: { conditions: { type: string }[] }[] };
  assert.deepEqual(next.conditions.map((c) => c.type), ['Accepted', 'example.com/Healthy', 'Programmed']);
  assert.deepEqual(next.listeners[0]!.conditions.map((c) => c.type), ['example.com/Healthy', 'Accepted', 'Conflicted', 'Programmed', 'ResolvedRefs']);
});

test('a listener removed from spec is pruned; a new one is added', () => {
  const next = desiredGatewayStatus(ours({ listeners: ['mesh2'] }), written(ours({ listeners: ['mesh', 'old'] })), NOW) as { listeners: { name: string }[] };
  assert.deepEqual(next.listeners.map((l) => l.name), ['mesh2']);
});

test('newestObservedGateway: the newest observedGeneration among our condition types only', () => {
  assert.equal(newestObservedGateway(undefined), 0);
  const s = written(ours());
  assert.equal(newestObservedGateway(s), 2);
  const foreign = { type: 'example.com/Healthy', status: 'True', reason: 'Fine', observedGeneration: 9 };
  assert.equal(newestObservedGateway({ ...s, conditions: [...s.conditions!, foreign] }), 2, 'another controller\'s condition does not count');
  const newer = { ...s, listeners: [{ name: 'mesh', conditions: [timed(cond('Accepted', 'True', 'Accepted', 5))] }] };
  assert.equal(newestObservedGateway(newer), 5, 'a listener condition counts');
});
