// A stand-in for istiod's CA: a real grpc-js server for IstioCertificateService/CreateCertificate over
// TLS, behaving as istiod documents (bearer auth, clusterid, trusted impersonation, TTL cap), recording every request.

import 'reflect-metadata'; // before @peculiar/x509 (it needs the polyfill at load)
import * as grpc from '@grpc/grpc-js';
import * as x509 from '@peculiar/x509';
import { isIP } from 'node:net';
import { createRootCa, generateKeyPair, importSigningKey, issueCertificate, privateKeyToPem, readCsr, type SigningCa } from '../../src/identity/x509.js';
import {
  CREATE_CERTIFICATE_PATH,
  IMPERSONATED_IDENTITY_KEY,
  decodeCertificateRequest,
  decodeCertificateResponse,
  encodeCertificateRequest,
  encodeCertificateResponse,
  type IstioCertificateRequest,
  type IstioCertificateResponse,
} from '../../src/identity/istio-ca-proto.js';

export const DEFAULT_FAKE_TOKEN = 'fake-istio-token';
export const ZTUNNEL_SA_ID = 'spiffe://cluster.local/ns/istio-system/sa/ztunnel';

export interface FakeIstiodOptions {
  /** Accepted bearer tokens → the caller's identity; default { DEFAULT_FAKE_TOKEN: ZTUNNEL_SA_ID }. */
  readonly tokens?: Readonly<Record<string, string>>;
  /** Callers allowed to impersonate (istiod CA_TRUSTED_NODE_ACCOUNTS); default [ZTUNNEL_SA_ID]. */
  readonly trustedNodeAccounts?: readonly string[];
  /** The only `clusterid` accepted; default `Kubernetes`. */
  readonly clusterId?: string;
  /** Cap on validity_duration, seconds; default 24 h. */
  readonly maxTtlSeconds?: number;
  /** DNS names / IPs in the serving certificate; default localhost and 127.0.0.1. */
  readonly serverNames?: readonly string[];
}

export interface RecordedRequest {
  /** Metadata as received (lower-case keys; values joined when repeated). */
  readonly metadata: Readonly<Record<string, string>>;
  readonly request: IstioCertificateRequest;
  /** The identity the fake decided to issue for, or undefined if it refused. */
  readonly issuedFor: string | undefined;
}

/** Rewrites the chain the fake would send (bad-response tests); `chain` is [leaf, intermediate, root]. */
export type Responder = (chain: string[], rec: RecordedRequest) => string[];

export interface FakeIstiod {
  /** `https://127.0.0.1:<port>`. */
  readonly address: string;
  readonly port: number;
  /** Mesh root: signs the intermediate and the serving certificate; what CA_ROOT_CA should hold. */
  readonly rootPem: string;
  readonly intermediatePem: string;
  readonly requests: RecordedRequest[];
  /** Replace (or with undefined, restore) the response chain. */
  respondWith(responder: Responder | undefined): void;
  close(): Promise<void>;
}

const HOUR_MS = 3600_000;

