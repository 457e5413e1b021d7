// A bare IstioCertificateService client for CA server tests: every knob ztunnel's client fixes
// (client certificate, metadata, impersonation, raw CSR) is settable, and the gRPC status is returned.

import * as grpc from '@grpc/grpc-js';
import {
  CREATE_CERTIFICATE_PATH,
  createCsr,
  decodeCertificateResponse,
  encodeCertificateRequest,
  generateKeyPair,
  privateKeyToPem,
  type IstioCertificateRequest,
  type IstioCertificateResponse,
} from '../../src/identity/index.js';

export interface RawCaCall {
  /** `127.0.0.1:<port>`. */
  readonly target: string;
  /** Roots that verify the CA's serving certificate. */
  readonly rootPem: string;
  readonly clientCert?: { readonly certChainPem: string; readonly keyPem: string };
  /** Sent as `authorization: Bearer <token>`. */
  readonly token?: string;
  /** Default Kubernetes; null = not sent. */
  readonly clusterId?: string | null;
  readonly impersonate?: string;
  /** Either a CSR for this identity is made, or `csr` is sent as is. */
  readonly csrFor?: string;
  readonly csr?: string;
  /** Default 3600. */
  readonly ttlSeconds?: number;
  readonly extraMetadata?: Readonly<Record<string, string | readonly string[]>>;
  /** TLS server name checked against the serving certificate, when `target` is an address. */
  readonly serverName?: string;
}

export type RawCaResult =
  | { readonly ok: true; readonly chain: readonly string[]; readonly keyPem: string }
  | { readonly ok: false; readonly code: grpc.status; readonly details: string };

export async function callCa(c: RawCaCall): Promise<RawCaResult> {
  const keys = await generateKeyPair();
  const csr = c.csr ?? (await createCsr(c.csrFor ?? 'spiffe://cluster.local/ns/default/sa/unset', keys));
  const creds = grpc.credentials.createSsl(
    Buffer.from(c.rootPem),
    c.clientCert ? Buffer.from(c.clientCert.keyPem) : null,
    c.clientCert ? Buffer.from(c.clientCert.certChainPem) : null,
  );
  const client = new grpc.Client(
    c.target,
    creds,
    c.serverName === undefined ? {} : { 'grpc.ssl_target_name_override': c.serverName, 'grpc.default_authority': c.serverName },
  );
  const md = new grpc.Metadata();
  if (c.token !== undefined) md.set('authorization', `Bearer ${c.token}`);
  if (c.clusterId !== null) md.set('clusterid', c.clusterId ?? 'Kubernetes');
  for (const [k, v] of Object.entries(c.extraMetadata ?? {})) for (const one of typeof v === 'string' ? [v] : v) md.add(k, one);
  const request: IstioCertificateRequest = {
    csr,
    validityDurationSeconds: c.ttlSeconds ?? 3600,
    ...(c.impersonate !== undefined ? { metadata: { ImpersonatedIdentity: c.impersonate } } : {}),
  };
  try {
    return await new Promise<RawCaResult>((resolve) => {
      client.makeUnaryRequest<IstioCertificateRequest, IstioCertificateResponse>(
        CREATE_CERTIFICATE_PATH,
        encodeCertificateRequest,
        (b: Buffer) => decodeCertificateResponse(b),
        request,
        md,
        { deadline: Date.now() + 10_000 },
        (err, value) => {
          if (err) resolve({ ok: false, code: err.code, details: err.details });
          else resolve({ ok: true, chain: value?.certChain ?? [], keyPem: privateKeyToPem(keys.privateKey) });
        },
      );
    });
  } finally {
    client.close();
  }
}
