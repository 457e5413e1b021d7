// X.509 primitives the CA providers share: ECDSA P-256 keys, self-signed roots, SPIFFE leaf
// certificates and CSRs. Node's crypto cannot build certificates, so @peculiar/x509 does (README).

import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { KeyObject, webcrypto, randomBytes, X509Certificate } from 'node:crypto';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

const EC_ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const RSA_SIGN_ALG = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } as const;
const EKU_SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const EKU_CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
/** Certificates are back-dated by this much to tolerate clock skew between nodes (ms). */
const BACKDATE_MS = 60_000;

export interface KeyPair {
  readonly privateKey: CryptoKey;
  readonly publicKey: CryptoKey;
}

/** A signing CA: its certificate (PEM) and private key. */
export interface SigningCa {
  readonly certPem: string;
  readonly keyPem: string;
}

export async function generateKeyPair(): Promise<KeyPair> {
  const keys = (await webcrypto.subtle.generateKey(EC_ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
  return { privateKey: keys.privateKey, publicKey: keys.publicKey };
}

/** PKCS#8 PEM, the private key format ztunnel uses. */
export function privateKeyToPem(key: CryptoKey): string {
  return KeyObject.from(key).export({ type: 'pkcs8', format: 'pem' }).toString();
}

/** Imports a PEM private key (PKCS#8, SEC1 EC or PKCS#1 RSA) as a WebCrypto signing key. */
export async function importSigningKey(pem: string): Promise<CryptoKey> {
  const { createPrivateKey } = await import('node:crypto');
  const keyObject = createPrivateKey(pem);
  const der = keyObject.export({ type: 'pkcs8', format: 'der' });
  const alg = keyObject.asymmetricKeyType === 'ec' ? EC_ALG : RSA_SIGN_ALG;
  if (keyObject.asymmetricKeyType === 'ec' && keyObject.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new Error(`unsupported EC curve ${keyObject.asymmetricKeyDetails?.namedCurve ?? '?'} (need P-256)`);
  }
  return webcrypto.subtle.importKey('pkcs8', der, alg, false, ['sign']) as Promise<CryptoKey>;
}

function signingAlgorithmFor(key: CryptoKey): typeof EC_ALG | typeof RSA_SIGN_ALG {
  return key.algorithm.name === 'ECDSA' ? EC_ALG : RSA_SIGN_ALG;
}

function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] ?? 0) & 0x7f; // positive INTEGER
  return bytes.toString('hex');
}

export interface RootOptions {
  /** Subject, e.g. `O=cluster.local`. */
  readonly subject: string;
  readonly validityMs: number;
  readonly now?: Date;
}

/** A self-signed CA root with an EC P-256 key. */
export async function createRootCa(options: RootOptions): Promise<SigningCa> {
  const now = options.now ?? new Date();
  const keys = await generateKeyPair();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: options.subject,
    notBefore: new Date(now.getTime() - BACKDATE_MS),
    notAfter: new Date(now.getTime() + options.validityMs),
    keys: { privateKey: keys.privateKey, publicKey: keys.publicKey },
    signingAlgorithm: EC_ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: cert.toString('pem') + '\n', keyPem: privateKeyToPem(keys.privateKey) };
}

export interface LeafOptions {
  readonly ca: SigningCa;
  readonly publicKey: CryptoKey;
  /** URI SAN values, normally exactly one SPIFFE ID. */
  readonly uris: readonly string[];
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** Issue an intermediate CA instead of a leaf (tests of chains). */
  readonly isCa?: boolean;
}

/** Issues a certificate signed by `ca`, with EKU serverAuth+clientAuth and a critical URI SAN. */
export async function issueCertificate(options: LeafOptions): Promise<string> {
  const issuer = new x509.X509Certificate(options.ca.certPem);
  const signingKey = await importSigningKey(options.ca.keyPem);
  const extensions: x509.Extension[] = options.isCa
    ? [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      ]
    : [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
        new x509.ExtendedKeyUsageExtension([EKU_SERVER_AUTH, EKU_CLIENT_AUTH]),
      ];
  if (options.uris.length > 0) {
    extensions.push(new x509.SubjectAlternativeNameExtension(options.uris.map((u) => ({ type: 'url' as const, value: u })), true));
  }
  extensions.push(await x509.AuthorityKeyIdentifierExtension.create(issuer, false));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: options.isCa ? `O=ambit-intermediate-${randomSerial().slice(0, 8)}` : '',
    issuer: issuer.subject,
    notBefore: options.notBefore,
    notAfter: options.notAfter,
    signingKey,
    publicKey: options.publicKey,
    signingAlgorithm: signingAlgorithmFor(signingKey),
    extensions,
  });
  return cert.toString('pem') + '\n';
}

/** A PEM CSR as ztunnel sends it: empty subject, one critical URI SAN, ECDSA-SHA256. */
export async function createCsr(spiffeId: string, keys: KeyPair): Promise<string> {
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    keys: { privateKey: keys.privateKey, publicKey: keys.publicKey },
    signingAlgorithm: EC_ALG,
    extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'url', value: spiffeId }], true)],
  });
  return csr.toString('pem') + '\n';
}

/** Splits a PEM bundle into individual PEM certificates (each ending in a newline). */
export function splitPemBundle(bundle: string): string[] {
  const out: string[] = [];
  const re = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;
  for (const m of bundle.matchAll(re)) out.push(m[0] + '\n');
  return out;
}

/** URI SANs of a certificate (Node's parser; handles EC and RSA). */
export function uriSans(cert: X509Certificate): string[] {
  const san = cert.subjectAltName;
  if (!san) return [];
  return san
    .split(/,\s*/)
    .filter((s) => s.startsWith('URI:'))
    .map((s) => s.slice(4));
}
