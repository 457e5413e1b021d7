// HBONE mTLS with real sockets on 127.0.0.1: both identities seen, every refusal the wire facts
// require (foreign CA, wrong SAN, two SPIFFE SANs, expiry, other trust domain, plaintext, TLS 1.2,
// no resumption), and certificate rotation that leaves open connections alone.

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BuiltinCaClient,
  CertManager,
  FileCaClient,
  splitPemBundle,
  type WorkloadCertificate,
} from '../../src/identity/index.js';
import {
  clientConnectOptions,
  peerIdentity,
  serverSecureContext,
  serverSocketOptions,
  verifyClientPeer,
  formatSpiffeId,
  type Identity,
} from '../../src/tls/index.js';
import { meshErrorOf } from '../../src/common/errors.js';
import { silentLogger } from '../../src/common/log.js';
import { makeTestPki, type TestPki } from '../helpers/certs.js';
import { makePluginCaDir } from '../helpers/plugin-ca-files.js';

const TD = 'cluster.local';
const SERVER_ID = `spiffe://${TD}/ns/server/sa/echo`;
const CLIENT_ID = `spiffe://${TD}/ns/client/sa/sleep`;

type ServerResult =
  | { kind: 'accepted'; identity: Identity; alpn: string | false | null; protocol: string | null; cipher: string; sni: string | false | undefined; clientSerial: string | undefined }
  | { kind: 'refused'; code: string }
  | { kind: 'failed'; error: string };

interface TestServer {
  readonly port: number;
  next(): Promise<ServerResult>;
}

