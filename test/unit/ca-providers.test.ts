// Unit tests of the local CA providers: the built-in root (persisted, reused, guarded) and the
// Istio plug-in CA files (EC and RSA, one or two intermediates, each load error naming its file).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BuiltinCaClient,
  FileCaClient,
  createCaClient,
  createCsr,
  createRootCa,
  generateKeyPair,
  privateKeyToPem,
  splitPemBundle,
  uriSans,
  workloadCertificateFromChain,
} from '../../src/identity/index.js';
import type { CaConfig } from '../../src/config/types.js';
import { isMeshError } from '../../src/common/errors.js';
import { silentLogger } from '../../src/common/log.js';
import { makePluginCaDir } from '../helpers/plugin-ca-files.js';

const ID = 'spiffe://cluster.local/ns/default/sa/echo';
const logger = silentLogger();

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'ambit-ca-test-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function csrFor(id: string): Promise<{ csr: string; keyPem: string }> {
  const keys = await generateKeyPair();
  return { csr: await createCsr(id, keys), keyPem: privateKeyToPem(keys.privateKey) };
}

function issuedBy(child: string, parent: string): boolean {
  const c = new X509Certificate(child);
  const p = new X509Certificate(parent);
  return c.checkIssued(p) && c.verify(p.publicKey);
}

function caConfig(overrides: Partial<CaConfig>): CaConfig {
  return { provider: 'builtin', stateDir: '', pluginCertsDir: '', address: '', rootCa: '', secretTtlSeconds: 3600, ...overrides };
}

