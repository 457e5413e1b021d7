// HboneServer refusals on the wire: a client refused after the TLS 1.3 handshake receives the
// encrypted alert for its reason (a wrong sequence number or key would show "bad record mac"),
// seen by Node and by openssl s_client; refusals are logged at WARN once per source per window.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type * as net from 'node:net';
import { isMeshError } from '../../src/common/errors.js';
import { REJECTION_LOG_WINDOW_MS } from '../../src/hbone/server.js';
import { makeTestPki, type TestCert } from '../helpers/certs.js';
import { CLIENT_ID, SERVER_ID, startEcho, startRig, type HboneRig, type RigOptions } from '../helpers/hbone-fixture.js';
import { hboneClientTls, verifyPeerInTrustDomain } from '../helpers/hbone-tls.js';
import { captureLogs } from '../helpers/log-capture.js';
import { clientOptions, opensslClient, probeHbone, type ProbeOutcome } from '../helpers/tls-probe.js';

const SUITES = ['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384'] as const;

async function rigFor(t: { after(fn: () => unknown): void }, opts: RigOptions = {}): Promise<HboneRig> {
  const rig = await startRig(opts);
  t.after(() => rig.close());
  return rig;
}

/** The certificates a refused client may present, each with the alert it must get. */
async function refusedClients(rig: HboneRig): Promise<Array<{ name: string; cert: TestCert; code: string; alert: string }>> {
  const foreign = await makeTestPki();
  const past = { notBefore: new Date(Date.now() - 7200_000), notAfter: new Date(Date.now() - 3600_000) };
  return [
    { name: 'foreign CA', cert: await foreign.issue(CLIENT_ID), code: 'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA', alert: 'unknown_ca' },
    { name: 'expired', cert: await rig.pki.issue(CLIENT_ID, past), code: 'ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED', alert: 'certificate_expired' },
    {
      name: 'other trust domain',
      cert: await rig.pki.issue('spiffe://other.example/ns/default/sa/client'),
      code: 'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE',
      alert: 'bad_certificate',
    },
    {
      name: 'two SPIFFE identities',
      cert: await rig.pki.issue('spiffe://evil.example/ns/x/sa/admin', { extraUris: [CLIENT_ID] }),
      code: 'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE',
      alert: 'bad_certificate',
    },
  ];
}

function probe(rig: HboneRig, cert: TestCert, extra: Parameters<typeof clientOptions>[2] = {}): Promise<ProbeOutcome> {
  return probeHbone({ ...clientOptions(cert, rig.pki.rootPem, extra), host: '127.0.0.1', port: rig.serverPort }, '127.0.0.1:9');
}

test('each refused client gets its TLS alert after the handshake, under both cipher suites', async (t) => {
  const rig = await rigFor(t);
  for (const c of await refusedClients(rig)) {
    for (const suite of SUITES) {
      const o = await probe(rig, c.cert, { ciphers: suite });
      assert.equal(o.secure, true, `${c.name}/${suite}: the client finished the handshake first (TLS 1.3)`);
      assert.equal(o.error?.code, c.code, `${c.name}/${suite}: ${JSON.stringify(o)}`);
      assert.doesNotMatch(o.error?.message ?? '', /bad record mac|decrypt/i);
      assert.equal(o.status, undefined, 'no CONNECT is answered');
    }
  }
  assert.equal(rig.inbound.length, 0, 'no stream reached the handler');
  assert.equal(rig.errors.length, 8, 'every refusal is reported to onError');
  assert.ok(rig.errors.every((e) => e.phase === 'tls' || e.phase === 'identity'));
});

test('the HBONE pool client reports the alert it received', async (t) => {
  const rig = await rigFor(t);
  const foreign = await makeTestPki();
  const cert = await foreign.issue(CLIENT_ID);
  const pool = rig.newPool();
  await assert.rejects(
    pool.connect(rig.request('127.0.0.1:9', { tls: () => ({ ...hboneClientTls(cert, [SERVER_ID]), ca: rig.pki.rootPem }) })),
    (err: unknown) => isMeshError(err, 'TLS_HANDSHAKE') && /alert unknown ca/.test((err as Error).message),
  );
  // The same server still serves a good client.
  const echo = await startEcho();
  t.after(() => echo.server.close());
  const ok = await pool.connect(rig.request(`127.0.0.1:${echo.port}`, { key: 'good' }));
  ok.stream.destroy();
  assert.equal(rig.inbound.length, 1);
});

