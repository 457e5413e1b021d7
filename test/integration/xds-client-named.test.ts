// The delta ADS client's extra types subscribed by name (a waypoint's WaypointConfig) against a
// scripted control plane: the subscription, per-resource ACK/NACK, last good kept, removals, reconnects.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MeshError } from '../../src/common/errors.js';
import { ADDRESS_TYPE_URL, AUTHORIZATION_TYPE_URL, type NamedResourceType } from '../../src/xds/index.js';
import { startDeltaAdsPeer, type PeerStream } from '../helpers/delta-ads-peer.js';
import { eventually, startClient, workload } from '../helpers/xds-client-fixture.js';

const TYPE = 'type.googleapis.com/ambit.waypoint.v1.WaypointConfig';
const NAME = 'demo/waypoint';
const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

/** A named type whose payload is text: `good:<x>` applies `<x>`, anything else is refused. */
function recorder(): { type: NamedResourceType; applied: Array<[string, string, string]>; removed: string[]; current: () => string | undefined } {
  const applied: Array<[string, string, string]> = [];
  const removed: string[] = [];
  let current: string | undefined;
  const type: NamedResourceType = {
    typeUrl: TYPE,
    names: [NAME],
    apply: (name, value, version) => {
      const text = new TextDecoder().decode(value);
      if (!text.startsWith('good:')) throw new MeshError('XDS_INVALID', `cannot decode ${JSON.stringify(text)}`);
      current = text.slice(5);
      applied.push([name, current, version]);
    },
    remove: (name) => removed.push(name),
  };
  return { type, applied, removed, current: () => current };
}

async function syncWildcard(s: PeerStream): Promise<void> {
  await s.replyTo(s.push(ADDRESS_TYPE_URL, [{ address: workload('Kubernetes//Pod/demo/w1', '10.0.0.11') }]));
  await s.replyTo(s.push(AUTHORIZATION_TYPE_URL, []));
}

test('by name: one request naming the resource after the wildcard types; synced only once it is ACKed', async (t) => {
  const peer = await startDeltaAdsPeer({ auto: false });
  const r = recorder();
  const f = startClient(peer.address, {}, { namedTypes: [r.type] });
  t.after(() => {
    f.client.destroy();
    peer.close();
  });
  const s = await peer.stream(1);
  const req = await s.waitForRequest((x) => x.typeUrl === TYPE);
  assert.deepEqual(s.requests.map((x) => x.typeUrl), [ADDRESS_TYPE_URL, AUTHORIZATION_TYPE_URL, TYPE]);
  assert.deepEqual(req.resourceNamesSubscribe, [NAME], 'not a wildcard: subscribed by name');
  assert.deepEqual(req.initialResourceVersions, {});
  assert.ok(req.node?.id.startsWith('ztunnel~'), 'the node rides on the first request of the type');
  await syncWildcard(s);
  assert.equal(f.client.synced, false, 'the named type is still pending');
  assert.deepEqual(f.client.dump().pendingTypes, [TYPE]);
  const ack = await s.replyTo(s.push(TYPE, [{ name: NAME, version: 'v1', bytes: bytes('good:one') }]));
  assert.equal(ack.errorDetail, undefined, 'ACK');
  await f.client.whenSynced();
  assert.deepEqual(r.applied, [[NAME, 'one', 'v1']]);
  assert.ok(f.state.workloadByUid('Kubernetes//Pod/demo/w1'), 'the wildcard types still feed the state');
  assert.deepEqual(f.client.dump().resources[TYPE], { [NAME]: 'v1' });
});

