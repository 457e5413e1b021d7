// X.509 primitives the CA providers share: ECDSA P-256 keys, self-signed roots, SPIFFE leaf
// certificates and CSRs. Node's crypto cannot build certificates or parse CSRs, so x509-der.ts does.

import { KeyObject, webcrypto, randomBytes, X509Certificate } from 'node:crypto';
import {
  authorityKeyIdentifier,
  basicConstraints,
  buildCertificate,
  buildCsr,
  certificateSubject,
  encodeName,
  parseCsr,
  extendedKeyUsage,
  KEY_USAGE,
  keyUsage,
  spkiDer,
  subjectAltName,
  subjectKeyIdentifier,
  toPem,
  type Extension,
} from './x509-der.js';

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

const EC_ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const RSA_SIGN_ALG = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } as const;
const RSA_GEN_ALG = { ...RSA_SIGN_ALG, modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]) } as const;
const EKU_SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const EKU_CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
/** Certificates are back-dated by this much to tolerate clock skew between nodes (ms). */
export const CERT_BACKDATE_MS = 60_000;
const BACKDATE_MS = CERT_BACKDATE_MS;

/** Key types this code generates: workload leaves are always EC P-256; RSA exists for plug-in CA tests. */
export type KeyKind = 'ec-p256' | 'rsa-2048';

export interface KeyPair {
  readonly privateKey: CryptoKey;
  readonly publicKey: CryptoKey;
}

/** A signing CA: its certificate (PEM) and private key. */
export interface SigningCa {
  readonly certPem: string;
  readonly keyPem: string;
}

export async function generateKeyPair(kind: KeyKind = 'ec-p256'): Promise<KeyPair> {
  const alg = kind === 'ec-p256' ? EC_ALG : RSA_GEN_ALG;
  const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as CryptoKeyPair;
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
  /** Default EC P-256. */
  readonly keyKind?: KeyKind;
}

/** A self-signed CA root with an EC P-256 key. */
export async function createRootCa(options: RootOptions): Promise<SigningCa> {
  const now = options.now ?? new Date();
  const keys = await generateKeyPair(options.keyKind ?? 'ec-p256');
  const publicKey = KeyObject.from(keys.publicKey);
  const name = encodeName(options.subject);
  const der = buildCertificate(
    {
      serial: Buffer.from(randomSerial(), 'hex'),
      issuer: name,
      subject: name,
      notBefore: new Date(now.getTime() - BACKDATE_MS),
      notAfter: new Date(now.getTime() + options.validityMs),
      subjectPublicKey: publicKey,
      extensions: [
        basicConstraints(true, undefined, true),
        keyUsage([KEY_USAGE.keyCertSign, KEY_USAGE.cRLSign], true),
        subjectKeyIdentifier(spkiDer(publicKey)),
      ],
    },
    KeyObject.from(keys.privateKey),
  );
  return { certPem: toPem('CERTIFICATE', der) + '\n', keyPem: privateKeyToPem(keys.privateKey) };
}

export interface LeafOptions {
  readonly ca: SigningCa;
  readonly publicKey: CryptoKey;
  /** URI SAN values, normally exactly one SPIFFE ID. */
  readonly uris: readonly string[];
  /** DNS SAN values (TLS server certificates, e.g. the control plane's CA endpoint); default none. */
  readonly dnsNames?: readonly string[];
  /** IP SAN values, textual IPv4/IPv6; default none. */
  readonly ipAddresses?: readonly string[];
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** Issue an intermediate CA instead of a leaf (tests of chains). */
  readonly isCa?: boolean;
  /** Intermediate only: subject DN (default a random `O=ambit-intermediate-…`). */
  readonly subject?: string;
  /** Intermediate only: basic-constraints path length (default 0: may sign leaves only). */
  readonly pathLength?: number;
}

/**
 * Issues a certificate signed by `ca`, with EKU serverAuth+clientAuth and a critical SAN extension
 * (critical because the subject is empty, RFC 5280 §4.2.1.6): URIs, then DNS names, then IPs.
 */
