// The addresses waypoint authorization reads: the client's source IP from the CONNECT's
// `forwarded: for=` (trusted only for the peer's own workload IPs), Envoy's remote address from
// X-Forwarded-For with trusted hops, and the peer identity parts.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseForwardedFor, peerIdentity, remoteIpOf, sourceIpOf } from '../../src/waypoint/security/index.js';

test('parseForwardedFor: quoted ip:port, bracketed IPv6, bare, first element only, absent', () => {
  const rows: [string | undefined, string | undefined][] = [
    ['for="10.0.0.5:41234";host=reviews.default.svc.cluster.local', '10.0.0.5'],
    ['for="[fd00::5]:41234"', 'fd00::5'],
    ['for=10.0.0.5', '10.0.0.5'],
    ['For="10.0.0.5:1", for="10.0.0.6:2"', '10.0.0.5'],
    ['host=x', undefined],
    ['for="[fd00::5"', undefined],
    [undefined, undefined],
  ];
  for (const [v, want] of rows) assert.equal(parseForwardedFor(v), want, String(v));
});

test('sourceIpOf: forwarded for= counts only when its workload has the peer\'s identity', () => {
  const ids = new Map([['10.0.0.5', 'spiffe://cluster.local/ns/default/sa/sleep'], ['10.0.0.9', 'spiffe://cluster.local/ns/default/sa/admin']]);
  const lookup = (ip: string): string | undefined => ids.get(ip);
  const peer = 'spiffe://cluster.local/ns/default/sa/sleep';
  assert.equal(sourceIpOf('192.168.1.1', 'for="10.0.0.5:1"', peer, lookup), '10.0.0.5', 'a shared agent dialling for its pod');
  assert.equal(sourceIpOf('192.168.1.1', 'for="10.0.0.9:1"', peer, lookup), '192.168.1.1', 'another workload\'s IP is not believed');
  assert.equal(sourceIpOf('192.168.1.1', 'for="10.9.9.9:1"', peer, lookup), '192.168.1.1', 'an unknown IP is not believed');
  assert.equal(sourceIpOf('10.0.0.5', undefined, peer, lookup), '10.0.0.5');
  assert.equal(sourceIpOf('10.0.0.5', 'garbage', peer, lookup), '10.0.0.5');
});

test('remoteIpOf: N trusted hops ⇒ the N-th X-Forwarded-For address from the right, else the source', () => {
  const h = (v?: string[]) => new Map(v === undefined ? [] : [['x-forwarded-for', v]]);
  assert.equal(remoteIpOf(h(['1.1.1.1, 2.2.2.2']), '10.0.0.5', 0), '10.0.0.5', 'untrusted XFF is ignored');
  assert.equal(remoteIpOf(h(['1.1.1.1, 2.2.2.2']), '10.0.0.5', 1), '2.2.2.2');
  assert.equal(remoteIpOf(h(['1.1.1.1', '2.2.2.2,3.3.3.3']), '10.0.0.5', 2), '2.2.2.2', 'lines joined');
  assert.equal(remoteIpOf(h(['1.1.1.1']), '10.0.0.5', 2), '10.0.0.5', 'too few addresses');
  assert.equal(remoteIpOf(h(), '10.0.0.5', 1), '10.0.0.5');
});

test('peerIdentity splits a SPIFFE id; other shapes keep only the principal', () => {
  assert.deepEqual(peerIdentity('spiffe://td/ns/a/sa/b'), { principal: 'td/ns/a/sa/b', namespace: 'a', serviceAccount: 'b' });
  assert.deepEqual(peerIdentity('spiffe://td/other'), { principal: 'td/other', namespace: '', serviceAccount: '' });
  assert.equal(peerIdentity(''), undefined);
});
