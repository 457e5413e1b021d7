// TLS material for the fake API server: a fresh CA and a serving certificate for 127.0.0.1 and
// localhost signed by it, so clients verify the server exactly as they would a real one.

import 'reflect-metadata'; // before @peculiar/x509 (it needs the polyfill at load)
import { randomBytes } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { createRootCa, generateKeyPair, importSigningKey, privateKeyToPem } from '../../src/identity/x509.js';

export /** A CA and a server certificate for 127.0.0.1/localhost signed by it (fresh keys every run). */
async function serverCertificate(): Promise<{ certPem: string; keyPem: string; caPem: string }> {
  const ca = await createRootCa({ subject: 'CN=fake-kube-ca', validityMs: 3600_000 });
  const keys = await generateKeyPair();
  const signingKey = await importSigningKey(ca.keyPem);
  const issuer = new x509.X509Certificate(ca.certPem);
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomBytes(8).toString('hex').replace(/^[89a-f]/, '1'),
    subject: 'CN=kube-apiserver',
    issuer: issuer.subject,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + 3600_000),
    signingKey,
    publicKey: keys.publicKey,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([
        { type: 'ip', value: '127.0.0.1' },
        { type: 'dns', value: 'localhost' },
      ]),
      await x509.AuthorityKeyIdentifierExtension.create(issuer, false),
    ],
  });
  return { certPem: cert.toString('pem'), keyPem: privateKeyToPem(keys.privateKey), caPem: ca.certPem };
}
