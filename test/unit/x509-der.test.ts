// Unit tests of the DER encoder and the X.509/PKCS#10 building and CSR reading on top of it: known
// encodings, and certificates and requests read back by Node, openssl and @peculiar/x509.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import 'reflect-metadata'; // before @peculiar/x509 (it needs the polyfill at load)
import * as peculiar from '@peculiar/x509';
import { namedBits, oid, readTlv, smallInteger, tlv, unsignedInteger, x509Time } from '../../src/identity/der.js';
import { createCsr, createRootCa, generateKeyPair, issueCertificate, readCsr } from '../../src/identity/x509.js';
import { buildCsr, encodeName, ipAddressBytes, keyIdentifier, parseCsr, spkiDer, subjectAltName, toPem } from '../../src/identity/x509-der.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

test('DER encodings of the universal types X.509 uses', () => {
  const cases: [string, Buffer, string][] = [
    ['OID ecdsa-with-SHA256', oid('1.2.840.10045.4.3.2'), '06082a8648ce3d040302'],
    ['OID subjectAltName', oid('2.5.29.17'), '0603551d11'],
    ['INTEGER 0', smallInteger(0), '020100'],
    ['INTEGER 2', smallInteger(2), '020102'],
    ['INTEGER 128 gets a sign byte', smallInteger(128), '02020080'],
    ['INTEGER drops leading zero bytes', unsignedInteger(Buffer.from('00007f', 'hex')), '02017f'],
    ['INTEGER keeps one zero before a high bit', unsignedInteger(Buffer.from('0080', 'hex')), '02020080'],
    ['KeyUsage digitalSignature|keyEncipherment', namedBits([0, 2]), '030205a0'],
    ['KeyUsage keyCertSign|cRLSign', namedBits([5, 6]), '03020106'],
    ['UTCTime through 2049', x509Time(new Date(Date.UTC(2049, 11, 31, 23, 59, 59, 999))), '170d3439313233313233353935395a'],
    ['GeneralizedTime from 2050', x509Time(new Date(Date.UTC(2050, 0, 1))), '180f32303530303130313030303030305a'],
    ['long form length', tlv(0x04, Buffer.alloc(200)).subarray(0, 3), '0481c8'],
    ['empty Name', encodeName(''), '3000'],
    ['O=cluster.local as PrintableString', encodeName('O=cluster.local'), `301831163014060355040a130d${Buffer.from('cluster.local').toString('hex')}`],
  ];
  for (const [what, got, want] of cases) assert.equal(hex(got), want, what);
  const node = readTlv(tlv(0x30, Buffer.alloc(300)));
  assert.deepEqual([node.tag, node.contentStart, node.end], [0x30, 4, 304]);
  assert.throws(() => readTlv(Buffer.from('3005010100', 'hex')), /truncated/);
  assert.throws(() => readTlv(Buffer.from('3080', 'hex')), /indefinite/);
});

test('subject strings: UTF8String when not printable, refused when not understood', () => {
  assert.equal(hex(encodeName('O=é').subarray(-4)), '0c02c3a9');
  for (const bad of ['cluster.local', 'X=y', 'O=', 'O=a+b', 'O="q"']) assert.throws(() => encodeName(bad), /unsupported subject/, bad);
});

test('iPAddress SAN bytes', () => {
  const cases: [string, string][] = [
    ['10.1.2.3', '0a010203'],
    ['::1', '00000000000000000000000000000001'],
    ['fd00::1:2', 'fd000000000000000000000000010002'],
    ['::ffff:1.2.3.4', '00000000000000000000ffff01020304'],
    ['2001:db8:0:0:1:0:0:1', '20010db8000000000001000000000001'],
  ];
  for (const [ip, want] of cases) assert.equal(hex(ipAddressBytes(ip)), want, ip);
  assert.throws(() => ipAddressBytes('example.com'), /not an IP address/);
});

