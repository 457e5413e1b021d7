// Client identity on the ADS server: the authenticator hook (what it sees, rejection, timeout) and
// the TLS listener with a mesh-CA serving certificate, optional and required mTLS, and rotation.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import type { PeerCertificate } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { requireSpiffeClient, type AdsCallInfo } from '../../src/controlplane/index.js';
import { ADDRESS_TYPE, ztunnelNode } from '../helpers/ads-client.js';
import { names, startAds, workloads, type AdsFixture } from '../helpers/ads-fixture.js';
import { makeTestPki, type TestCert, type TestPki } from '../helpers/certs.js';

const ISTIOD_ID = 'spiffe://cluster.local/ns/istio-system/sa/istiod';
const ZTUNNEL_ID = 'spiffe://cluster.local/ns/istio-system/sa/ztunnel';
const W1 = 'Kubernetes//Pod/default/w1';

let pki: TestPki;
let otherPki: TestPki;
let serving: TestCert;
before(async () => {
  pki = await makeTestPki();
  otherPki = await makeTestPki('O=elsewhere');
  serving = await pki.issue(ISTIOD_ID);
});

const fixtures: AdsFixture[] = [];
async function fixture(overrides: Parameters<typeof startAds>[0] = {}): Promise<AdsFixture> {
  const f = await startAds(overrides);
  f.cache.setResources(ADDRESS_TYPE, workloads(W1));
  fixtures.push(f);
  return f;
}
after(async () => {
  for (const f of fixtures) await f.close();
});

/** Client TLS trusting the mesh root; the server is checked by its SPIFFE URI (the test cert has no DNS/IP SAN). */
function tlsCredentials(clientCert?: TestCert, seen?: PeerCertificate[]): grpc.ChannelCredentials {
  return grpc.credentials.createSsl(
    Buffer.from(pki.rootPem),
    clientCert ? Buffer.from(clientCert.keyPem) : null,
    clientCert ? Buffer.from(clientCert.certChainPem) : null,
    {
      checkServerIdentity: (_host, cert) => {
        seen?.push(cert);
        return cert.subjectaltname === `URI:${ISTIOD_ID}` ? undefined : new Error(`unexpected server identity ${cert.subjectaltname}`);
      },
    },
  );
}

/** Opens a stream on the TLS port, sends the initial Address request; resolves with the first response or the status. */
async function tlsSync(f: AdsFixture, credentials: grpc.ChannelCredentials) {
  const c = f.client({ address: `127.0.0.1:${f.server.ports.tls}`, credentials, channelOptions: { 'grpc.use_local_subchannel_pool': 1 } });
  c.send({ node: ztunnelNode(), typeUrl: ADDRESS_TYPE });
  return Promise.race([c.next(ADDRESS_TYPE, 10_000).then((r) => ({ response: r, client: c })), c.status.then((s) => ({ status: s, client: c }))]);
}

test('authenticator: sees listener, peer and metadata; its principal is recorded; a rejection is UNAUTHENTICATED with its message', async () => {
  const seen: AdsCallInfo[] = [];
  const f = await fixture({
    authenticate: async (call) => {
      seen.push(call);
      const token = call.metadata.get('authorization')[0];
      if (token !== 'Bearer good-token') throw new Error('no valid bearer token');
      return 'spiffe://cluster.local/ns/istio-system/sa/ztunnel';
    },
  });
  const refused = f.client({ metadata: { authorization: 'Bearer forged' } });
  refused.send({ node: ztunnelNode(), typeUrl: ADDRESS_TYPE });
  const s = await refused.status;
  assert.equal(s.code, grpc.status.UNAUTHENTICATED);
  assert.match(s.details, /no valid bearer token/);
  assert.equal(refused.responses.length, 0, 'nothing served before authentication');
  const warn = await f.logs.waitFor('ADS: authentication failed');
  assert.equal(warn.err, 'no valid bearer token');

  const accepted = f.client({ metadata: { authorization: 'Bearer good-token', clusterid: 'Kubernetes' } });
  accepted.send({ node: ztunnelNode(), typeUrl: ADDRESS_TYPE });
  assert.deepEqual(names(await accepted.next(ADDRESS_TYPE)), [W1]);
  const call = seen[1]!;
  assert.equal(call.listener, 'plaintext');
  assert.match(call.peer, /^127\.0\.0\.1:\d+$/);
  assert.equal(call.metadata.get('clusterid')[0], 'Kubernetes');
  assert.equal(call.spiffeId, undefined);
  assert.equal(call.peerCertificate, undefined);
  assert.deepEqual(
    f.server.debugView().clients.map((c) => c.principal),
    ['spiffe://cluster.local/ns/istio-system/sa/ztunnel'],
  );
});