/** An inbound HBONE-style TLS listener: TLSSocket per accepted socket, verifyClientPeer, echo. */
async function startServer(t: TestContext, serverCert: () => Promise<WorkloadCertificate> | WorkloadCertificate): Promise<TestServer> {
  const results: ServerResult[] = [];
  const waiters: Array<(r: ServerResult) => void> = [];
  const push = (r: ServerResult): void => {
    const w = waiters.shift();
    if (w) w(r);
    else results.push(r);
  };
  const sockets = new Set<net.Socket>();
  const server = net.createServer(async (raw) => {
    sockets.add(raw);
    raw.on('close', () => sockets.delete(raw));
    const cert = await serverCert();
    const socket = new tls.TLSSocket(raw, serverSocketOptions(serverSecureContext(cert)));
    let settled = false;
    socket.on('secure', () => {
      settled = true;
      try {
        const identity = verifyClientPeer(socket, TD);
        push({
          kind: 'accepted',
          identity,
          alpn: socket.alpnProtocol,
          protocol: socket.getProtocol(),
          cipher: socket.getCipher().standardName,
          sni: (socket as tls.TLSSocket & { servername?: string | false }).servername,
          clientSerial: socket.getPeerX509Certificate()?.serialNumber,
        });
        socket.pipe(socket);
      } catch (err) {
        push({ kind: 'refused', code: meshErrorOf(err)?.code ?? String(err) });
        socket.destroy();
      }
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (!settled) {
        settled = true;
        push({ kind: 'failed', error: err.code ?? err.message });
      }
    });
    socket.on('close', () => {
      if (!settled) {
        settled = true;
        push({ kind: 'failed', error: 'closed before handshake' });
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(async () => {
    for (const s of sockets) s.destroy();
    server.close();
    await once(server, 'close');
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    next: () => {
      const r = results.shift();
      return r ? Promise.resolve(r) : new Promise((resolve) => waiters.push(resolve));
    },
  };
}

/** Resolves on secureConnect, rejects with the first error. */
function connectTls(t: TestContext, options: tls.ConnectionOptions): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect(options);
    t.after(() => socket.destroy());
    socket.once('secureConnect', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Writes `msg` and resolves with the echo, or rejects if the socket closes first. */
function roundTrip(socket: tls.TLSSocket, msg: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = '';
    const onData = (d: Buffer): void => {
      got += d.toString();
      if (got.length >= msg.length) {
        cleanup();
        resolve(got);
      }
    };
    const onClose = (): void => {
      cleanup();
      reject(new Error(`socket closed after ${JSON.stringify(got)}`));
    };
    const cleanup = (): void => {
      socket.off('data', onData);
      socket.off('close', onClose);
    };
    socket.on('data', onData);
    socket.on('close', onClose);
    socket.on('error', () => {}); // 'close' follows
    socket.write(msg);
  });
}

/** Resolves on 'close' (events.once would reject on the 'error' that precedes it). */
function closed(socket: net.Socket): Promise<void> {
  return socket.destroyed && socket.closed ? Promise.resolve() : new Promise((resolve) => socket.once('close', () => resolve()));
}

function asWorkloadCert(identity: string, c: { certChainPem: string; keyPem: string }, rootsPem: string): WorkloadCertificate {
  return { identity, certChainPem: c.certChainPem, keyPem: c.keyPem, rootsPem, notBefore: new Date(0), notAfter: new Date(0), serialNumber: '' };
}

async function meshCerts(pki?: TestPki): Promise<{ pki: TestPki; server: WorkloadCertificate; client: WorkloadCertificate }> {
  const p = pki ?? (await makeTestPki());
  return {
    pki: p,
    server: asWorkloadCert(SERVER_ID, await p.issue(SERVER_ID), p.rootPem),
    client: asWorkloadCert(CLIENT_ID, await p.issue(CLIENT_ID), p.rootPem),
  };
}

test('mTLS handshake: TLS 1.3, ALPN h2, no SNI, both identities seen', async (t) => {
  const { server, client } = await meshCerts();
  const srv = await startServer(t, () => server);
  // A host name (not an IP) proves the name is ignored and not sent as SNI.
  const socket = await connectTls(t, { ...clientConnectOptions(client, [SERVER_ID]), host: 'localhost', port: srv.port });
  assert.deepEqual(peerIdentity(socket), { trustDomain: TD, namespace: 'server', serviceAccount: 'echo' });
  assert.equal(socket.alpnProtocol, 'h2');
  assert.equal(socket.getProtocol(), 'TLSv1.3');
  const r = await srv.next();
  assert.equal(r.kind, 'accepted');
  if (r.kind !== 'accepted') return;
  assert.equal(formatSpiffeId(r.identity), CLIENT_ID);
  assert.equal(r.alpn, 'h2');
  assert.equal(r.protocol, 'TLSv1.3');
  assert.ok(['TLS_AES_256_GCM_SHA384', 'TLS_AES_128_GCM_SHA256'].includes(r.cipher), r.cipher);
  assert.ok(!r.sni, `no SNI expected, got ${String(r.sni)}`);
  assert.equal(await roundTrip(socket, 'ping'), 'ping');
});

test('a plug-in CA chain (RSA intermediate) is presented and verified end to end', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ambit-tls-plugin-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  await makePluginCaDir({ keyKind: 'rsa-2048', dir });
  const ca = await FileCaClient.open({ dir, logger: silentLogger() });
  const cm = new CertManager({ ca, ttlSeconds: 3600, logger: silentLogger() });
  cm.start();
  t.after(() => cm.destroy());
  const server = await cm.fetch(SERVER_ID);
  const client = await cm.fetch(CLIENT_ID);
  assert.equal(splitPemBundle(server.certChainPem).length, 2, 'leaf + intermediate, the root only in the bundle');
  const srv = await startServer(t, () => server);
  const socket = await connectTls(t, { ...clientConnectOptions(client, [SERVER_ID]), host: '127.0.0.1', port: srv.port });
  assert.equal(formatSpiffeId(peerIdentity(socket)!), SERVER_ID);
  const r = await srv.next();
  assert.equal(r.kind === 'accepted' && formatSpiffeId(r.identity), CLIENT_ID);
  assert.equal(await roundTrip(socket, 'rsa'), 'rsa');
});

test('a client certificate from a foreign CA is refused by the server', async (t) => {
  const { pki, server } = await meshCerts();
  const foreign = await makeTestPki();
  // The client trusts the mesh root (so it accepts the server) but its own cert is foreign.
  const client = asWorkloadCert(CLIENT_ID, await foreign.issue(CLIENT_ID), pki.rootPem);
  const srv = await startServer(t, () => server);
  const socket = await connectTls(t, { ...clientConnectOptions(client, [SERVER_ID]), host: '127.0.0.1', port: srv.port });
  assert.deepEqual(await srv.next(), { kind: 'refused', code: 'CERT_INVALID' });
  await assert.rejects(roundTrip(socket, 'ping'), /socket closed/);
});

test('a client identity in another trust domain is refused by the server', async (t) => {
  const { pki, server } = await meshCerts();
  const id = 'spiffe://other.domain/ns/client/sa/sleep';
  const client = asWorkloadCert(id, await pki.issue(id), pki.rootPem);
  const srv = await startServer(t, () => server);
  const socket = await connectTls(t, { ...clientConnectOptions(client, [SERVER_ID]), host: '127.0.0.1', port: srv.port });
  assert.deepEqual(await srv.next(), { kind: 'refused', code: 'IDENTITY_MISMATCH' });
  await assert.rejects(roundTrip(socket, 'ping'), /socket closed/);
});

test('a client certificate with two SPIFFE identities is refused even if one is in our trust domain', async (t) => {
  const { pki, server } = await meshCerts();
  const evil = 'spiffe://evil.example/ns/x/sa/admin';
  for (const [first, extra] of [[evil, CLIENT_ID], [CLIENT_ID, evil]] as const) {
    const client = asWorkloadCert(first, await pki.issue(first, { extraUris: [extra] }), pki.rootPem);
    const srv = await startServer(t, () => server);
    const socket = await connectTls(t, { ...clientConnectOptions(client, [SERVER_ID]), host: '127.0.0.1', port: srv.port });
    assert.deepEqual(await srv.next(), { kind: 'refused', code: 'CERT_INVALID' }, `SANs [${first}, ${extra}]`);
    await assert.rejects(roundTrip(socket, 'ping'), /socket closed/);
  }
});

test('a server certificate with two SPIFFE identities is refused by the client even if one is expected', async (t) => {
  const { pki, client } = await meshCerts();
  const twoSans = asWorkloadCert(SERVER_ID, await pki.issue(SERVER_ID, { extraUris: ['spiffe://cluster.local/ns/server/sa/other'] }), pki.rootPem);
  const srv = await startServer(t, () => twoSans);
  await assert.rejects(
    connectTls(t, { ...clientConnectOptions(client, [SERVER_ID]), host: '127.0.0.1', port: srv.port }),
    (err) => meshErrorOf(err)?.code === 'CERT_INVALID' && /ambiguous/.test((err as Error).message),
  );
});

test('a server with the wrong SAN is refused by the client', async (t) => {
  const { server, client } = await meshCerts();
  const srv = await startServer(t, () => server);
  await assert.rejects(
    connectTls(t, { ...clientConnectOptions(client, ['spiffe://cluster.local/ns/server/sa/not-echo']), host: '127.0.0.1', port: srv.port }),
    (err) => meshErrorOf(err)?.code === 'IDENTITY_MISMATCH' && /identity mismatch/.test((err as Error).message),
  );
  // Any one expected SAN is enough.
  const ok = await connectTls(t, {
    ...clientConnectOptions(client, ['spiffe://cluster.local/ns/server/sa/not-echo', SERVER_ID]),
    host: '127.0.0.1',
    port: srv.port,
  });
  assert.equal(await roundTrip(ok, 'x'), 'x');
});

test('a server chain from a foreign CA is refused by the client', async (t) => {
  const { client } = await meshCerts();
  const foreign = await meshCerts();
  const srv = await startServer(t, () => foreign.server);
  await assert.rejects(
    connectTls(t, { ...clientConnectOptions(client, [SERVER_ID]), host: '127.0.0.1', port: srv.port }),
    // OpenSSL finds the mesh root by (equal) subject name and then fails its signature check.
    (err) => /SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|CERT_SIGNATURE_FAILURE/.test(String((err as NodeJS.ErrnoException).code)),
  );
});

test('expired certificates are refused in both directions', async (t) => {
  const { pki, server, client } = await meshCerts();
  const past = { notBefore: new Date(Date.now() - 7200_000), notAfter: new Date(Date.now() - 3600_000) };
  const expiredClient = asWorkloadCert(CLIENT_ID, await pki.issue(CLIENT_ID, past), pki.rootPem);
  const expiredServer = asWorkloadCert(SERVER_ID, await pki.issue(SERVER_ID, past), pki.rootPem);

  const good = await startServer(t, () => server);
  const socket = await connectTls(t, { ...clientConnectOptions(expiredClient, [SERVER_ID]), host: '127.0.0.1', port: good.port });
  assert.deepEqual(await good.next(), { kind: 'refused', code: 'CERT_INVALID' });
  await assert.rejects(roundTrip(socket, 'ping'), /socket closed/);

  const stale = await startServer(t, () => expiredServer);
  await assert.rejects(
    connectTls(t, { ...clientConnectOptions(client, [SERVER_ID]), host: '127.0.0.1', port: stale.port }),
    (err) => (err as NodeJS.ErrnoException).code === 'CERT_HAS_EXPIRED',
  );
});

test('plaintext, TLS 1.2, ChaCha20-only and certificate-less clients are refused', async (t) => {
  const { pki, server, client } = await meshCerts();
  const srv = await startServer(t, () => server);

  const plain = net.connect(srv.port, '127.0.0.1');
  t.after(() => plain.destroy());
  plain.on('error', () => {});
  plain.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
  assert.equal((await srv.next()).kind, 'failed');
  await closed(plain);

  const base = { cert: client.certChainPem, key: client.keyPem, ca: pki.rootPem, host: '127.0.0.1', port: srv.port, checkServerIdentity: () => undefined };
  await assert.rejects(connectTls(t, { ...base, maxVersion: 'TLSv1.2' }), (err) => /PROTOCOL_VERSION/.test(String((err as NodeJS.ErrnoException).code)));
  assert.equal((await srv.next()).kind, 'failed');

  await assert.rejects(connectTls(t, { ...base, ciphers: 'TLS_CHACHA20_POLY1305_SHA256' }), /handshake failure|HANDSHAKE_FAILURE/i);
  assert.equal((await srv.next()).kind, 'failed');

  // Without a certificate the TLS 1.3 client may finish first; the server still never accepts it.
  const noCert = tls.connect({ ca: pki.rootPem, host: '127.0.0.1', port: srv.port, checkServerIdentity: () => undefined, ALPNProtocols: ['h2'] });
  t.after(() => noCert.destroy());
  noCert.on('error', () => {});
  assert.equal((await srv.next()).kind, 'failed');
  await closed(noCert);
});

test('sessions are never resumed', async (t) => {
  const { server, client } = await meshCerts();
  const srv = await startServer(t, () => server);
  const opts = { ...clientConnectOptions(client, [SERVER_ID]), host: '127.0.0.1', port: srv.port };
  const first = tls.connect(opts);
  t.after(() => first.destroy());
  const [session] = (await once(first, 'session')) as [Buffer];
  // Node 20 loses a write issued synchronously from the 'session' callback (it runs inside
  // the TLS read); leave that stack before writing.
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(await roundTrip(first, 'a'), 'a');
  const second = await connectTls(t, { ...opts, session });
  assert.equal(second.isSessionReused(), false);
  assert.equal(await roundTrip(second, 'b'), 'b');
  assert.equal((await srv.next()).kind, 'accepted');
  assert.equal((await srv.next()).kind, 'accepted', 'the second connection did a full handshake with client auth');
});

test('rotation: an open connection keeps working, new connections get the new certificates', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ambit-tls-rotate-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const ca = await BuiltinCaClient.open({ stateDir: dir, trustDomain: TD, logger: silentLogger() });
  // A 2 s TTL makes the half-life rotation happen about a second after issuance, on real timers.
  const cm = new CertManager({ ca, ttlSeconds: 2, logger: silentLogger() });
  cm.start();
  t.after(() => cm.destroy());
  const srv = await startServer(t, () => cm.fetch(SERVER_ID));

  const clientCert1 = await cm.fetch(CLIENT_ID);
  const serverCert1 = await cm.fetch(SERVER_ID);
  const conn1 = await connectTls(t, { ...clientConnectOptions(clientCert1, [SERVER_ID]), host: '127.0.0.1', port: srv.port });
  const first = await srv.next();
  assert.equal(first.kind === 'accepted' && first.clientSerial, clientCert1.serialNumber);
  assert.equal(conn1.getPeerX509Certificate()?.serialNumber, serverCert1.serialNumber);
  assert.equal(await roundTrip(conn1, 'before'), 'before');

  await new Promise<void>((resolve) => {
    const rotated = new Set<string>();
    const off = cm.onRotate((identity, _cert, previous) => {
      if (previous) rotated.add(identity);
      if (rotated.has(SERVER_ID) && rotated.has(CLIENT_ID)) {
        off();
        resolve();
      }
    });
  });
  const serverCert2 = cm.cached(SERVER_ID)!;
  const clientCert2 = cm.cached(CLIENT_ID)!;
  assert.notEqual(serverCert2.serialNumber, serverCert1.serialNumber);
  assert.notEqual(clientCert2.serialNumber, clientCert1.serialNumber);

  assert.equal(await roundTrip(conn1, 'after'), 'after', 'the open connection survives rotation');

  const conn2 = await connectTls(t, { ...clientConnectOptions(clientCert2, [SERVER_ID]), host: '127.0.0.1', port: srv.port });
  const second = await srv.next();
  assert.equal(second.kind === 'accepted' && second.clientSerial, clientCert2.serialNumber);
  const servedSerial = conn2.getPeerX509Certificate()?.serialNumber;
  assert.notEqual(servedSerial, serverCert1.serialNumber, 'new connections get the new server certificate');
  assert.equal(servedSerial, cm.cached(SERVER_ID)?.serialNumber);
  assert.equal(await roundTrip(conn2, 'new'), 'new');
  assert.equal(await roundTrip(conn1, 'still'), 'still');
});
