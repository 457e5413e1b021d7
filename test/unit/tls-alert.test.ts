// Unit tests of the TLS 1.3 alert record builder (src/tls/tls-alert.ts) against RFC 8448 §3, by
// round trip for both HBONE suites, and of the verify-error → alert choice (server-alert.ts).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  alertForVerifyError,
  alertRecord,
  hkdfExpandLabel,
  openRecord,
  secretFromKeylogLine,
  trafficKeys,
  TLS_ALERT,
} from '../../src/tls/index.js';
import { isMeshError } from '../../src/common/errors.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

// RFC 8448 §3 (Simple 1-RTT Handshake, TLS_AES_128_GCM_SHA256): the server application traffic
// secret, the keys derived from it, and the server's close_notify, its third record under that
// secret (NewSessionTicket = 0, application data = 1, alert = 2).
const S_AP_TRAFFIC = hex('a1 1a f9 f0 55 31 f8 56 ad 47 11 6b 45 a9 50 32 82 04 b4 f4 4b fb 6b 3a 4b 4f 1f 3f cb 63 16 43');
const S_AP_KEY = hex('9f 02 28 3b 6c 9c 07 ef c2 6b b9 f2 ac 92 e3 56');
const S_AP_IV = hex('cf 78 2b 88 dd 83 54 9a ad f1 e9 84');
const S_CLOSE_NOTIFY = hex('17 03 03 00 13 b5 8f d6 71 66 eb f5 99 d2 47 20 cf be 7e fa 7a 88 64 a9');
// The same trace's server handshake traffic secret and its write key (HKDF-Expand-Label "key").
const S_HS_TRAFFIC = hex('b6 7b 7d 69 0c c1 6c 4e 75 e5 42 13 cb 2d 37 b4 e9 c9 12 bc de d9 10 5d 42 be fd 59 d3 91 ad 38');
const S_HS_KEY = hex('3f ce 51 60 09 c2 17 27 d0 f2 e4 e8 6e e4 03 bc');

test('RFC 8448: traffic keys and the server close_notify record, byte for byte', () => {
  assert.deepEqual(hkdfExpandLabel('TLS_AES_128_GCM_SHA256', S_HS_TRAFFIC, 'key', Buffer.alloc(0), 16), S_HS_KEY);
  const keys = trafficKeys('TLS_AES_128_GCM_SHA256', S_AP_TRAFFIC);
  assert.deepEqual(keys.key, S_AP_KEY);
  assert.deepEqual(keys.iv, S_AP_IV);
  assert.deepEqual(alertRecord(keys, 2n, 'close_notify', 1), S_CLOSE_NOTIFY);
  assert.deepEqual(openRecord(keys, 2n, S_CLOSE_NOTIFY), { contentType: 21, content: Buffer.of(1, 0) });
  // The sequence number is part of the nonce: the neighbours do not open.
  assert.throws(() => openRecord(keys, 1n, S_CLOSE_NOTIFY));
  assert.throws(() => openRecord(keys, 3n, S_CLOSE_NOTIFY));
});

test('fatal alerts round-trip for both suites; the header is the TLS 1.3 outer header', () => {
  for (const [suite, secretLen, keyLen] of [
    ['TLS_AES_128_GCM_SHA256', 32, 16],
    ['TLS_AES_256_GCM_SHA384', 48, 32],
  ] as const) {
    const keys = trafficKeys(suite, randomBytes(secretLen));
    assert.equal(keys.key.length, keyLen);
    assert.equal(keys.iv.length, 12);
    for (const [alert, seq] of [['unknown_ca', 0n], ['certificate_expired', 5n], ['bad_certificate', (1n << 64n) - 1n]] as const) {
      const rec = alertRecord(keys, seq, alert);
      // type application_data, legacy version 0x0303, length = 2 + 1 (inner type) + 16 (tag).
      assert.deepEqual(rec.subarray(0, 5), Buffer.of(23, 3, 3, 0, 19), `${suite} ${alert}`);
      assert.equal(rec.length, 24);
      assert.deepEqual(openRecord(keys, seq, rec), { contentType: 21, content: Buffer.of(2, TLS_ALERT[alert]) });
    }
  }
  assert.ok(isMeshError(captureThrow(() => trafficKeys('TLS_AES_256_GCM_SHA384', randomBytes(32))), 'TLS_HANDSHAKE'), 'secret length must match the hash');
  const keys = trafficKeys('TLS_AES_128_GCM_SHA256', S_AP_TRAFFIC);
  assert.ok(isMeshError(captureThrow(() => alertRecord(keys, 1n << 64n, 'unknown_ca')), 'TLS_HANDSHAKE'), 'sequence numbers are 64-bit');
});

function captureThrow(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
}

test('the server traffic secret is read from an NSS key-log line, nothing else is', () => {
  const random = 'ab'.repeat(32);
  const secret = 'cd'.repeat(48);
  assert.deepEqual(secretFromKeylogLine(Buffer.from(`SERVER_TRAFFIC_SECRET_0 ${random} ${secret}\n`), 'SERVER_TRAFFIC_SECRET_0'), hex(secret));
  assert.equal(secretFromKeylogLine(`CLIENT_TRAFFIC_SECRET_0 ${random} ${secret}\n`, 'SERVER_TRAFFIC_SECRET_0'), undefined);
  assert.equal(secretFromKeylogLine(`SERVER_TRAFFIC_SECRET_0 ${random}\n`, 'SERVER_TRAFFIC_SECRET_0'), undefined);
  assert.equal(secretFromKeylogLine(`SERVER_TRAFFIC_SECRET_0 ${random} zz${secret}\n`, 'SERVER_TRAFFIC_SECRET_0'), undefined);
});

test('chain verify errors map to the alert OpenSSL itself would send', () => {
  for (const code of ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT']) {
    assert.equal(alertForVerifyError(code), 'unknown_ca', code);
  }
  assert.equal(alertForVerifyError('CERT_HAS_EXPIRED'), 'certificate_expired');
  assert.equal(alertForVerifyError('CERT_NOT_YET_VALID'), 'certificate_expired');
  assert.equal(alertForVerifyError('CERT_SIGNATURE_FAILURE'), 'decrypt_error');
  assert.equal(alertForVerifyError('CERT_REVOKED'), 'certificate_revoked');
  assert.equal(alertForVerifyError('INVALID_PURPOSE'), 'bad_certificate');
  assert.equal(alertForVerifyError('certificate verification result unavailable'), 'bad_certificate');
});
