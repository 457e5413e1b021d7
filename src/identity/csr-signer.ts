// Shared issuance step of the local CA providers: verify a workload CSR against the SPIFFE ID it
// asks for and sign a leaf with a given CA key, capped to the CA's own remaining lifetime.

import { X509Certificate } from 'node:crypto';
import { MeshError } from '../common/errors.js';
import { CERT_BACKDATE_MS, certValidity, issueCertificate, readCsr, type SigningCa } from './x509.js';

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
  if (!Number.isFinite(req.ttlSeconds) || req.ttlSeconds <= 0) {
    throw new MeshError('CA_ERROR', `requested certificate TTL must be > 0 seconds, got ${req.ttlSeconds}`);
  }
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
  const remainingMs = req.caNotAfterMs - req.nowMs;
  if (remainingMs <= 0) throw new MeshError('CA_ERROR', 'the signing CA certificate has expired');
  // X.509 times have second precision: round down so the leaf never outlives the CA.
  const notAfterMs = Math.floor(Math.min(req.nowMs + req.ttlSeconds * 1000, req.caNotAfterMs) / 1000) * 1000;
  const caNotBeforeMs = certValidity(new X509Certificate(req.ca.certPem)).notBefore.getTime();
  // Back-date for clock skew between nodes, but by at most a tenth of the lifetime: a large
  // back-date on a short-lived certificate would put its half-life (rotation time) in the past.
  const backdateMs = Math.min(CERT_BACKDATE_MS, (req.ttlSeconds * 1000) / 10);
  const notBeforeMs = Math.max(req.nowMs - backdateMs, caNotBeforeMs);
  try {
    return await issueCertificate({
      ca: req.ca,
      publicKey: csr.publicKey,
      uris: [req.spiffeId],
      notBefore: new Date(notBeforeMs),
      notAfter: new Date(notAfterMs),
    });
  } catch (err) {
    throw new MeshError('CA_ERROR', `signing a certificate for ${req.spiffeId} failed: ${(err as Error).message}`, { cause: err });
  }
}
