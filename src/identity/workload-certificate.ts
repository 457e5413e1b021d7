// A workload's mTLS material as the proxy uses it: leaf + intermediates, PKCS#8 key, trust
// bundle; built from a CA chain response laid out like IstioCertificateResponse.cert_chain.

import { X509Certificate, createPrivateKey } from 'node:crypto';
import { MeshError } from '../common/errors.js';
import { certValidity, spiffeUriSans, splitPemBundle } from './x509.js';

export interface WorkloadCertificate {
  /** The SPIFFE URI this certificate proves. */
  readonly identity: string;
  /** Leaf + intermediates, no root (what a TLS peer is sent). */
  readonly certChainPem: string;
  /** PKCS#8 PEM private key of the leaf. */
  readonly keyPem: string;
  /** Trust bundle: one or more root PEMs. */
  readonly rootsPem: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** Leaf serial number, uppercase hex as Node prints it. */
  readonly serialNumber: string;
}

/**
 * Builds a WorkloadCertificate from a CA response `chain` (element 0 the leaf, 1..n-2
 * intermediates, last the trust bundle which may hold several roots), like ztunnel does.
 * Throws MeshError CA_ERROR when the response is unusable.
 */
export function workloadCertificateFromChain(identity: string, chain: readonly string[], keyPem: string): WorkloadCertificate {
  if (chain.length === 0) throw new MeshError('CA_ERROR', `CA returned an empty certificate chain for ${identity}`);
  if (chain.length === 1) throw new MeshError('CA_ERROR', `CA response for ${identity} has no root certificate present`);
  const leafPems = splitPemBundle(chain[0] as string);
  if (leafPems.length !== 1) {
    throw new MeshError('CA_ERROR', `CA response for ${identity}: element 0 must hold exactly one certificate, got ${leafPems.length}`);
  }
  const intermediates = chain.slice(1, -1).flatMap((pem) => splitPemBundle(pem));
  const roots = splitPemBundle(chain[chain.length - 1] as string);
  if (roots.length === 0) throw new MeshError('CA_ERROR', `CA response for ${identity} has no root certificate present`);

  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(leafPems[0] as string);
    for (const pem of [...intermediates, ...roots]) new X509Certificate(pem);
  } catch (err) {
    throw new MeshError('CA_ERROR', `CA response for ${identity} holds an unparseable certificate`, { cause: err });
  }
  // Peers accept a leaf only if it carries exactly one SPIFFE identity (src/tls/san-identity.ts):
  // refuse here anything they would refuse, rather than present it on every connection.
  const claimed = spiffeUriSans(leaf.subjectAltName);
  if (claimed.length !== 1 || claimed[0] !== identity) {
    throw new MeshError('CA_ERROR', `CA issued a certificate for [${claimed.join(', ') || '(no SPIFFE URI SAN)'}] but exactly ${identity} was requested`);
  }
  // The leaf must be for OUR key: a CA answer for some other key would make the TLS context unusable.
  if (!leaf.checkPrivateKey(createPrivateKey(keyPem))) {
    throw new MeshError('CA_ERROR', `CA response for ${identity}: the leaf does not match the private key of the CSR`);
  }
  const { notBefore, notAfter } = certValidity(leaf);
  return Object.freeze({
    identity,
    certChainPem: [leafPems[0] as string, ...intermediates].join(''),
    keyPem,
    rootsPem: roots.join(''),
    notBefore,
    notAfter,
    serialNumber: leaf.serialNumber,
  });
}

/**
 * One certificate in /config_dump `certificates[].certChain` / `rootCerts` (ztunnel src/admin.rs).
 */
export interface CertDump {
  /** base64 of the PEM text. */
  readonly pem: string;
  readonly serialNumber: string;
  /** RFC 3339. */
  readonly validFrom: string;
  readonly expirationTime: string;
}

function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Dumps every certificate of a PEM bundle in /config_dump form. */
export function dumpPemBundle(bundle: string): CertDump[] {
  return splitPemBundle(bundle).map((pem) => {
    const cert = new X509Certificate(pem);
    const { notBefore, notAfter } = certValidity(cert);
    return {
      pem: Buffer.from(pem).toString('base64'),
      serialNumber: cert.serialNumber,
      validFrom: rfc3339(notBefore),
      expirationTime: rfc3339(notAfter),
    };
  });
}
