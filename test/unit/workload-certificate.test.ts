// Unit tests of building a WorkloadCertificate from a CA chain response (IstioCertificateResponse
// layout: leaf, intermediates…, trust bundle last).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  createCsr,
  createRootCa,
  generateKeyPair,
  issueCertificate,
  privateKeyToPem,
  splitPemBundle,
  workloadCertificateFromChain,
  dumpPemBundle,
} from '../../src/identity/index.js';
import { isMeshError } from '../../src/common/errors.js';

const ID = 'spiffe://cluster.local/ns/default/sa/echo';

async function pki() {
  const root = await createRootCa({ subject: 'O=root', validityMs: 24 * 3600_000 });
  const intKeys = await generateKeyPair();
  const now = Date.now();
  const intermediate = {
    certPem: await issueCertificate({
      ca: root,
      publicKey: intKeys.publicKey,
      uris: [],
      isCa: true,
      notBefore: new Date(now - 60_000),
      notAfter: new Date(now + 3600_000),
    }),
    keyPem: privateKeyToPem(intKeys.privateKey),
  };
  const keys = await generateKeyPair();
  const issue = (uris: string[]) =>
    issueCertificate({ ca: intermediate, publicKey: keys.publicKey, uris, notBefore: new Date(now - 60_000), notAfter: new Date(now + 1800_000) });
  return { root, intermediate, keyPem: privateKeyToPem(keys.privateKey), issue };
}

test('splits leaf / intermediates / trust bundle, several roots allowed', async () => {
  const p = await pki();
  const other = await createRootCa({ subject: 'O=other', validityMs: 3600_000 });
  // A non-SPIFFE URI SAN next to the identity is ignored (the one-identity rule of src/tls).
  const leaf = await p.issue([ID, 'https://example.com/alias']);
  const cert = workloadCertificateFromChain(ID, [leaf, p.intermediate.certPem, p.root.certPem + other.certPem], p.keyPem);
  assert.equal(cert.identity, ID);
  assert.deepEqual(splitPemBundle(cert.certChainPem), [leaf, p.intermediate.certPem]);
  assert.deepEqual(splitPemBundle(cert.rootsPem), [p.root.certPem, other.certPem]);
  assert.equal(cert.keyPem, p.keyPem);
  assert.ok(cert.notAfter.getTime() - cert.notBefore.getTime() === 1860_000);
  assert.match(cert.serialNumber, /^[0-9A-F]+$/);
  assert.ok(Object.isFrozen(cert));
  assert.equal(dumpPemBundle(cert.rootsPem).length, 2);
});

test('a one-element response has no root certificate present', async () => {
  const p = await pki();
  const leaf = await p.issue([ID]);
  assert.throws(
    () => workloadCertificateFromChain(ID, [leaf], p.keyPem),
    (err) => isMeshError(err, 'CA_ERROR') && /no root certificate present/.test(err.message),
  );
  assert.throws(() => workloadCertificateFromChain(ID, [], p.keyPem), (err) => isMeshError(err, 'CA_ERROR'));
  assert.throws(() => workloadCertificateFromChain(ID, [leaf, 'not pem'], p.keyPem), /no root certificate present/);
});

test("the leaf's only SPIFFE identity must be the requested one", async () => {
  const p = await pki();
  const leaf = await p.issue(['spiffe://cluster.local/ns/default/sa/other']);
  assert.throws(
    () => workloadCertificateFromChain(ID, [leaf, p.root.certPem], p.keyPem),
    (err) => isMeshError(err, 'CA_ERROR') && err.message.includes('sa/other'),
  );
  const noSan = await p.issue([]);
  assert.throws(() => workloadCertificateFromChain(ID, [noSan, p.root.certPem], p.keyPem), (err) => isMeshError(err, 'CA_ERROR'));
  // Peers refuse a leaf with two SPIFFE identities, so it is refused here too, in either order.
  for (const uris of [[ID, 'spiffe://cluster.local/ns/alias/sa/x'], ['spiffe://cluster.local/ns/alias/sa/x', ID]]) {
    const two = await p.issue(uris);
    assert.throws(
      () => workloadCertificateFromChain(ID, [two, p.root.certPem], p.keyPem),
      (err) => isMeshError(err, 'CA_ERROR') && err.message.includes('ns/alias/sa/x'),
    );
  }
});

test('the leaf must certify the private key we hold', async () => {
  const p = await pki();
  const leaf = await p.issue([ID]);
  const stranger = privateKeyToPem((await generateKeyPair()).privateKey);
  assert.throws(
    () => workloadCertificateFromChain(ID, [leaf, p.root.certPem], stranger),
    (err) => isMeshError(err, 'CA_ERROR') && /private key/.test(err.message),
  );
  // Sanity: a CSR alone is not a certificate.
  const csr = await createCsr(ID, await generateKeyPair());
  assert.throws(() => workloadCertificateFromChain(ID, [csr, p.root.certPem], p.keyPem), (err) => isMeshError(err, 'CA_ERROR'));
});
