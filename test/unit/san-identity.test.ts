// Unit tests of the one peer-identity rule (src/tls/san-identity.ts) and of its users that take a
// plain SAN string: exactly one SPIFFE identity, duplicates allowed, other SANs ignored.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { PeerCertificate } from 'node:tls';
import { isMeshError } from '../../src/common/errors.js';
import { checkServerSpiffeIdentity, requireSpiffeIdentity, spiffeIdentityOfSans, spiffeUriOfSans } from '../../src/tls/index.js';

const EVIL = 'spiffe://evil.example/ns/x/sa/admin';
const X = 'spiffe://cluster.local/ns/default/sa/x';

const accepted: Array<[name: string, san: string, uri: string]> = [
  ['one SPIFFE SAN', `URI:${X}`, X],
  ['the same URI twice', `URI:${X}, URI:${X}`, X],
  ['DNS, IP and non-SPIFFE URIs are ignored', `DNS:x.example, URI:https://example.com/a, URI:${X}, IP Address:10.0.0.1`, X],
  // Node JSON-quotes a value with a comma; the smuggled text is one https URI, not a SPIFFE SAN.
  ['a quoted value cannot smuggle a second SAN', `URI:"https://a, URI:${EVIL}", URI:${X}`, X],
];

const refused: Array<[name: string, san: string | undefined, mentions: readonly string[]]> = [
  ['two SPIFFE identities, foreign one first', `URI:${EVIL}, URI:${X}`, [EVIL, X, 'ambiguous']],
  ['two SPIFFE identities, ours first', `URI:${X}, URI:${EVIL}`, [EVIL, X, 'ambiguous']],
  ['two identities in the same trust domain', `URI:${X}, URI:spiffe://cluster.local/ns/default/sa/y`, ['sa/x', 'sa/y', 'ambiguous']],
  ['an identity plus a malformed SPIFFE URI', `URI:${X}, URI:spiffe://cluster.local/other`, ['spiffe://cluster.local/other', 'ambiguous']],
  ['an identity plus an upper-case scheme variant', `URI:${X}, URI:SPIFFE://cluster.local/ns/default/sa/x`, ['SPIFFE://', 'ambiguous']],
  ['only a malformed SPIFFE URI', 'URI:spiffe://cluster.local/ns/default', ['spiffe://cluster.local/ns/default', 'not of the form']],
  ['a quoted SPIFFE value hiding a second identity', `URI:"${X}, URI:${EVIL}"`, ['not of the form']],
  ['no URI SAN at all', 'DNS:x.example', ['no SPIFFE identity']],
  ['only non-SPIFFE URIs', 'URI:https://example.com/a', ['no SPIFFE identity', 'https://example.com/a']],
  ['an empty SAN string', '', ['no SPIFFE identity']],
  ['no SAN extension', undefined, ['no SPIFFE identity']],
];

test('the rule accepts exactly one SPIFFE identity', () => {
  for (const [name, san, uri] of accepted) {
    const r = spiffeIdentityOfSans(san);
    assert.ok(r.ok, name);
    assert.equal(r.identity.uri, uri, name);
    assert.deepEqual(r.identity.id, { trustDomain: 'cluster.local', namespace: 'default', serviceAccount: 'x' }, name);
    assert.equal(spiffeUriOfSans(san), uri, name);
    assert.equal(requireSpiffeIdentity(san, 'client').uri, uri, name);
  }
});

test('the rule refuses zero, several or malformed SPIFFE identities, naming the SANs', () => {
  for (const [name, san, mentions] of refused) {
    const r = spiffeIdentityOfSans(san);
    assert.equal(r.ok, false, name);
    assert.equal(spiffeUriOfSans(san), undefined, `${name}: no identity for logs/telemetry either`);
    assert.throws(
      () => requireSpiffeIdentity(san, 'client'),
      (err) => {
        assert.ok(isMeshError(err, 'CERT_INVALID'), name);
        assert.match(err.message, /^client certificate refused: /, name);
        for (const m of mentions) assert.ok(err.message.includes(m), `${name}: "${err.message}" should mention ${m}`);
        return true;
      },
    );
  }
});

function peer(san: string | undefined, eku?: string[]): PeerCertificate {
  return { ...(san === undefined ? {} : { subjectaltname: san }), ...(eku ? { ext_key_usage: eku } : {}) } as unknown as PeerCertificate;
}

test('outbound: a server with several SPIFFE identities is refused even when one is expected', () => {
  for (const san of [`URI:${EVIL}, URI:${X}`, `URI:${X}, URI:${EVIL}`]) {
    const err = checkServerSpiffeIdentity(peer(san), [X]);
    assert.ok(isMeshError(err, 'CERT_INVALID'), san);
    assert.match(err.message, /ambiguous/);
    // Expecting both does not help either: the peer has no single identity to match.
    assert.ok(isMeshError(checkServerSpiffeIdentity(peer(san), [X, EVIL]), 'CERT_INVALID'), san);
  }
  assert.equal(checkServerSpiffeIdentity(peer(`URI:${X}, URI:${X}, DNS:x`), [EVIL, X]), undefined);
  assert.ok(isMeshError(checkServerSpiffeIdentity(peer(undefined), [X]), 'CERT_INVALID'));
});

test('the outbound rule applies to every table row the same way as the inbound one', () => {
  for (const [name, san, uri] of accepted) assert.equal(checkServerSpiffeIdentity(peer(san), [uri]), undefined, name);
  for (const [name, san] of refused) assert.ok(isMeshError(checkServerSpiffeIdentity(peer(san), [X, EVIL]), 'CERT_INVALID'), name);
});
