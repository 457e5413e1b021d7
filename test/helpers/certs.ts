// Test PKI made at runtime: a mesh root plus SPIFFE leaf certificates, built with the same
// primitives the CA providers use. Nothing is checked in; every run gets fresh keys.

import { createRootCa, generateKeyPair, issueCertificate, privateKeyToPem, type SigningCa } from '../../src/identity/x509.js';

export interface TestCert {
  /** Leaf (+ intermediates) PEM, no root. */
  readonly certChainPem: string;
  readonly keyPem: string;
  readonly rootPem: string;
}

export interface TestPki {
  readonly ca: SigningCa;
  readonly rootPem: string;
  /** A leaf for `spiffeId`; `extraUris` adds more URI SANs after it (ambiguous-identity tests). */
  issue(spiffeId: string, opts?: { notBefore?: Date; notAfter?: Date; extraUris?: readonly string[] }): Promise<TestCert>;
}

export async function makeTestPki(subject = 'O=cluster.local'): Promise<TestPki> {
  return pkiOf(await createRootCa({ subject, validityMs: 24 * 3600_000 }));
}

/** A TestPki over an existing CA, e.g. an agent's built-in root (root-cert.pem / root-key.pem). */
export function pkiOf(ca: SigningCa): TestPki {
  return {
    ca,
    rootPem: ca.certPem,
    async issue(spiffeId, opts = {}) {
      const keys = await generateKeyPair();
      const now = Date.now();
      const certPem = await issueCertificate({
        ca,
        publicKey: keys.publicKey,
        uris: [spiffeId, ...(opts.extraUris ?? [])],
        notBefore: opts.notBefore ?? new Date(now - 60_000),
        notAfter: opts.notAfter ?? new Date(now + 3600_000),
      });
      return { certChainPem: certPem, keyPem: privateKeyToPem(keys.privateKey), rootPem: ca.certPem };
    },
  };
}
