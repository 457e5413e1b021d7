// Unit tests of the X.509 primitives: roots, leaves with SPIFFE SANs, CSRs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { createCsr, generateKeyPair, splitPemBundle, uriSans } from '../../src/identity/x509.js';
import { makeTestPki } from '../helpers/certs.js';

test('leaf certificates chain to the root and carry the SPIFFE URI SAN', async () => {
  const pki = await makeTestPki();
  const leaf = await pki.issue('spiffe://cluster.local/ns/default/sa/echo');
  const cert = new X509Certificate(leaf.certChainPem);
  const root = new X509Certificate(pki.rootPem);
  assert.ok(cert.checkIssued(root));
  assert.ok(cert.verify(root.publicKey));
  assert.deepEqual(uriSans(cert), ['spiffe://cluster.local/ns/default/sa/echo']);
  assert.equal(cert.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
  assert.equal(root.ca, true);
  assert.equal(cert.ca, false);
});

test('a leaf from another root does not verify', async () => {
  const a = await makeTestPki();
  const b = await makeTestPki();
  const leaf = await b.issue('spiffe://cluster.local/ns/x/sa/y');
  const cert = new X509Certificate(leaf.certChainPem);
  assert.equal(cert.verify(new X509Certificate(a.rootPem).publicKey), false);
});

test('CSR is PEM with the SPIFFE ID', async () => {
  const csr = await createCsr('spiffe://td/ns/a/sa/b', await generateKeyPair());
  assert.match(csr, /^-----BEGIN CERTIFICATE REQUEST-----/);
});

test('splitPemBundle splits concatenated certificates', async () => {
  const a = await makeTestPki();
  const b = await makeTestPki();
  assert.equal(splitPemBundle(a.rootPem + b.rootPem).length, 2);
  assert.equal(splitPemBundle('garbage').length, 0);
});
