// A TLS 1.3 alert as one encrypted record (RFC 8446 §5.2, §6, §7.1, §7.3): lets the HBONE server
// tell a client why its certificate was refused after OpenSSL considered the handshake done.
//
// Pure crypto, no I/O. Units: secrets, keys and IVs are raw bytes; `seq` is the 64-bit record
// sequence number of the sending direction under the given traffic secret (first record = 0).

import { createCipheriv, createDecipheriv, createHmac } from 'node:crypto';
import { MeshError } from '../common/errors.js';

/** The two suites HBONE negotiates (TLS_CIPHERSUITES in tls-contexts.ts); nothing else is sealed. */
const SUITES = {
  TLS_AES_128_GCM_SHA256: { hash: 'sha256', hashLen: 32, cipher: 'aes-128-gcm', keyLen: 16 },
  TLS_AES_256_GCM_SHA384: { hash: 'sha384', hashLen: 48, cipher: 'aes-256-gcm', keyLen: 32 },
} as const;

export type Tls13Suite = keyof typeof SUITES;

/** AlertDescription values we send (RFC 8446 §6.2). */
export const TLS_ALERT = {
  close_notify: 0,
  bad_certificate: 42,
  certificate_revoked: 44,
  certificate_expired: 45,
  unknown_ca: 48,
  decrypt_error: 51,
  certificate_required: 116,
  no_application_protocol: 120,
} as const;

export type TlsAlertName = keyof typeof TLS_ALERT;

/** Write key and IV of one direction (RFC 8446 §7.3); the IV is always 12 bytes for AES-GCM. */
export interface TrafficKeys {
  readonly suite: Tls13Suite;
  readonly key: Buffer;
  readonly iv: Buffer;
}

const CONTENT_ALERT = 21;
const CONTENT_APPLICATION_DATA = 23;
const LEGACY_RECORD_VERSION = 0x0303;
const IV_LEN = 12;
const TAG_LEN = 16;
const LEVEL_FATAL = 2;

export function isTls13Suite(name: string | undefined): name is Tls13Suite {
  return name !== undefined && Object.hasOwn(SUITES, name);
}

/** HKDF-Expand (RFC 5869 §2.3); `length` ≤ 255 × hash length. */
function hkdfExpand(hash: string, hashLen: number, prk: Buffer, info: Buffer, length: number): Buffer {
  const blocks: Buffer[] = [];
  let prev = Buffer.alloc(0);
  for (let i = 1; blocks.length * hashLen < length; i++) {
    prev = createHmac(hash, prk).update(prev).update(info).update(Buffer.of(i)).digest();
    blocks.push(prev);
  }
  return Buffer.concat(blocks).subarray(0, length);
}

/** HKDF-Expand-Label (RFC 8446 §7.1): info = uint16 length ‖ <"tls13 " + label> ‖ <context>. */
export function hkdfExpandLabel(suite: Tls13Suite, secret: Buffer, label: string, context: Buffer, length: number): Buffer {
  const s = SUITES[suite];
  const fullLabel = Buffer.from(`tls13 ${label}`, 'ascii');
  const info = Buffer.concat([
    Buffer.of(length >> 8, length & 0xff, fullLabel.length),
    fullLabel,
    Buffer.of(context.length),
    context,
  ]);
  return hkdfExpand(s.hash, s.hashLen, secret, info, length);
}

/** [sender]_write_key and [sender]_write_iv from a traffic secret (RFC 8446 §7.3). */
export function trafficKeys(suite: Tls13Suite, secret: Buffer): TrafficKeys {
  const s = SUITES[suite];
  if (secret.length !== s.hashLen) {
    throw new MeshError('TLS_HANDSHAKE', `traffic secret is ${secret.length} bytes, ${suite} needs ${s.hashLen}`);
  }
  return {
    suite,
    key: hkdfExpandLabel(suite, secret, 'key', Buffer.alloc(0), s.keyLen),
    iv: hkdfExpandLabel(suite, secret, 'iv', Buffer.alloc(0), IV_LEN),
  };
}

/** Per-record nonce (RFC 8446 §5.3): the IV XOR the sequence number, left-padded to 12 bytes. */
function recordNonce(iv: Buffer, seq: bigint): Buffer {
  if (seq < 0n || seq >= 1n << 64n) throw new MeshError('TLS_HANDSHAKE', `record sequence number ${seq} out of range`);
  const nonce = Buffer.from(iv);
  for (let i = 0; i < 8; i++) nonce[IV_LEN - 1 - i]! ^= Number((seq >> BigInt(8 * i)) & 0xffn);
  return nonce;
}

/**
 * One TLSCiphertext record (RFC 8446 §5.2): inner plaintext = content ‖ content type (no padding),
 * outer type application_data, version 0x0303, AAD = the 5-byte header.
 */
export function sealRecord(keys: TrafficKeys, seq: bigint, contentType: number, content: Buffer): Buffer {
  const inner = Buffer.concat([content, Buffer.of(contentType)]);
  const length = inner.length + TAG_LEN;
  const header = Buffer.of(CONTENT_APPLICATION_DATA, LEGACY_RECORD_VERSION >> 8, LEGACY_RECORD_VERSION & 0xff, length >> 8, length & 0xff);
  const cipher = createCipheriv(SUITES[keys.suite].cipher, keys.key, recordNonce(keys.iv, seq), { authTagLength: TAG_LEN });
  cipher.setAAD(header);
  return Buffer.concat([header, cipher.update(inner), cipher.final(), cipher.getAuthTag()]);
}

/** Decrypts one record sealed by sealRecord (tests, diagnostics); throws if the tag is wrong. */
export function openRecord(keys: TrafficKeys, seq: bigint, record: Buffer): { contentType: number; content: Buffer } {
  const header = record.subarray(0, 5);
  const body = record.subarray(5, record.length - TAG_LEN);
  const decipher = createDecipheriv(SUITES[keys.suite].cipher, keys.key, recordNonce(keys.iv, seq), { authTagLength: TAG_LEN });
  decipher.setAAD(header);
  decipher.setAuthTag(record.subarray(record.length - TAG_LEN));
  const inner = Buffer.concat([decipher.update(body), decipher.final()]);
  let end = inner.length;
  while (end > 0 && inner[end - 1] === 0) end--; // zero padding follows the content type (RFC 8446 §5.4)
  if (end === 0) throw new MeshError('TLS_HANDSHAKE', 'record has no content type');
  return { contentType: inner[end - 1]!, content: inner.subarray(0, end - 1) };
}

/** An encrypted alert record: [level, description] sealed as content type alert (21). */
export function alertRecord(keys: TrafficKeys, seq: bigint, alert: TlsAlertName, level = LEVEL_FATAL): Buffer {
  return sealRecord(keys, seq, CONTENT_ALERT, Buffer.of(level, TLS_ALERT[alert]));
}

/**
 * The traffic secret named `label` (e.g. SERVER_TRAFFIC_SECRET_0) from one NSS key-log line
 * (`LABEL <client_random hex> <secret hex>`, as Node's 'keylog' event yields it), or undefined.
 */
export function secretFromKeylogLine(line: Buffer | string, label: string): Buffer | undefined {
  const parts = line.toString('latin1').trim().split(' ');
  if (parts.length !== 3 || parts[0] !== label || !/^[0-9a-f]+$/i.test(parts[2]!)) return undefined;
  return Buffer.from(parts[2]!, 'hex');
}