test('root, leaf and intermediate read back by openssl: extensions, SANs, key identifiers, chain', async (t) => {
  const root = await createRootCa({ subject: 'O=cluster.local', validityMs: 3600_000 });
  const keys = await generateKeyPair();
  const now = new Date();
  const later = new Date(now.getTime() + 600_000);
  const leafPem = await issueCertificate({ ca: root, publicKey: keys.publicKey, uris: ['spiffe://cluster.local/ns/a/sa/b'], dnsNames: ['istiod.istio-system.svc'], ipAddresses: ['10.1.2.3', '::1'], notBefore: now, notAfter: later });
  const interPem = await issueCertificate({ ca: root, publicKey: keys.publicKey, uris: [], isCa: true, subject: 'O=inter', notBefore: now, notAfter: later });
  const text = (pem: string): string => execFileSync('openssl', ['x509', '-noout', '-text'], { input: pem }).toString();
  const r = text(root.certPem);
  assert.match(r, /Version: 3 \(0x2\)/);
  assert.match(r, /Issuer: O\s?=\s?cluster.local\n\s+Validity/);
  assert.match(r, /Basic Constraints: critical\n\s+CA:TRUE\n/);
  assert.match(r, /Key Usage: critical\n\s+Certificate Sign, CRL Sign\n/);
  const l = text(leafPem);
  assert.match(l, /Subject: \n|Subject:\s*\n/);
  assert.match(l, /Basic Constraints: critical\n\s+CA:FALSE\n/);
  assert.match(l, /Key Usage: critical\n\s+Digital Signature, Key Encipherment\n/);
  assert.match(l, /Extended Key Usage: \n\s+TLS Web Server Authentication, TLS Web Client Authentication\n/);
  assert.match(l, /Subject Alternative Name: critical\n\s+URI:spiffe:\/\/cluster.local\/ns\/a\/sa\/b, DNS:istiod.istio-system.svc, IP Address:10.1.2.3, IP Address:0:0:0:0:0:0:0:1\n/);
  assert.match(l, /Signature Algorithm: ecdsa-with-SHA256/);
  assert.match(text(interPem), /Basic Constraints: critical\n\s+CA:TRUE, pathlen:0\n/);
  // AKI of the leaf = SKI of the root (RFC 5280 method 1, as @peculiar/x509 computed it).
  const ski = new peculiar.X509Certificate(root.certPem).getExtension(peculiar.SubjectKeyIdentifierExtension)!.keyId;
  const aki = new peculiar.X509Certificate(leafPem).getExtension(peculiar.AuthorityKeyIdentifierExtension)!.keyId;
  assert.equal(aki, ski);
  assert.equal(ski, hex(keyIdentifier(spkiDer(new X509Certificate(root.certPem).publicKey))));
  const leaf = new X509Certificate(leafPem);
  assert.ok(leaf.checkIssued(new X509Certificate(root.certPem)));
  assert.ok(leaf.verify(new X509Certificate(root.certPem).publicKey));
  assert.equal(Date.parse(leaf.validTo), Math.floor(later.getTime() / 1000) * 1000, 'whole seconds, UTC');
  assert.match(leafPem, /^-----BEGIN CERTIFICATE-----\n([A-Za-z0-9+/=]{64}\n)*[A-Za-z0-9+/=]{1,64}\n-----END CERTIFICATE-----\n$/);
  // RSA roots (plug-in CA tests) sign with sha256WithRSAEncryption.
  const rsa = await createRootCa({ subject: 'O=rsa', validityMs: 3600_000, keyKind: 'rsa-2048' });
  const rsaLeaf = await issueCertificate({ ca: rsa, publicKey: keys.publicKey, uris: ['spiffe://td/ns/x/sa/y'], notBefore: now, notAfter: later });
  assert.match(text(rsaLeaf), /Signature Algorithm: sha256WithRSAEncryption/);
  assert.ok(new X509Certificate(rsaLeaf).verify(new X509Certificate(rsa.certPem).publicKey));
  t.diagnostic('openssl, Node and @peculiar/x509 agree');
});

test('CSRs: openssl verifies them, @peculiar/x509 reads the same SAN, readCsr round-trips', async () => {
  const keys = await generateKeyPair();
  const csr = await createCsr('spiffe://cluster.local/ns/a/sa/b', keys);
  const out = execFileSync('openssl', ['req', '-noout', '-verify', '-text'], { input: csr, stderr: 'pipe' } as never).toString();
  assert.match(out, /Requested Extensions:\n\s+X509v3 Subject Alternative Name: critical\n\s+URI:spiffe:\/\/cluster.local\/ns\/a\/sa\/b\n/);
  const p = new peculiar.Pkcs10CertificateRequest(csr);
  assert.equal(await p.verify(), true);
  assert.equal(p.subject, '');
  assert.deepEqual((await readCsr(csr)).uris, ['spiffe://cluster.local/ns/a/sa/b']);
});

test('readCsr refuses a bad signature, a non-P-256 key and garbage; keeps every URI SAN', async () => {
  const keys = await generateKeyPair();
  const good = await createCsr('spiffe://td/ns/a/sa/b', keys);
  const der = Buffer.from(good.replace(/-----[^-]+-----|\s/g, ''), 'base64');
  der[der.length - 3]! ^= 0x01; // inside the signature
  await assert.rejects(readCsr(toPem('CERTIFICATE REQUEST', der)), /CSR signature does not verify/);
  const tampered = Buffer.from(good.replace(/-----[^-]+-----|\s/g, ''), 'base64');
  const at = tampered.indexOf(Buffer.from('spiffe://td'));
  tampered[at + 9] = 'x'.charCodeAt(0); // the SAN, under the signature
  await assert.rejects(readCsr(toPem('CERTIFICATE REQUEST', tampered)), /CSR signature does not verify/);
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const rsaCsr = toPem('CERTIFICATE REQUEST', buildCsr([subjectAltName({ uris: ['spiffe://td/ns/a/sa/b'] }, true)], rsa.privateKey, rsa.publicKey));
  await assert.rejects(readCsr(rsaCsr), /CSR key must be EC P-256, got rsa/);
  const p384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
  await assert.rejects(readCsr(toPem('CERTIFICATE REQUEST', buildCsr([], p384.privateKey, p384.publicKey))), /CSR key must be EC P-256, got ec secp384r1/);
  for (const bad of ['', 'garbage', '-----BEGIN CERTIFICATE REQUEST-----\nMAA=\n-----END CERTIFICATE REQUEST-----']) await assert.rejects(readCsr(bad), Error, JSON.stringify(bad));
  const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const two = toPem('CERTIFICATE REQUEST', buildCsr([subjectAltName({ uris: ['spiffe://td/ns/a/sa/b', 'spiffe://td/ns/c/sa/d'], dnsNames: ['x.example'] }, true)], ec.privateKey, ec.publicKey));
  assert.deepEqual(parseCsr(two).uris, ['spiffe://td/ns/a/sa/b', 'spiffe://td/ns/c/sa/d']);
});