export async function issueCertificate(options: LeafOptions): Promise<string> {
  const issuer = new X509Certificate(options.ca.certPem);
  const signingKey = await importSigningKey(options.ca.keyPem);
  const publicKey = KeyObject.from(options.publicKey);
  const extensions: Extension[] = options.isCa
    ? [
        basicConstraints(true, options.pathLength ?? 0, true),
        keyUsage([KEY_USAGE.keyCertSign, KEY_USAGE.cRLSign], true),
        subjectKeyIdentifier(spkiDer(publicKey)),
      ]
    : [
        basicConstraints(false, undefined, true),
        keyUsage([KEY_USAGE.digitalSignature, KEY_USAGE.keyEncipherment], true),
        extendedKeyUsage([EKU_SERVER_AUTH, EKU_CLIENT_AUTH]),
      ];
  if (options.uris.length + (options.dnsNames?.length ?? 0) + (options.ipAddresses?.length ?? 0) > 0) {
    extensions.push(subjectAltName({ uris: options.uris, dnsNames: options.dnsNames, ipAddresses: options.ipAddresses }, true));
  }
  extensions.push(authorityKeyIdentifier(spkiDer(issuer.publicKey)));
  const der = buildCertificate(
    {
      serial: Buffer.from(randomSerial(), 'hex'),
      issuer: certificateSubject(issuer.raw),
      subject: encodeName(options.isCa ? (options.subject ?? `O=ambit-intermediate-${randomSerial().slice(0, 8)}`) : ''),
      notBefore: options.notBefore,
      notAfter: options.notAfter,
      subjectPublicKey: publicKey,
      extensions,
    },
    KeyObject.from(signingKey),
  );
  return toPem('CERTIFICATE', der) + '\n';
}

/** A PEM CSR as ztunnel sends it: empty subject, one critical URI SAN, ECDSA-SHA256. */
export async function createCsr(spiffeId: string, keys: KeyPair): Promise<string> {
  const der = buildCsr([subjectAltName({ uris: [spiffeId] }, true)], KeyObject.from(keys.privateKey), KeyObject.from(keys.publicKey));
  return toPem('CERTIFICATE REQUEST', der) + '\n';
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
  return parseSanUris(cert.subjectAltName);
}

/**
 * URI entries of Node's `subjectaltname` string (`X509Certificate.subjectAltName`,
 * `PeerCertificate.subjectaltname`). Node separates entries with `, ` and JSON-quotes any value
 * holding a comma, quote or other special character (CVE-2021-44532), so a SAN cannot smuggle a
 * second entry: quoted values are decoded, never split.
 */
export function parseSanUris(san: string | undefined): string[] {
  if (!san) return [];
  const out: string[] = [];
  let i = 0;
  while (i < san.length) {
    const colon = san.indexOf(':', i);
    if (colon < 0) break;
    const type = san.slice(i, colon);
    let value: string;
    let next: number;
    if (san[colon + 1] === '"') {
      // JSON string literal: find the closing quote that is not escaped.
      let j = colon + 2;
      while (j < san.length && san[j] !== '"') j += san[j] === '\\' ? 2 : 1;
      try {
        value = JSON.parse(san.slice(colon + 1, j + 1)) as string;
      } catch {
        return out; // malformed: stop rather than guess
      }
      next = j + 1;
    } else {
      const comma = san.indexOf(', ', colon + 1);
      next = comma < 0 ? san.length : comma;
      value = san.slice(colon + 1, next);
    }
    if (type === 'URI') out.push(value);
    i = san.startsWith(', ', next) ? next + 2 : next + 1;
  }
  return out;
}

const SPIFFE_SCHEME = 'spiffe:';

/**
 * The distinct URI SANs of Node's `subjectaltname` string whose scheme is `spiffe` (RFC 3986
 * schemes are case-insensitive, so `SPIFFE://` counts too), in certificate order. Whether each is a
 * well-formed Istio identity is the caller's question; this only says which SANs claim one.
 */
export function spiffeUriSans(san: string | undefined): string[] {
  const out: string[] = [];
  for (const uri of parseSanUris(san)) {
    if (uri.slice(0, SPIFFE_SCHEME.length).toLowerCase() === SPIFFE_SCHEME && !out.includes(uri)) out.push(uri);
  }
  return out;
}

/** A CSR whose self-signature verified. */
export interface VerifiedCsr {
  /** URI SAN values requested, in order. */
  readonly uris: readonly string[];
  /** The requested leaf key (always EC P-256: ztunnel CSRs never carry anything else). */
  readonly publicKey: CryptoKey;
}

/** Parses a PEM PKCS#10 CSR, checks its self-signature and its key type. Throws a plain Error. */
export async function readCsr(pem: string): Promise<VerifiedCsr> {
  const csr = parseCsr(pem);
  const key = csr.publicKey;
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new Error(`CSR key must be EC P-256, got ${key.asymmetricKeyType ?? '?'} ${key.asymmetricKeyDetails?.namedCurve ?? ''}`.trim());
  }
  const publicKey = (await webcrypto.subtle.importKey('spki', csr.spki, { name: 'ECDSA', namedCurve: 'P-256' }, true, [
    'verify',
  ])) as CryptoKey;
  return { uris: csr.uris, publicKey };
}

/** Validity window of a parsed certificate (Node 20 only exposes it as text). */
export function certValidity(cert: X509Certificate): { notBefore: Date; notAfter: Date } {
  return { notBefore: new Date(Date.parse(cert.validFrom)), notAfter: new Date(Date.parse(cert.validTo)) };
}
