// Unit tests of SPIFFE ID parsing, SAN extraction from Node's subjectaltname strings, and the
// outbound server-identity rule (the peer's one SPIFFE SAN in the expected list, EKU serverAuth).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { PeerCertificate } from 'node:tls';
import { formatSpiffeId, identityFromWorkload, parseSpiffeId, checkServerSpiffeIdentity } from '../../src/tls/index.js';
import { parseSanUris } from '../../src/identity/index.js';
import { isMeshError } from '../../src/common/errors.js';

test('parseSpiffeId accepts exactly spiffe://td/ns/<ns>/sa/<sa>', () => {
  assert.deepEqual(parseSpiffeId('spiffe://cluster.local/ns/default/sa/echo'), {
    trustDomain: 'cluster.local',
    namespace: 'default',
    serviceAccount: 'echo',
  });
  for (const bad of [
    'spiffe://cluster.local/ns/default/sa/echo/extra',
    'spiffe://cluster.local/ns/default/sa',
    'spiffe://cluster.local/ns/default/xx/echo',
    'spiffe://cluster.local/NS/default/sa/echo',
    'spiffe://cluster.local/sa/echo/ns/default',
    'spiffe:///ns/default/sa/echo',
    'spiffe://cluster.local/ns//sa/echo',
    'spiffe://cluster.local/ns/default/sa/',
    'http://cluster.local/ns/default/sa/echo',
    'cluster.local/ns/default/sa/echo',
    '',
  ]) {
    assert.equal(parseSpiffeId(bad), undefined, bad);
  }
});

test('formatSpiffeId and identityFromWorkload round-trip', () => {
  const id = identityFromWorkload({ trustDomain: 'td.example', namespace: 'ns1', serviceAccount: 'sa1' });
  assert.equal(formatSpiffeId(id), 'spiffe://td.example/ns/ns1/sa/sa1');
  assert.deepEqual(parseSpiffeId(formatSpiffeId(id)), id);
});

test('parseSanUris reads Node subjectaltname strings, including quoted values', () => {
  assert.deepEqual(parseSanUris(undefined), []);
  assert.deepEqual(parseSanUris('DNS:a.example, URI:spiffe://td/ns/a/sa/b, IP Address:127.0.0.1, URI:http://x'), [
    'spiffe://td/ns/a/sa/b',
    'http://x',
  ]);
  // A value with a comma is JSON-quoted by Node and must not split into a smuggled second entry.
  assert.deepEqual(parseSanUris('URI:"http://evil, URI:spiffe://td/ns/a/sa/b", URI:spiffe://td/ns/c/sa/d'), [
    'http://evil, URI:spiffe://td/ns/a/sa/b',
    'spiffe://td/ns/c/sa/d',
  ]);
  // The exact form Node 20 prints for such a certificate (comma escaped inside the quotes).
  assert.deepEqual(parseSanUris('URI:"http://evil\\u002c URI:spiffe://td/ns/a/sa/b", URI:"spiffe://td/ns/\\"q\\"/sa/b"'), [
    'http://evil, URI:spiffe://td/ns/a/sa/b',
    'spiffe://td/ns/"q"/sa/b',
  ]);
});

function peer(san: string, eku?: string[]): PeerCertificate {
  return { subjectaltname: san, ...(eku ? { ext_key_usage: eku } : {}) } as unknown as PeerCertificate;
}

test('server identity: accepted iff its one SPIFFE SAN equals any expected id', () => {
  const expected = ['spiffe://td/ns/svc/sa/a', 'spiffe://td/ns/w/sa/b'];
  assert.equal(checkServerSpiffeIdentity(peer('URI:spiffe://td/ns/w/sa/b'), expected), undefined);
  // A second SPIFFE SAN makes the identity ambiguous, even though one of them is expected.
  assert.ok(isMeshError(checkServerSpiffeIdentity(peer('URI:spiffe://td/ns/x/sa/x, URI:spiffe://td/ns/w/sa/b'), expected), 'CERT_INVALID'));
  const err = checkServerSpiffeIdentity(peer('URI:spiffe://td/ns/x/sa/x'), expected);
  assert.ok(isMeshError(err, 'IDENTITY_MISMATCH'));
  assert.match(err.message, /identity mismatch/);
  // A matching string that is not a valid SPIFFE ID does not count.
  assert.ok(isMeshError(checkServerSpiffeIdentity(peer('URI:spiffe://td/ns/a'), ['spiffe://td/ns/a']), 'CERT_INVALID'));
  assert.ok(isMeshError(checkServerSpiffeIdentity(peer(''), expected), 'CERT_INVALID'));
  assert.ok(isMeshError(checkServerSpiffeIdentity(peer('URI:spiffe://td/ns/w/sa/b'), []), 'IDENTITY_MISMATCH'));
});

test('server identity: EKU without serverAuth is refused', () => {
  const san = 'URI:spiffe://td/ns/w/sa/b';
  assert.equal(checkServerSpiffeIdentity(peer(san, ['1.3.6.1.5.5.7.3.1']), ['spiffe://td/ns/w/sa/b']), undefined);
  assert.ok(isMeshError(checkServerSpiffeIdentity(peer(san, ['1.3.6.1.5.5.7.3.2']), ['spiffe://td/ns/w/sa/b']), 'CERT_INVALID'));
});