export async function startFakeIstiod(options: FakeIstiodOptions = {}): Promise<FakeIstiod> {
  const tokens = options.tokens ?? { [DEFAULT_FAKE_TOKEN]: ZTUNNEL_SA_ID };
  const trusted = new Set(options.trustedNodeAccounts ?? [ZTUNNEL_SA_ID]);
  const clusterId = options.clusterId ?? 'Kubernetes';
  const maxTtlSeconds = options.maxTtlSeconds ?? 24 * 3600;
  const root = await createRootCa({ subject: 'O=cluster.local', validityMs: 48 * HOUR_MS });
  const intermediate = await makeIntermediate(root);
  const serving = await makeServingCert(root, options.serverNames ?? ['localhost', '127.0.0.1']);
  const requests: RecordedRequest[] = [];
  let responder: Responder | undefined;

  const createCertificate: grpc.handleUnaryCall<IstioCertificateRequest, IstioCertificateResponse> = (call, callback) => {
    const metadata: Record<string, string> = {};
    for (const [k, v] of Object.entries(call.metadata.getMap())) metadata[k] = String(v);
    const request = call.request;
    const fail = (code: grpc.status, details: string): void => {
      requests.push({ metadata, request, issuedFor: undefined });
      callback({ code, details });
    };
    // istiod authenticates the caller from the JWT, within the cluster named by `clusterid`.
    const bearer = /^Bearer (.+)$/.exec(metadata.authorization ?? '');
    const caller = bearer ? tokens[bearer[1] as string] : undefined;
    if (caller === undefined) return fail(grpc.status.UNAUTHENTICATED, 'authenticate failure: no valid bearer token');
    if (metadata.clusterid !== clusterId) return fail(grpc.status.UNAUTHENTICATED, `authenticate failure: unknown cluster "${metadata.clusterid ?? ''}"`);
    const impersonated = request.metadata?.[IMPERSONATED_IDENTITY_KEY];
    if (impersonated !== undefined && !trusted.has(caller)) {
      return fail(grpc.status.UNAUTHENTICATED, `caller ${caller} may not impersonate ${impersonated}`);
    }
    const identity = impersonated ?? caller;
    const requested = request.validityDurationSeconds > 0 ? request.validityDurationSeconds : maxTtlSeconds;
    const ttlSeconds = Math.min(requested, maxTtlSeconds);
    void (async () => {
      // Like istiod: the CSR only contributes its key; the SAN is the authenticated identity.
      const csr = await readCsr(request.csr);
      const now = Date.now();
      const leaf = await issueCertificate({
        ca: intermediate,
        publicKey: csr.publicKey,
        uris: [identity],
        notBefore: new Date(now - 60_000),
        notAfter: new Date(Math.floor((now + ttlSeconds * 1000) / 1000) * 1000),
      });
      const rec: RecordedRequest = { metadata, request, issuedFor: identity };
      requests.push(rec);
      const chain = [leaf, intermediate.certPem, root.certPem];
      callback(null, { certChain: responder ? responder(chain, rec) : chain });
    })().catch((err: unknown) => fail(grpc.status.INVALID_ARGUMENT, `CSR rejected: ${(err as Error).message}`));
  };

  const server = new grpc.Server();
  const definition: grpc.ServiceDefinition = {
    CreateCertificate: {
      path: CREATE_CERTIFICATE_PATH,
      requestStream: false,
      responseStream: false,
      requestSerialize: encodeCertificateRequest,
      requestDeserialize: (b: Buffer) => decodeCertificateRequest(b),
      responseSerialize: encodeCertificateResponse,
      responseDeserialize: (b: Buffer) => decodeCertificateResponse(b),
    },
  };
  server.addService(definition, { CreateCertificate: createCertificate as grpc.UntypedHandleCall });
  const credentials = grpc.ServerCredentials.createSsl(null, [{ cert_chain: Buffer.from(serving.certPem), private_key: Buffer.from(serving.keyPem) }], false);
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', credentials, (err, p) => (err ? reject(err) : resolve(p)));
  });
  return {
    address: `https://127.0.0.1:${port}`,
    port,
    rootPem: root.certPem,
    intermediatePem: intermediate.certPem,
    requests,
    respondWith(r) {
      responder = r;
    },
    close() {
      return new Promise((resolve) => server.tryShutdown(() => resolve()));
    },
  };
}

async function makeIntermediate(root: SigningCa): Promise<SigningCa> {
  const keys = await generateKeyPair();
  const now = Date.now();
  const certPem = await issueCertificate({
    ca: root,
    publicKey: keys.publicKey,
    uris: [],
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + 24 * HOUR_MS),
    isCa: true,
    subject: 'O=cluster.local, CN=fake-istiod-intermediate',
  });
  return { certPem, keyPem: privateKeyToPem(keys.privateKey) };
}

/** A TLS server certificate with DNS/IP SANs (issueCertificate only does URI SANs). */
export async function makeServingCert(root: SigningCa, names: readonly string[]): Promise<SigningCa> {
  const keys = await generateKeyPair();
  const issuer = new x509.X509Certificate(root.certPem);
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: '01' + Date.now().toString(16),
    subject: 'O=fake-istiod',
    issuer: issuer.subject,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + 24 * HOUR_MS),
    signingKey: await importSigningKey(root.keyPem),
    publicKey: keys.publicKey,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.ExtendedKeyUsageExtension(['1.3.6.1.5.5.7.3.1']),
      new x509.SubjectAlternativeNameExtension(names.map((n) => (isIP(n) ? { type: 'ip' as const, value: n } : { type: 'dns' as const, value: n }))),
      await x509.AuthorityKeyIdentifierExtension.create(issuer, false),
    ],
  });
  return { certPem: cert.toString('pem') + '\n', keyPem: privateKeyToPem(keys.privateKey) };
}
