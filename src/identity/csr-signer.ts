// Shared issuance step of the local CA providers: verify a workload CSR against the SPIFFE ID it
// asks for and sign a leaf with a given CA key, capped to the CA's own remaining lifetime.

import { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { MeshError } from '../common/errors.js';
import { CERT_BACKDATE_MS, certValidity, generateKeyPair, issueCertificate, privateKeyToPem, readCsr, type SigningCa } from './x509.js';

export interface SignRequest {
  readonly ca: SigningCa;
  /** The signing CA's notAfter (ms): no leaf outlives its issuer. */
  readonly caNotAfterMs: number;
  readonly csrPem: string;
  readonly spiffeId: string;
  readonly ttlSeconds: number;
  readonly nowMs: number;
}

/** Returns the leaf PEM. Throws MeshError CA_ERROR for any refusal. */
export async function signWorkloadCsr(req: SignRequest): Promise<string> {
  if (!req.spiffeId.startsWith('spiffe://')) {
    throw new MeshError('CA_ERROR', `requested identity "${req.spiffeId}" is not a SPIFFE ID`);
  }
  checkTtl(req.ttlSeconds);
  let csr;
  try {
    csr = await readCsr(req.csrPem);
  } catch (err) {
    throw new MeshError('CA_ERROR', `invalid CSR for ${req.spiffeId}: ${(err as Error).message}`, { cause: err });
  }
  // MUST: the only SAN a CSR may carry is the identity being requested; anything else would let a
  // caller mint a certificate for someone else's identity.
  if (csr.uris.length !== 1 || csr.uris[0] !== req.spiffeId) {
    throw new MeshError('CA_ERROR', `CSR URI SANs [${csr.uris.join(', ')}] do not equal the requested identity ${req.spiffeId}`);
  }
  const { notBefore, notAfter } = leafWindow(req.ca, req.caNotAfterMs, req.nowMs, req.ttlSeconds);
  try {
    return await issueCertificate({ ca: req.ca, publicKey: csr.publicKey, uris: [req.spiffeId], notBefore, notAfter });
  } catch (err) {
    throw new MeshError('CA_ERROR', `signing a certificate for ${req.spiffeId} failed: ${(err as Error).message}`, { cause: err });
  }
}

export interface ServerCertRequest {
  readonly ca: SigningCa;
  readonly caNotAfterMs: number;
  /** DNS names and/or textual IPs the server is reached by (at least one). */
  readonly names: readonly string[];
  readonly ttlSeconds: number;
  readonly nowMs: number;
}

/**
 * A TLS server certificate (fresh EC P-256 key, DNS/IP SANs, no SPIFFE URI) under the same CA and
 * with the same lifetime rules as workload leaves: what a CA endpoint presents to node agents,
 * which check it against CA_ROOT_CA and the CA_ADDRESS host. Returns the leaf and its PKCS#8 key.
 */
export async function signServerCertificate(req: ServerCertRequest): Promise<{ leafPem: string; keyPem: string }> {
  if (req.names.length === 0) throw new MeshError('CA_ERROR', 'a server certificate needs at least one DNS name or IP');
  const { notBefore, notAfter } = leafWindow(req.ca, req.caNotAfterMs, req.nowMs, req.ttlSeconds);
  const keys = await generateKeyPair();
  const leafPem = await issueCertificate({
    ca: req.ca,
    publicKey: keys.publicKey,
    uris: [],
    dnsNames: req.names.filter((n) => isIP(n) === 0),
    ipAddresses: req.names.filter((n) => isIP(n) !== 0),
    notBefore,
    notAfter,
  });
  return { leafPem, keyPem: privateKeyToPem(keys.privateKey) };
}

/**
 * Validity of a leaf issued now for `ttlSeconds`: never outliving the CA, back-dated for clock skew
 * between nodes but by at most a tenth of the lifetime (a large back-date on a short-lived
 * certificate would put its half-life, the rotation time, in the past), never before the CA's notBefore.
 */
function leafWindow(ca: SigningCa, caNotAfterMs: number, nowMs: number, ttlSeconds: number): { notBefore: Date; notAfter: Date } {
  checkTtl(ttlSeconds);
  if (caNotAfterMs - nowMs <= 0) throw new MeshError('CA_ERROR', 'the signing CA certificate has expired');
  // X.509 times have second precision: round down so the leaf never outlives the CA.
  const notAfterMs = Math.floor(Math.min(nowMs + ttlSeconds * 1000, caNotAfterMs) / 1000) * 1000;
  const caNotBeforeMs = certValidity(new X509Certificate(ca.certPem)).notBefore.getTime();
  const backdateMs = Math.min(CERT_BACKDATE_MS, (ttlSeconds * 1000) / 10);
  return { notBefore: new Date(Math.max(nowMs - backdateMs, caNotBeforeMs)), notAfter: new Date(notAfterMs) };
}

function checkTtl(ttlSeconds: number): void {
  if (!Number.isFinite(ttlSeconds) || ttlSeconds <= 0) {
    throw new MeshError('CA_ERROR', `requested certificate TTL must be > 0 seconds, got ${ttlSeconds}`);
  }
}