test('a bad resource is NACKed with `<name>: <reason>`; the last good one stays, a good one after it is ACKed', async (t) => {
  const peer = await startDeltaAdsPeer({ auto: false });
  const r = recorder();
  const f = startClient(peer.address, {}, { namedTypes: [r.type] });
  t.after(() => {
    f.client.destroy();
    peer.close();
  });
  const s = await peer.stream(1);
  await s.waitForRequest((x) => x.typeUrl === TYPE);
  await syncWildcard(s);
  await s.replyTo(s.push(TYPE, [{ name: NAME, version: 'v1', bytes: bytes('good:one') }]));
  const nack = await s.replyTo(s.push(TYPE, [{ name: NAME, version: 'v2', bytes: bytes('garbage') }]));
  assert.deepEqual(nack.errorDetail, { code: 0, message: `${NAME}: cannot decode "garbage"` });
  assert.equal(r.current(), 'one', 'the last good config is in force');
  assert.deepEqual(f.client.dump().resources[TYPE], { [NAME]: 'v1' }, 'and is the version held');
  assert.equal(f.client.dump().lastNack?.typeUrl, TYPE);
  const unsubscribed = await s.replyTo(s.push(TYPE, [{ name: 'demo/other', version: 'v1', bytes: bytes('good:x') }]));
  assert.deepEqual(unsubscribed.errorDetail, { code: 0, message: 'demo/other: not subscribed' });
  const wrongAny = await s.replyTo(s.push(TYPE, [{ name: NAME, version: 'v3', bytes: bytes('good:x'), anyTypeUrl: ADDRESS_TYPE_URL }]));
  assert.match(wrongAny.errorDetail?.message ?? '', /^demo\/waypoint: resource of type .*istio.workload.Address/);
  const ack = await s.replyTo(s.push(TYPE, [{ name: NAME, version: 'v4', bytes: bytes('good:four') }]));
  assert.equal(ack.errorDetail, undefined);
  assert.equal(r.current(), 'four');
  assert.deepEqual(r.applied.map((a) => a[2]), ['v1', 'v4']);
});

test('"does not exist" (removed) answers the subscription: synced, the remove callback told, nothing applied', async (t) => {
  const peer = await startDeltaAdsPeer({ auto: false });
  const r = recorder();
  const f = startClient(peer.address, {}, { namedTypes: [r.type] });
  t.after(() => {
    f.client.destroy();
    peer.close();
  });
  const s = await peer.stream(1);
  await s.waitForRequest((x) => x.typeUrl === TYPE);
  await syncWildcard(s);
  const ack = await s.replyTo(s.push(TYPE, [], [NAME]));
  assert.equal(ack.errorDetail, undefined);
  await f.client.whenSynced();
  assert.deepEqual(r.removed, [NAME]);
  assert.deepEqual(r.applied, []);
});

test('on reconnect: the names again, with the version held of the last good resource', async (t) => {
  const peer = await startDeltaAdsPeer({ auto: false });
  const r = recorder();
  const f = startClient(peer.address, {}, { namedTypes: [r.type], backoff: { initialMs: 10, maxMs: 50 } });
  t.after(() => {
    f.client.destroy();
    peer.close();
  });
  const s1 = await peer.stream(1);
  await s1.waitForRequest((x) => x.typeUrl === TYPE);
  await syncWildcard(s1);
  await s1.replyTo(s1.push(TYPE, [{ name: NAME, version: 'v1', bytes: bytes('good:one') }]));
  await s1.replyTo(s1.push(TYPE, [{ name: NAME, version: 'v2', bytes: bytes('bad') }]));
  s1.end();
  const s2 = await peer.stream(2);
  const again = await s2.waitForRequest((x) => x.typeUrl === TYPE);
  assert.deepEqual(again.resourceNamesSubscribe, [NAME]);
  assert.deepEqual(again.initialResourceVersions, { [NAME]: 'v1' }, 'the refused v2 is not reported as held');
  await eventually(() => r.current() === 'one', 'still the last good config');
});

test('without named types the agent subscribes exactly as before (two wildcard requests)', async (t) => {
  const peer = await startDeltaAdsPeer({ auto: false });
  const f = startClient(peer.address);
  t.after(() => {
    f.client.destroy();
    peer.close();
  });
  const s = await peer.stream(1);
  await syncWildcard(s);
  await f.client.whenSynced();
  assert.deepEqual(s.requests.filter((x) => x.responseNonce === '').map((x) => x.typeUrl), [ADDRESS_TYPE_URL, AUTHORIZATION_TYPE_URL]);
  assert.deepEqual(Object.keys(f.client.dump().resources), [ADDRESS_TYPE_URL, AUTHORIZATION_TYPE_URL]);
});
