// X.509 v3 certificates (RFC 5280 §4.1) and PKCS#10 requests (RFC 2986 §4) built as DER and signed
// with node:crypto (the names, extensions and algorithm identifiers Ambit's CAs and CSRs use), and
// PKCS#10 requests read back and their self-signature verified.
//
// Done here rather than with a certificate library: every agent and waypoint signs certificates or
// CSRs, and loading @peculiar/x509 (with its ASN.1 schema stack) cost each process ~10 MB RSS
// (README, Performance → Memory).

import { createHash, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import {
  bitString,
  boolean,
  children,
  explicit,
  type DerNode,
  implicitPrimitive,
  namedBits,
  nullValue,
  octetString,
  oid,
  readTlv,
  sequence,
  setOf,
  smallInteger,
  tlv,
  TAG,
  unsignedInteger,
  x509Time,
} from './der.js';

/** Algorithm and extension OIDs (RFC 5758 §3.2, RFC 4055 §5, RFC 5280 §4.2.1, RFC 2985 §5.4.2). */
const OID = {
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  sha256WithRsa: '1.2.840.113549.1.1.11',
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  authorityKeyIdentifier: '2.5.29.35',
  extKeyUsage: '2.5.29.37',
  extensionRequest: '1.2.840.113549.1.9.14',
} as const;

/** Signature algorithms a CSR may declare, and their hash (RFC 5758 §3.2, RFC 4055 §5). */
const CSR_SIGNATURE_HASH: Readonly<Record<string, string>> = {
  '1.2.840.10045.4.3.2': 'sha256',
  '1.2.840.10045.4.3.3': 'sha384',
  '1.2.840.10045.4.3.4': 'sha512',
  '1.2.840.113549.1.1.11': 'sha256',
  '1.2.840.113549.1.1.12': 'sha384',
  '1.2.840.113549.1.1.13': 'sha512',
};

/** DN attribute short names accepted in subject strings (RFC 4514 §3). */
const DN_ATTRIBUTES: Readonly<Record<string, string>> = { CN: '2.5.4.3', C: '2.5.4.6', L: '2.5.4.7', ST: '2.5.4.8', O: '2.5.4.10', OU: '2.5.4.11' };

/** X.680 PrintableString characters; other values are UTF8String (what @peculiar/x509 chose too). */
const PRINTABLE = /^[A-Za-z0-9 '()+,\-./:=?]*$/;

/** KeyUsage bit numbers (RFC 5280 §4.2.1.3). */
export const KEY_USAGE = { digitalSignature: 0, keyEncipherment: 2, keyCertSign: 5, cRLSign: 6 } as const;

/** An extension: `critical` is encoded only when true (DEFAULT FALSE, X.690 §11.5). */
export interface Extension {
  readonly oid: string;
  readonly critical: boolean;
  /** The DER of the extension's value (wrapped in the OCTET STRING here). */
  readonly value: Buffer;
}

/**
 * A Name from a subject string of `KEY=value` attributes joined by commas, each its own RDN, in
 * the order written (e.g. `O=cluster.local`); "" is the empty Name. Escapes are not supported:
 * the subjects Ambit writes never need them, and anything unexpected is refused.
 */
export function encodeName(dn: string): Buffer {
  if (dn.trim() === '') return sequence();
  const rdns = dn.split(',').map((part) => {
    const eq = part.indexOf('=');
    const key = part.slice(0, eq).trim().toUpperCase();
    const value = part.slice(eq + 1).trim();
    const type = DN_ATTRIBUTES[key];
    if (eq < 0 || type === undefined || value === '' || /["\\+;<>#]/.test(value)) throw new Error(`unsupported subject "${dn}"`);
    const encoded = PRINTABLE.test(value) ? tlv(TAG.PRINTABLE_STRING, Buffer.from(value, 'latin1')) : tlv(TAG.UTF8_STRING, Buffer.from(value, 'utf8'));
    return setOf(sequence(oid(type), encoded));
  });
  return sequence(...rdns);
}

/** The DER SubjectPublicKeyInfo of a key (its public half for a private key). */
export function spkiDer(key: KeyObject): Buffer {
  return key.export({ type: 'spki', format: 'der' });
}

/**
 * Key identifier per RFC 5280 §4.2.1.2 method (1): SHA-1 of the subjectPublicKey BIT STRING's
 * value (no tag, length or unused-bits byte).
 */
export function keyIdentifier(spki: Buffer): Buffer {
  const [, key] = children(spki, readTlv(spki));
  if (!key || key.tag !== TAG.BIT_STRING) throw new Error('SubjectPublicKeyInfo without a key BIT STRING');
  return createHash('sha1').update(spki.subarray(key.contentStart + 1, key.end)).digest();
}

/** The signature algorithm for a signing key: ECDSA with SHA-256, or RSA PKCS#1 v1.5 with SHA-256. */
function algorithmIdentifier(key: KeyObject): Buffer {
  if (key.asymmetricKeyType === 'ec') return sequence(oid(OID.ecdsaWithSha256));
  if (key.asymmetricKeyType === 'rsa') return sequence(oid(OID.sha256WithRsa), nullValue());
  throw new Error(`unsupported signing key type ${key.asymmetricKeyType ?? '?'}`);
}

/** `SEQUENCE { tbs, algorithm, BIT STRING signature }`: the shape of Certificate and CertificationRequest. */
function signed(tbs: Buffer, algorithm: Buffer, key: KeyObject): Buffer {
  // ECDSA signatures are DER Ecdsa-Sig-Value (node's default dsaEncoding); RSA uses PKCS#1 v1.5.
  return sequence(tbs, algorithm, bitString(sign('sha256', tbs, key)));
}

function encodeExtensions(exts: readonly Extension[]): Buffer {
  return sequence(...exts.map((e) => sequence(oid(e.oid), ...(e.critical ? [boolean(true)] : []), octetString(e.value))));
}

export function basicConstraints(ca: boolean, pathLength: number | undefined, critical: boolean): Extension {
  const fields = ca ? [boolean(true), ...(pathLength !== undefined ? [smallInteger(pathLength)] : [])] : [];
  return { oid: OID.basicConstraints, critical, value: sequence(...fields) };
}

export function keyUsage(bits: readonly number[], critical: boolean): Extension {
  return { oid: OID.keyUsage, critical, value: namedBits(bits) };
}

export function extendedKeyUsage(oids: readonly string[]): Extension {
  return { oid: OID.extKeyUsage, critical: false, value: sequence(...oids.map(oid)) };
}

export function subjectKeyIdentifier(spki: Buffer): Extension {
  return { oid: OID.subjectKeyIdentifier, critical: false, value: octetString(keyIdentifier(spki)) };
}

/** AuthorityKeyIdentifier with keyIdentifier `[0]` only (RFC 5280 §4.2.1.1). */
export function authorityKeyIdentifier(issuerSpki: Buffer): Extension {
  return { oid: OID.authorityKeyIdentifier, critical: false, value: sequence(implicitPrimitive(0, keyIdentifier(issuerSpki))) };
}

/** 4 or 16 network-order bytes of a textual IP (RFC 5280 §4.2.1.6 iPAddress). */
export function ipAddressBytes(ip: string): Buffer {
  if (isIPv4(ip)) return Buffer.from(ip.split('.').map(Number));
  if (!isIPv6(ip)) throw new Error(`"${ip}" is not an IP address`);
  let text = ip;
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const groups = (s: string | undefined): string[] => (s ? s.split(':') : []);
  const h = groups(head);
  const t = groups(tail);
  const all = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  const out = Buffer.alloc(16);
  all.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

/** SubjectAltName: URIs `[6]`, then DNS names `[2]`, then IP addresses `[7]`, in the order given. */
export function subjectAltName(names: { uris?: readonly string[]; dnsNames?: readonly string[]; ipAddresses?: readonly string[] }, critical: boolean): Extension {
  const general = [
    ...(names.uris ?? []).map((u) => implicitPrimitive(6, Buffer.from(u, 'latin1'))),
    ...(names.dnsNames ?? []).map((d) => implicitPrimitive(2, Buffer.from(d, 'latin1'))),
    ...(names.ipAddresses ?? []).map((ip) => implicitPrimitive(7, ipAddressBytes(ip))),
  ];
  return { oid: OID.subjectAltName, critical, value: sequence(...general) };
}

export interface TbsCertificate {
  /** Big-endian serial number bytes (a positive INTEGER; leading zeros are dropped). */
  readonly serial: Buffer;
  /** The issuer's subject Name, as DER (copied from the issuer certificate, or the subject when self-signed). */
  readonly issuer: Buffer;
  readonly subject: Buffer;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly subjectPublicKey: KeyObject;
  readonly extensions: readonly Extension[];
}

/** An X.509 v3 certificate signed by `signingKey`, as DER. */
export function buildCertificate(c: TbsCertificate, signingKey: KeyObject): Buffer {
  const alg = algorithmIdentifier(signingKey);
  const tbs = sequence(
    explicit(0, smallInteger(2)), // v3
    unsignedInteger(c.serial),
    alg,
    c.issuer,
    sequence(x509Time(c.notBefore), x509Time(c.notAfter)),
    c.subject,
    spkiDer(c.subjectPublicKey),
    explicit(3, encodeExtensions(c.extensions)),
  );
  return signed(tbs, alg, signingKey);
}

/** A PKCS#10 request with an empty subject and the given extensions (as an extensionRequest attribute), as DER. */
export function buildCsr(extensions: readonly Extension[], privateKey: KeyObject, publicKey: KeyObject): Buffer {
  const attributes = explicit(0, sequence(oid(OID.extensionRequest), setOf(encodeExtensions(extensions))));
  const info = sequence(smallInteger(0), sequence(), spkiDer(publicKey), attributes);
  return signed(info, algorithmIdentifier(privateKey), privateKey);
}

/** The subject Name's DER of a certificate (to use as the issuer of what it signs). */
export function certificateSubject(certDer: Buffer): Buffer {
  const [tbs] = children(certDer, readTlv(certDer));
  if (!tbs) throw new Error('certificate without a TBSCertificate');
  const fields = children(certDer, tbs);
  // version [0] is optional (v1); then serial, signature, issuer, validity, subject.
  const i = fields[0]?.tag === 0xa0 ? 1 : 0;
  const subject = fields[i + 4];
  if (!subject || subject.tag !== TAG.SEQUENCE) throw new Error('certificate without a subject Name');
  return certDer.subarray(subject.start, subject.end);
}

/** The dotted form of an OBJECT IDENTIFIER's content bytes. */
function oidText(der: Uint8Array, node: DerNode): string {
  if (node.tag !== TAG.OID) throw new Error('expected an OBJECT IDENTIFIER');
  const arcs: number[] = [];
  let v = 0;
  for (let p = node.contentStart; p < node.end; p++) {
    v = v * 128 + (der[p]! & 0x7f);
    if ((der[p]! & 0x80) === 0) {
      if (arcs.length === 0) arcs.push(v < 80 ? Math.floor(v / 40) : 2, v < 80 ? v % 40 : v - 80);
      else arcs.push(v);
      v = 0;
    }
  }
  return arcs.join('.');
}

/** A PKCS#10 request whose self-signature verified: its public key and its URI SANs. */
export interface ParsedCsr {
  readonly publicKey: KeyObject;
  /** The SPKI DER of `publicKey`. */
  readonly spki: Buffer;
  readonly uris: string[];
}

/**
 * Parses a PEM PKCS#10 request and verifies its self-signature (ECDSA or RSA PKCS#1 v1.5, SHA-2).
 * URI SANs come from every extensionRequest attribute's SubjectAltName, in order. Throws a plain
 * Error naming what is wrong.
 */
export function parseCsr(pem: string): ParsedCsr {
  const m = /-----BEGIN (?:NEW )?CERTIFICATE REQUEST-----([A-Za-z0-9+/=\s]*)-----END (?:NEW )?CERTIFICATE REQUEST-----/.exec(pem);
  if (!m) throw new Error('not a PEM certificate request');
  const der = Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64');
  const top = readTlv(der);
  const [info, alg, sig] = children(der, top);
  if (top.tag !== TAG.SEQUENCE || !info || !alg || !sig || info.tag !== TAG.SEQUENCE || alg.tag !== TAG.SEQUENCE || sig.tag !== TAG.BIT_STRING) {
    throw new Error('malformed CertificationRequest');
  }
  const [version, , spkiNode, attrs] = children(der, info);
  if (!version || version.tag !== TAG.INTEGER || !spkiNode || spkiNode.tag !== TAG.SEQUENCE) throw new Error('malformed CertificationRequestInfo');
  const spki = Buffer.from(der.subarray(spkiNode.start, spkiNode.end));
  const publicKey = createPublicKey({ key: spki, format: 'der', type: 'spki' });
  const [algOid] = children(der, alg);
  const hash = algOid ? CSR_SIGNATURE_HASH[oidText(der, algOid)] : undefined;
  if (hash === undefined || der[sig.contentStart] !== 0) throw new Error('CSR signature does not verify');
  const signature = der.subarray(sig.contentStart + 1, sig.end);
  if (!verify(hash, der.subarray(info.start, info.end), publicKey, signature)) throw new Error('CSR signature does not verify');
  const uris: string[] = [];
  if (attrs && attrs.tag === 0xa0) {
    for (const attr of children(der, attrs)) {
      const [type, values] = children(der, attr);
      if (!type || !values || oidText(der, type) !== OID.extensionRequest) continue;
      for (const exts of children(der, values)) {
        for (const ext of children(der, exts)) {
          const fields = children(der, ext);
          const value = fields[fields.length - 1];
          if (!fields[0] || oidText(der, fields[0]) !== OID.subjectAltName || !value || value.tag !== TAG.OCTET_STRING) continue;
          const names = readTlv(der, value.contentStart, value.end);
          for (const name of children(der, names)) {
            if (name.tag === 0x86) uris.push(der.toString('latin1', name.contentStart, name.end));
          }
        }
      }
    }
  }
  return { publicKey, spki, uris };
}

/** PEM armour of DER (RFC 7468 §2: base64 lines of 64 characters), without a final newline. */
export function toPem(label: string, der: Buffer): string {
  const b64 = der.toString('base64').replace(/.{64}(?=.)/g, '$&\n');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----`;
}
