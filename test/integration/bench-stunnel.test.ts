// The stunnel reference path on loopback: data crosses both hops (TLS 1.3, mutual certificates from
// the mesh PKI); a client side holding a foreign certificate, or no certificate, is refused.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { once } from 'node:events';
import { startStunnelPath, startStunnel, stunnelConfig, runHere, type StunnelTls } from '../../bench/lib/index.js';
import { makeTestPki } from '../helpers/certs.js';
import { startEchoServer } from '../helpers/tcp.js';

async function freePort(): Promise<number> {
  const s = net.createServer().listen(0, '127.0.0.1');
  await once(s, 'listening');
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Sends `payload` and resolves with what comes back once `expect` bytes arrived or the peer closed. */
async function roundTrip(port: number, payload: Buffer, expect = payload.length): Promise<Buffer> {
  const s = net.connect({ port, host: '127.0.0.1' });
  s.on('error', () => undefined);
  const chunks: Buffer[] = [];
  let n = 0;
  s.on('data', (c: Buffer) => {
    chunks.push(c);
    n += c.length;
    if (n >= expect) s.end();
  });
  s.on('connect', () => s.write(payload));
  // Not once(): it rejects on 'error', and a refused peer resets the connection.
  await new Promise((r) => s.on('close', r));
  return Buffer.concat(chunks);
}

function asTls(c: { certChainPem: string; keyPem: string; rootPem: string }): StunnelTls {
  return { certChainPem: c.certChainPem, keyPem: c.keyPem, rootPem: c.rootPem };
}

test('stunnel two-hop mTLS path: bytes cross both hops; foreign or missing client certs are refused', async (t) => {
  const pki = await makeTestPki();
  const serverCert = asTls(await pki.issue('spiffe://cluster.local/ns/default/sa/server'));
  const clientCert = asTls(await pki.issue('spiffe://cluster.local/ns/default/sa/client'));
  const echo = await startEchoServer('127.0.0.1');
  t.after(() => echo.close());
  const [serverPort, clientPort, foreignPort] = [await freePort(), await freePort(), await freePort()];
  const path = await startStunnelPath({
    serverRunIn: runHere,
    clientRunIn: runHere,
    serverTls: serverCert,
    clientTls: clientCert,
    serverAccept: `127.0.0.1:${serverPort}`,
    app: `127.0.0.1:${echo.port}`,
    clientAccept: `127.0.0.1:${clientPort}`,
  });
  t.after(() => path.close());
  assert.ok(path.client.pid > 0 && path.server.pid > 0);

  const payload = Buffer.alloc(3 * 1024 * 1024, 'ambit');
  const back = await roundTrip(clientPort, payload);
  assert.equal(back.length, payload.length);
  assert.ok(back.equals(payload));
  // The echo server saw stunnel's server side, not the client: the bytes really took both hops.
  assert.equal(echo.peers.length, 1);
  // Logging at warning (the agents' --log-level warn): start-up notices, but no line per connection.
  for (const side of [path.client, path.server]) {
    assert.match(side.log(), /Configuration successful/);
    assert.doesNotMatch(side.log(), /accepted connection|connected remote server|Connection closed/, side.log());
  }

  // The server side speaks TLS 1.3 only and requires a client certificate of our root.
  const direct = (opts: tls.ConnectionOptions): Promise<string> =>
    new Promise((resolve) => {
      const s = tls.connect({ host: '127.0.0.1', port: serverPort, ca: pki.rootPem, checkServerIdentity: () => undefined, ...opts });
      s.on('secureConnect', () => {
        const proto = s.getProtocol() ?? '?';
        s.write('x');
        s.on('data', () => resolve(`ok ${proto}`));
      });
      s.on('error', (e) => resolve(`error ${e.message}`));
      s.on('close', () => resolve('closed'));
    });
  assert.equal(await direct({ cert: clientCert.certChainPem, key: clientCert.keyPem }), 'ok TLSv1.3');
  assert.match(await direct({ cert: clientCert.certChainPem, key: clientCert.keyPem, maxVersion: 'TLSv1.2' }), /^error|^closed/);
  assert.match(await direct({}), /^error|^closed/);

  // A client side whose certificate comes from another root: the server side refuses it.
  const other = await makeTestPki('O=elsewhere.example');
  const foreign = asTls(await other.issue('spiffe://elsewhere.example/ns/default/sa/intruder'));
  const intruder = await startStunnel(runHere, {
    role: 'client',
    accept: `127.0.0.1:${foreignPort}`,
    connect: `127.0.0.1:${serverPort}`,
    tls: { ...foreign, rootPem: pki.rootPem }, // trusts our server, presents a foreign cert
  });
  t.after(() => intruder.close());
  const refused = await roundTrip(foreignPort, Buffer.from('let me in'), 1);
  assert.equal(refused.length, 0);
  assert.equal(echo.peers.length, 2); // the TLS probe above reached the app; the intruder did not
  await path.server.waitForLog(/Rejected by CERT at depth=0[\s\S]*certificate verify failed/);
  await path.server.waitForLog(/peer did not return a certificate/); // the probe without a certificate
});

test('stunnel config: TLS 1.3 minimum, chain verification, foreground, no pid file, explicit log levels', () => {
  const conf = stunnelConfig(
    { role: 'server', accept: '0.0.0.0:15443', connect: '127.0.0.1:8080', tls: { certChainPem: '', keyPem: '', rootPem: '' } },
    { cert: '/c.pem', key: '/k.pem', ca: '/r.pem' },
  );
  assert.match(conf, /^foreground = yes$/m);
  assert.match(conf, /^sslVersionMin = TLSv1\.3$/m);
  assert.match(conf, /^verifyChain = yes$/m);
  assert.match(conf, /^CAfile = \/r\.pem$/m);
  assert.doesNotMatch(conf, /client = yes/);
  // Global level before the first section, the connections' level inside it.
  const [global, service] = conf.split(/^\[ambit-bench-server\]$/m);
  assert.match(global!, /^debug = notice$/m);
  assert.match(service!, /^debug = warning$/m);
  const verbose = stunnelConfig(
    { role: 'client', accept: 'a:1', connect: 'b:2', tls: { certChainPem: '', keyPem: '', rootPem: '' }, logging: { global: 'info', service: 'notice' } },
    { cert: '/c.pem', key: '/k.pem', ca: '/r.pem' },
  );
  assert.match(verbose, /^debug = info\n\n\[ambit-bench-client\]\ndebug = notice$/m);
});