test('authenticator that never answers: the stream ends UNAUTHENTICATED at the auth timeout', async () => {
  const f = await fixture({ authenticate: () => new Promise<string>(() => {}), authTimeoutMs: 150 });
  const c = f.client();
  c.send({ node: ztunnelNode(), typeUrl: ADDRESS_TYPE });
  const s = await c.status;
  assert.equal(s.code, grpc.status.UNAUTHENTICATED);
  assert.match(s.details, /no answer within 150 ms/);
  assert.equal(f.server.connectionCount, 0);
});

test('TLS listener: the mesh-CA serving certificate; a client without a certificate has no SPIFFE identity', async () => {
  const seen: AdsCallInfo[] = [];
  const f = await fixture({
    plaintext: undefined,
    tls: { port: 0, host: '127.0.0.1', serving: { certChainPem: serving.certChainPem, keyPem: serving.keyPem }, client: { caPem: pki.rootPem } },
    authenticate: (call) => {
      seen.push(call);
      return call.spiffeId ?? 'jwt:ztunnel';
    },
  });
  assert.equal(f.server.ports.plaintext, undefined);
  const peers: PeerCertificate[] = [];
  const r = await tlsSync(f, tlsCredentials(undefined, peers));
  assert.ok('response' in r, `expected a response, got status ${JSON.stringify('status' in r ? r.status : '')}`);
  assert.deepEqual(names(r.response), [W1]);
  assert.equal(peers[0]!.fingerprint256, new X509Certificate(serving.certChainPem).fingerprint256);
  assert.equal(seen[0]!.listener, 'tls');
  assert.equal(seen[0]!.spiffeId, undefined);
  assert.equal(f.server.debugView().clients[0]!.listener, 'tls');
});

test('mTLS: the client certificate’s verified SPIFFE identity reaches the authenticator and becomes the principal', async () => {
  const seen: AdsCallInfo[] = [];
  const f = await fixture({
    plaintext: undefined,
    tls: { port: 0, host: '127.0.0.1', serving, client: { caPem: pki.rootPem } },
    authenticate: (call) => {
      seen.push(call);
      return requireSpiffeClient(call);
    },
  });
  const r = await tlsSync(f, tlsCredentials(await pki.issue(ZTUNNEL_ID)));
  assert.ok('response' in r);
  assert.equal(seen[0]!.spiffeId, ZTUNNEL_ID);
  assert.equal(seen[0]!.peerCertificate?.subjectaltname, `URI:${ZTUNNEL_ID}`);
  assert.equal(f.server.debugView().clients[0]!.principal, ZTUNNEL_ID);
});

test('mTLS optional: a certificate from another CA is ignored (no identity), so requireSpiffeClient refuses', async () => {
  const seen: AdsCallInfo[] = [];
  const f = await fixture({
    plaintext: undefined,
    tls: { port: 0, host: '127.0.0.1', serving, client: { caPem: pki.rootPem } },
    authenticate: (call) => {
      seen.push(call);
      return requireSpiffeClient(call);
    },
  });
  const r = await tlsSync(f, tlsCredentials(await otherPki.issue(ZTUNNEL_ID)));
  assert.ok('status' in r, 'refused');
  assert.equal(r.status.code, grpc.status.UNAUTHENTICATED);
  assert.match(r.status.details, /no verified client certificate/);
  assert.equal(seen[0]!.spiffeId, undefined);
  assert.equal(seen[0]!.peerCertificate, undefined);
});

test('mTLS required: a client without a certificate is refused in the handshake; the authenticator never runs', async () => {
  let calls = 0;
  const f = await fixture({
    plaintext: undefined,
    tls: { port: 0, host: '127.0.0.1', serving, client: { caPem: pki.rootPem, require: true } },
    authenticate: (call) => {
      calls++;
      return requireSpiffeClient(call);
    },
  });
  const r = await tlsSync(f, tlsCredentials());
  assert.ok('status' in r, 'refused');
  assert.equal(r.status.code, grpc.status.UNAVAILABLE);
  assert.equal(calls, 0);
  const ok = await tlsSync(f, tlsCredentials(await pki.issue(ZTUNNEL_ID)));
  assert.ok('response' in ok, 'a client with a mesh certificate gets through');
  assert.equal(calls, 1);
});

test('rotateServingCertificate: new connections get the new certificate', async () => {
  const f = await fixture({ plaintext: undefined, tls: { port: 0, host: '127.0.0.1', serving } });
  const peers: PeerCertificate[] = [];
  assert.ok('response' in (await tlsSync(f, tlsCredentials(undefined, peers))));
  const next = await pki.issue(ISTIOD_ID);
  f.server.rotateServingCertificate(next);
  await new Promise((resolve) => setImmediate(resolve)); // the update is applied on a microtask
  assert.ok('response' in (await tlsSync(f, tlsCredentials(undefined, peers))));
  assert.deepEqual(
    peers.map((p) => p.fingerprint256),
    [new X509Certificate(serving.certChainPem).fingerprint256, new X509Certificate(next.certChainPem).fingerprint256],
  );
});
