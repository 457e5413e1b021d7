// Waypoint consistent hashing over real HBONE endpoints: stickiness on a header, a cookie, the
// source IP and a query parameter; the cookie the waypoint generates and sets when it is absent;
// and minimal disruption (only the keys of a removed endpoint move; they come back with it).

import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import type { ConsistentHashKey } from '../../src/waypoint/index.js';
import { seeded, startWaypointRig, type WaypointRig } from '../helpers/waypoint-rig.js';
import { concurrently, configure, editWorkloads, tally, uidOf } from '../helpers/waypoint-upstream.js';

describe('waypoint upstream consistent hashing', () => {
  let rig: WaypointRig;
  before(async () => {
    rig = await startWaypointRig({ random: seeded(7), extra: ['e1', 'e2', 'e3'] });
  });
  after(async () => rig.close());

  const hashOn = (key: ConsistentHashKey, maglev = false): void => {
    configure(rig, { http: { lb: { kind: 'CONSISTENT_HASH', key, ...(maglev ? { maglev: { tableSize: 65537 } } : {}) } } });
  };

  const get = async (path: string, headers: Record<string, string> = {}): Promise<{ who: string; setCookie: string[] | undefined }> => {
    const r = await rig.request({ path, headers });
    assert.equal(r.status, 200, r.body);
    return { who: r.headers['x-backend'] as string, setCookie: r.headers['set-cookie'] };
  };

  /** Each of `users` asked `times` times: the backend per user, asserting it never changes. */
  async function mapping(users: number, times: number, req: (u: number) => Promise<{ who: string }>): Promise<Map<number, string>> {
    const seen = new Map<number, Set<string>>();
    await concurrently(users * times, 8, async (i) => {
      const u = i % users;
      const { who } = await req(u);
      let s = seen.get(u);
      if (!s) seen.set(u, (s = new Set()));
      s.add(who);
    });
    for (const [u, s] of seen) assert.equal(s.size, 1, `user ${u} went to ${[...s].join(', ')}`);
    return new Map([...seen].map(([u, s]) => [u, [...s][0]!]));
  }

  it('a header value sticks to one endpoint; different values spread', async () => {
    hashOn({ header: 'x-user' });
    const m = await mapping(30, 3, (u) => get('/h', { 'x-user': `user-${u}` }));
    assert.ok(new Set(m.values()).size >= 4, JSON.stringify(tally(m.values())));
  });

  it('a query parameter sticks (first occurrence); a cookie sticks (quoted or not)', async () => {
    hashOn({ queryParam: 'user' });
    const q = await mapping(20, 2, (u) => get(`/q?user=u${u}&user=other`));
    assert.ok(new Set(q.values()).size >= 3);
    hashOn({ cookie: 'session' });
    const c = await mapping(20, 2, (u) => get('/c', { cookie: u % 2 ? `a=1; session=s${u}` : `session="s${u}"` }));
    assert.ok(new Set(c.values()).size >= 3);
  });

  it('the source IP sticks: every request of the client lands on one endpoint', async () => {
    hashOn({ sourceIp: true });
    const t = tally(await concurrently(20, 5, async () => (await get('/ip')).who));
    assert.equal(Object.keys(t).length, 1, JSON.stringify(t));
  });

  it('without the cookie and with a ttl, the waypoint generates it, sets it, and the cookie then sticks', async () => {
    configure(rig, { http: { lb: { kind: 'CONSISTENT_HASH', key: { cookie: 'affinity', ttlMs: 60_000, path: '/' } } } });
    const first = await get('/gen');
    assert.equal(first.setCookie?.length, 1);
    const m = /^affinity="([0-9a-f]{16})"; Max-Age=60; Path=\/; HttpOnly$/.exec(first.setCookie![0]!);
    assert.ok(m, first.setCookie![0]);
    for (const cookie of [`affinity="${m[1]}"`, `affinity=${m[1]}`]) {
      const later = await concurrently(8, 4, () => get('/gen', { cookie }));
      assert.deepEqual(tally(later.map((l) => l.who)), { [first.who]: 8 }, 'the request that got the cookie went where the cookie leads');
      assert.ok(later.every((l) => l.setCookie === undefined), 'no Set-Cookie once the client has it');
    }
    // Each new downstream connection (CONNECT tunnel) gets its own cookie, so clients spread; the
    // requests of one connection all get the same one (Envoy: racing requests agree).
    const values = new Set((await concurrently(12, 4, () => get('/gen'))).map((r) => r.setCookie![0]));
    assert.equal(values.size, 12);
    const agent = rig.agent();
    const sameConn = new Set<string>();
    for (let i = 0; i < 3; i++) sameConn.add((await rig.request({ path: '/gen', agent })).headers['set-cookie']![0]!);
    assert.equal(sameConn.size, 1);
    // No ttl: nothing generated, keyless requests are spread at random.
    configure(rig, { http: { lb: { kind: 'CONSISTENT_HASH', key: { cookie: 'affinity' } } } });
    assert.equal((await get('/gen')).setCookie, undefined);
  });

  for (const maglev of [false, true]) {
    it(`${maglev ? 'maglev' : 'ring hash'}: removing an endpoint moves only its keys; they return with it`, async () => {
      hashOn({ header: 'x-user' }, maglev);
      const req = (u: number): Promise<{ who: string }> => get('/d', { 'x-user': `user-${u}` });
      const before = await mapping(40, 1, req);
      const snapshot = rig.state.snapshot();
      editWorkloads(rig, (w) => (w.uid === uidOf('reviews-e3') ? undefined : w));
      const without = await mapping(40, 1, req);
      let moved = 0;
      for (const [u, was] of before) {
        if (was === 'e3') assert.notEqual(without.get(u), 'e3');
        else if (without.get(u) !== was) moved++;
      }
      // The ring moves none of the others; Maglev a few at most.
      assert.ok(moved <= (maglev ? 3 : 0), `${moved} keys of other endpoints moved`);
      rig.state.apply(snapshot);
      const back = await mapping(40, 1, req);
      assert.deepEqual([...back].sort(), [...before].sort());
    });
  }
});