function expectCode(code: string, fileHint?: string): (err: unknown) => boolean {
  return (err) => {
    assert.ok(isMeshError(err), `expected MeshError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (fileHint) assert.ok(err.message.includes(fileHint), `message "${err.message}" should name ${fileHint}`);
    return true;
  };
}

test('builtin CA creates its root on first start (dir 0700, key 0600) and reuses it later', async (t) => {
  const stateDir = join(tempDir(t), 'nested', 'ca');
  const first = await BuiltinCaClient.open({ stateDir, trustDomain: 'cluster.local', logger });
  assert.equal(statSync(stateDir).mode & 0o777, 0o700);
  assert.equal(statSync(join(stateDir, 'root-key.pem')).mode & 0o777, 0o600);
  const root = new X509Certificate(readFileSync(join(stateDir, 'root-cert.pem'), 'utf8'));
  assert.equal(root.subject, 'O=cluster.local');
  assert.equal(root.ca, true);
  assert.equal(root.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
  const years = (Date.parse(root.validTo) - Date.now()) / (365 * 24 * 3600_000);
  assert.ok(years > 9.9 && years < 10.1, `root lifetime ${years} years`);

  const second = await BuiltinCaClient.open({ stateDir, trustDomain: 'other', logger });
  assert.equal(second.rootCertPem, first.rootCertPem, 'the persisted root is reused, not regenerated');
  // A leaf from the second instance chains to the root the first one created.
  const { csr } = await csrFor(ID);
  const chain = await second.sign(csr, ID, 3600);
  assert.ok(issuedBy(chain[0]!, first.rootCertPem));
});

test('builtin CA subject defaults to O=ambit', async (t) => {
  const ca = await createCaClient(caConfig({ stateDir: tempDir(t) }), logger);
  assert.equal(ca.name, 'builtin');
  assert.equal(new X509Certificate((ca as BuiltinCaClient).rootCertPem).subject, 'O=ambit');
});

test('builtin CA issues [leaf, root] with the SPIFFE SAN, a P-256 key and the requested TTL', async (t) => {
  const ca = await BuiltinCaClient.open({ stateDir: tempDir(t), trustDomain: 'cluster.local', logger });
  const { csr, keyPem } = await csrFor(ID);
  const before = Date.now();
  const chain = await ca.sign(csr, ID, 3600);
  assert.equal(chain.length, 2);
  assert.equal(chain[1], ca.rootCertPem);
  const leaf = new X509Certificate(chain[0]!);
  assert.ok(issuedBy(chain[0]!, ca.rootCertPem));
  assert.deepEqual(uriSans(leaf), [ID]);
  assert.equal(leaf.ca, false);
  assert.ok(leaf.checkPrivateKey(createPrivateKey(keyPem)), 'the leaf certifies the CSR key');
  assert.deepEqual(leaf.keyUsage?.sort(), ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']);
  const lifetimeFromNow = Date.parse(leaf.validTo) - before;
  assert.ok(lifetimeFromNow > 3598_000 && lifetimeFromNow <= 3601_000, `notAfter ${leaf.validTo}`);
  const cert = workloadCertificateFromChain(ID, chain, keyPem);
  assert.equal(cert.identity, ID);
});

test('builtin CA caps the leaf lifetime at its own remaining life', async (t) => {
  const stateDir = tempDir(t);
  const rootCa = await BuiltinCaClient.open({ stateDir, logger });
  const rootNotAfter = Date.parse(new X509Certificate(rootCa.rootCertPem).validTo);
  const late = await BuiltinCaClient.open({ stateDir, logger, now: () => rootNotAfter - 3600_000 });
  const { csr } = await csrFor(ID);
  const chain = await late.sign(csr, ID, 24 * 3600);
  const leafNotAfter = Date.parse(new X509Certificate(chain[0]!).validTo);
  assert.ok(leafNotAfter <= rootNotAfter, 'leaf never outlives the root');
  assert.ok(leafNotAfter > rootNotAfter - 2000);
});

test('builtin CA refuses a CSR whose SAN is not the requested identity, or whose signature is bad', async (t) => {
  const ca = await BuiltinCaClient.open({ stateDir: tempDir(t), logger });
  const { csr } = await csrFor('spiffe://cluster.local/ns/default/sa/other');
  await assert.rejects(ca.sign(csr, ID, 3600), expectCode('CA_ERROR', ID));

  const good = (await csrFor(ID)).csr;
  const der = Buffer.from(good.replace(/-----[^-]+-----|\s/g, ''), 'base64');
  der[der.length - 3] = der[der.length - 3]! ^ 0xff; // flip a byte of the signature value
  const tampered = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
  await assert.rejects(ca.sign(tampered, ID, 3600), expectCode('CA_ERROR'));
  await assert.rejects(ca.sign('not a csr', ID, 3600), expectCode('CA_ERROR'));
  await assert.rejects(ca.sign(good, ID, 0), expectCode('CA_ERROR'));
});

test('builtin CA names the missing or corrupt root file', async (t) => {
  const stateDir = tempDir(t);
  await BuiltinCaClient.open({ stateDir, logger });
  const keyPath = join(stateDir, 'root-key.pem');
  const certPath = join(stateDir, 'root-cert.pem');
  const keyPem = readFileSync(keyPath, 'utf8');

  writeFileSync(keyPath, 'garbage');
  await assert.rejects(BuiltinCaClient.open({ stateDir, logger }), expectCode('CA_CONFIG', keyPath));

  writeFileSync(keyPath, (await createRootCa({ subject: 'O=x', validityMs: 3600_000 })).keyPem);
  await assert.rejects(BuiltinCaClient.open({ stateDir, logger }), expectCode('CA_CONFIG', 'does not match'));

  unlinkSync(keyPath);
  await assert.rejects(BuiltinCaClient.open({ stateDir, logger }), expectCode('CA_CONFIG', keyPath));

  writeFileSync(keyPath, keyPem);
  writeFileSync(certPath, 'garbage');
  await assert.rejects(BuiltinCaClient.open({ stateDir, logger }), expectCode('CA_CONFIG', certPath));
});

test('createCaClient: istiod with an unusable address is CA_CONFIG', async () => {
  await assert.rejects(createCaClient(caConfig({ provider: 'istiod' }), logger), expectCode('CA_CONFIG', 'https'));
});

for (const keyKind of ['ec-p256', 'rsa-2048'] as const) {
  test(`file CA (${keyKind}) issues [leaf, ca-cert, root] and the leaf key is EC P-256`, async (t) => {
    const pki = await makePluginCaDir({ keyKind, dir: tempDir(t) });
    const ca = await createCaClient(caConfig({ provider: 'file', pluginCertsDir: pki.dir }), logger);
    assert.equal(ca.name, 'file');
    const { csr, keyPem } = await csrFor(ID);
    const chain = await ca.sign(csr, ID, 3600);
    assert.equal(chain.length, 3);
    const issuing = pki.intermediates[0]!;
    assert.equal(chain[1], issuing.certPem);
    assert.equal(chain[2], pki.root.certPem);
    assert.ok(issuedBy(chain[0]!, issuing.certPem), 'leaf signed by ca-cert');
    assert.ok(issuedBy(issuing.certPem, pki.root.certPem));
    const leaf = new X509Certificate(chain[0]!);
    assert.equal(leaf.publicKey.asymmetricKeyType, 'ec');
    assert.equal(leaf.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    const cert = workloadCertificateFromChain(ID, chain, keyPem);
    assert.equal(splitPemBundle(cert.certChainPem).length, 2, 'leaf + ca-cert, no root');
    assert.equal(cert.rootsPem, pki.root.certPem);
  });
}

test('file CA with two intermediates returns them in order, root excluded from the middle', async (t) => {
  const pki = await makePluginCaDir({ depth: 2, dir: tempDir(t) });
  const ca = await FileCaClient.open({ dir: pki.dir, logger });
  const { csr } = await csrFor(ID);
  const chain = await ca.sign(csr, ID, 3600);
  assert.deepEqual(chain.slice(1), [pki.intermediates[0]!.certPem, pki.intermediates[1]!.certPem, pki.root.certPem]);
  assert.ok(issuedBy(chain[1]!, chain[2]!));
  assert.ok(issuedBy(chain[2]!, chain[3]!));
});

test('file CA caps the leaf at the earliest notAfter on its path', async (t) => {
  const pki = await makePluginCaDir({ dir: tempDir(t) });
  const caNotAfter = Date.parse(new X509Certificate(pki.intermediates[0]!.certPem).validTo);
  const ca = await FileCaClient.open({ dir: pki.dir, logger, now: () => caNotAfter - 60_000 });
  const { csr } = await csrFor(ID);
  const chain = await ca.sign(csr, ID, 24 * 3600);
  assert.ok(Date.parse(new X509Certificate(chain[0]!).validTo) <= caNotAfter);
});

test('file CA load errors name the offending file', async (t) => {
  for (const file of ['ca-cert.pem', 'ca-key.pem', 'root-cert.pem', 'cert-chain.pem']) {
    const pki = await makePluginCaDir({ dir: tempDir(t) });
    unlinkSync(join(pki.dir, file));
    await assert.rejects(FileCaClient.open({ dir: pki.dir, logger }), expectCode('CA_CONFIG', join(pki.dir, file)));
  }

  const pki = await makePluginCaDir({ dir: tempDir(t) });
  const other = await makePluginCaDir({ dir: tempDir(t) });
  const path = (f: string): string => join(pki.dir, f);
  const original = (f: string): string => readFileSync(path(f), 'utf8');
  const caKey = original('ca-key.pem');
  const rootCert = original('root-cert.pem');
  const chain = original('cert-chain.pem');

  writeFileSync(path('ca-key.pem'), other.intermediates[0]!.keyPem);
  await assert.rejects(FileCaClient.open({ dir: pki.dir, logger }), expectCode('CA_CONFIG', path('ca-key.pem')));
  writeFileSync(path('ca-key.pem'), 'not a key');
  await assert.rejects(FileCaClient.open({ dir: pki.dir, logger }), expectCode('CA_CONFIG', path('ca-key.pem')));
  writeFileSync(path('ca-key.pem'), caKey);

  writeFileSync(path('root-cert.pem'), other.root.certPem);
  writeFileSync(path('cert-chain.pem'), pki.intermediates[0]!.certPem + other.root.certPem);
  await assert.rejects(FileCaClient.open({ dir: pki.dir, logger }), expectCode('CA_CONFIG', path('root-cert.pem')));
  writeFileSync(path('root-cert.pem'), rootCert);

  writeFileSync(path('cert-chain.pem'), other.intermediates[0]!.certPem + rootCert);
  await assert.rejects(FileCaClient.open({ dir: pki.dir, logger }), expectCode('CA_CONFIG', path('cert-chain.pem')));
  writeFileSync(path('cert-chain.pem'), 'no pem here');
  await assert.rejects(FileCaClient.open({ dir: pki.dir, logger }), expectCode('CA_CONFIG', path('cert-chain.pem')));
  writeFileSync(path('cert-chain.pem'), chain);

  // A leaf (not a CA) as ca-cert.pem.
  const keys = await generateKeyPair();
  const { issueCertificate } = await import('../../src/identity/index.js');
  const leafPem = await issueCertificate({
    ca: pki.intermediates[0]!,
    publicKey: keys.publicKey,
    uris: [ID],
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 3600_000),
  });
  writeFileSync(path('ca-cert.pem'), leafPem);
  writeFileSync(path('ca-key.pem'), privateKeyToPem(keys.privateKey));
  await assert.rejects(FileCaClient.open({ dir: pki.dir, logger }), expectCode('CA_CONFIG', path('ca-cert.pem')));
});