test('a client without ALPN h2 gets no_application_protocol; one without a certificate gets certificate_required', async (t) => {
  const rig = await rigFor(t);
  const noAlpn = await probe(rig, rig.clientCert, { ALPNProtocols: [] });
  assert.equal(noAlpn.error?.code, 'ERR_SSL_TLSV1_ALERT_NO_APPLICATION_PROTOCOL', JSON.stringify(noAlpn));
  // OpenSSL refuses this one itself, during the handshake (we require a certificate).
  const noCert = await probeHbone({ ca: rig.pki.rootPem, host: '127.0.0.1', port: rig.serverPort }, '127.0.0.1:9');
  assert.equal(noCert.error?.code, 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED', JSON.stringify(noCert));
  assert.equal(rig.inbound.length, 0);
});

test('openssl s_client sees the alert too (and no bad record mac)', async (t) => {
  const rig = await rigFor(t);
  const [foreign, expired] = await refusedClients(rig);
  for (const [c, number, text] of [[foreign!, 48, 'alert unknown ca'], [expired!, 45, 'alert certificate expired']] as const) {
    for (const suite of SUITES) {
      const out = await opensslClient('127.0.0.1', rig.serverPort, c.cert, rig.pki.rootPem, ['-ciphersuites', suite]);
      assert.ok(out.includes(text) && out.includes(`SSL alert number ${number}`), `${c.name}/${suite}:\n${out}`);
      assert.doesNotMatch(out, /bad record mac|decryption failed/i);
    }
  }
});

test('refusals are logged at WARN once per source IP per window; each one still reaches onError', async (t) => {
  const logs = captureLogs('info');
  const rig = await rigFor(t, { logger: logs.logger });
  const [foreign] = await refusedClients(rig);
  for (const localAddress of ['127.0.0.1', '127.0.0.1', '127.0.0.1', '127.0.0.2', '127.0.0.2']) {
    // tls.connect hands localAddress to net.connect; Node's types omit it.
    const o = await probe(rig, foreign!.cert, { localAddress } as Parameters<typeof clientOptions>[2]);
    assert.equal(o.error?.code, foreign!.code);
  }
  const warns = logs.lines.filter((l) => l.msg === 'hbone connection rejected');
  assert.equal(REJECTION_LOG_WINDOW_MS, 10_000);
  assert.deepEqual(
    warns.map((l) => [l.level, String(l.src).split(':')[0], l.alert, l.code, l.phase, l.suppressed]),
    [
      [40, '127.0.0.1', 'unknown_ca', 'CERT_INVALID', 'tls', 0],
      [40, '127.0.0.2', 'unknown_ca', 'CERT_INVALID', 'tls', 0],
    ],
  );
  assert.equal(rig.errors.filter((e) => isMeshError(e.err, 'CERT_INVALID')).length, 5);
});

test('when the alert cannot be placed correctly, the client gets a clean close_notify instead', async (t) => {
  const logs = captureLogs('debug');
  let raw: net.Socket | undefined;
  const inDomain = verifyPeerInTrustDomain('cluster.local');
  const rig = await rigFor(t, {
    logger: logs.logger,
    // Runs between 'secure' and the alert: pretend bytes left the socket meanwhile, so the
    // sequence number of the next record is no longer known to be 0.
    verifyPeer: (sock) => {
      raw = rig.accepted.at(-1);
      Object.defineProperty(raw, 'bytesWritten', { value: 1e9 });
      return inDomain(sock);
    },
  });
  const [, , otherDomain] = await refusedClients(rig);
  const o = await probe(rig, otherDomain!.cert);
  assert.ok(raw, 'verifyPeer ran');
  assert.equal(o.error, undefined, `a close, not an alert or a reset: ${JSON.stringify(o)}`);
  assert.equal(o.ended, true, 'the client saw the end of the TLS stream');
  const warn = await logs.waitFor('hbone connection rejected');
  assert.equal(warn.alert, 'close_notify');
  assert.match(String((await logs.waitFor('hbone: tls alert not sent')).reason), /sequence number unknown/);
});
