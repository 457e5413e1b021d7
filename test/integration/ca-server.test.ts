// The control plane's CA server against the node agent's unchanged istiod CA provider and a bare
// gRPC client: builtin and plug-in roots, TTL cap, every refusal with its gRPC status, mTLS callers,
// token file reload, Kubernetes TokenReview, metrics and the recent-decisions list.

import 'reflect-metadata'; // before @peculiar/x509 (it needs the polyfill at load)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import * as tls from 'node:tls';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { status } from '@grpc/grpc-js';
import { loadConfig } from '../../src/config/index.js';
import { isMeshError } from '../../src/common/errors.js';
import { silentLogger } from '../../src/common/log.js';
import { BuiltinCaClient, createCaClient, createCsr, generateKeyPair, uriSans, type CaClient } from '../../src/identity/index.js';
import { KubeTokenReviewer, caServerCredentials, type RefusalReason } from '../../src/controlplane/index.js';
import { CLIENT_ID, ECHO_ID } from '../helpers/mesh-config.js';
import { makeTestPki } from '../helpers/certs.js';
import { makePluginCaDir } from '../helpers/plugin-ca-files.js';
import { metricSum } from '../helpers/prometheus-text.js';
import { callCa, type RawCaCall, type RawCaResult } from '../helpers/ca-raw-client.js';
import { MESH_PODS, TOKENS, TOKEN_FILE, startCaFixture, type CaFixture } from '../helpers/ca-server-fixture.js';
import { startFakeTokenReview } from '../helpers/fake-kube-tokenreview.js';
import { waitUntil } from '../helpers/two-node-mesh.js';

const ZTUNNEL_ID = 'spiffe://cluster.local/ns/istio-system/sa/ztunnel';

let ca: CaFixture;
before(async () => {
  ca = await startCaFixture();
});
after(() => ca?.close());

/** The node agent's own istiod provider, configured through its config exactly as in production. */
async function agentCaClient(f: CaFixture, token: string, env: Record<string, string> = {}): Promise<CaClient> {
  const rootFile = join(f.dir, 'root-cert.pem');
  writeFileSync(rootFile, f.service.rootCertPem);
  const tokenFile = join(f.dir, `agent-token-${token}`);
  writeFileSync(tokenFile, `${token}\n`);
  const config = loadConfig([], { AMBIT_CA_PROVIDER: 'istiod', CA_ADDRESS: f.server.address, CA_ROOT_CA: rootFile, AUTH_TOKEN: tokenFile, CLUSTER_ID: 'Kubernetes', ...env });
  return createCaClient(config.ca, silentLogger());
}

async function csrFor(id: string): Promise<string> {
  return createCsr(id, await generateKeyPair());
}

function issued(child: string, parent: string): boolean {
  const c = new X509Certificate(child);
  const p = new X509Certificate(parent);
  return c.checkIssued(p) && c.verify(p.publicKey);
}

async function metric(f: CaFixture, name: string, labels: Record<string, string> = {}): Promise<number> {
  return metricSum(await f.service.registry.metrics(), name, labels);
}

function raw(f: CaFixture, call: Omit<RawCaCall, 'target' | 'rootPem'>): Promise<RawCaResult> {
  return callCa({ target: f.target, rootPem: f.service.rootCertPem, ...call });
}

function assertRefused(r: RawCaResult, code: status, fragment: string): void {
  assert.equal(r.ok, false, `expected a refusal containing "${fragment}"`);
  if (r.ok) return;
  assert.equal(status[r.code], status[code], r.details);
  assert.ok(r.details.includes(fragment), `expected "${fragment}" in: ${r.details}`);
}

test('the agent istiod provider, unchanged, gets certificates from the builtin root (TLS, root file, token file, impersonation)', async () => {
  const client = await agentCaClient(ca, TOKENS.agentA);
  try {
    const before = await metric(ca, 'ambit_ca_certificates_issued_total', { impersonated: 'true' });
    const chain = await client.sign(await csrFor(CLIENT_ID), CLIENT_ID, 3600);
    // istiod's shape for a root that signs directly: [leaf, root], each one PEM ending in "\n".
    assert.equal(chain.length, 2);
    for (const pem of chain) assert.match(pem, /^-----BEGIN CERTIFICATE-----\n[\s\S]+-----END CERTIFICATE-----\n$/);
    assert.deepEqual(uriSans(new X509Certificate(chain[0]!)), [CLIENT_ID]);
    assert.equal(chain[1], ca.service.rootCertPem);
    assert.ok(issued(chain[0]!, chain[1]!));
    // The same state-dir files as the agent's builtin provider: both sides trust one root.
    const agentBuiltin = await BuiltinCaClient.open({ stateDir: join(ca.dir, 'state'), logger: silentLogger() });
    assert.equal(agentBuiltin.rootCertPem, ca.service.rootCertPem);
    agentBuiltin.close();

    assert.equal(await metric(ca, 'ambit_ca_certificates_issued_total', { impersonated: 'true' }), before + 1);
    assert.ok((await metric(ca, 'ambit_ca_signing_duration_seconds_count')) >= 1);
    const rec = ca.service.recent()[0]!;
    assert.equal(rec.outcome, 'issued');
    assert.equal(rec.requested, CLIENT_ID);
    assert.equal(rec.caller, ZTUNNEL_ID);
    assert.equal(rec.node, 'a', 'the caller node comes from its pod ztunnel-a');
    assert.equal(rec.serialNumber, new X509Certificate(chain[0]!).serialNumber);
  } finally {
    client.close();
  }
});

test('plug-in cacerts: cert_chain is leaf, intermediates, root, one certificate per element', async () => {
  const plugin = await makePluginCaDir({ depth: 2 });
  const f = await startCaFixture({ root: { kind: 'plugin', dir: plugin.dir } });
  const client = await agentCaClient(f, TOKENS.agentB);
  try {
    const chain = await client.sign(await csrFor(ECHO_ID), ECHO_ID, 3600);
    assert.equal(chain.length, 4);
    assert.equal(chain[1], plugin.intermediates[0]!.certPem);
    assert.equal(chain[2], plugin.intermediates[1]!.certPem);
    assert.equal(chain[3], plugin.root.certPem);
    for (let i = 0; i + 1 < chain.length; i++) assert.ok(issued(chain[i]!, chain[i + 1]!), `element ${i} is issued by ${i + 1}`);
  } finally {
    client.close();
    await f.close();
  }
});

test('TTL: capped at the configured max; non-positive gets the default', async () => {
  const f = await startCaFixture({ maxTtlSeconds: 600, defaultTtlSeconds: 300 });
  try {
    for (const [requested, expected] of [
      [86_400, 600],
      [0, 300],
      [120, 120],
    ] as const) {
      const r = await raw(f, { token: TOKENS.app, csrFor: CLIENT_ID, ttlSeconds: requested });
      assert.ok(r.ok, r.ok ? '' : r.details);
      const leaf = new X509Certificate(r.chain[0]!);
      const lifetime = (Date.parse(leaf.validTo) - Date.now()) / 1000;
      assert.ok(lifetime <= expected && lifetime > expected - 30, `requested ${requested}: lifetime ${lifetime}s, expected ~${expected}s`);
      assert.equal(f.service.recent()[0]!.ttlSeconds, expected);
    }
  } finally {
    await f.close();
  }
});

test('refusals fail closed with the right gRPC status, metric reason and debug record', async () => {
  const foreign = await makeTestPki('O=foreign-mesh');
  const foreignClient = await foreign.issue(CLIENT_ID);
  const cases: Array<{ name: string; call: Omit<RawCaCall, 'target' | 'rootPem'>; code: status; reason: RefusalReason; fragment: string }> = [
    { name: 'no credential', call: { csrFor: CLIENT_ID }, code: status.UNAUTHENTICATED, reason: 'unauthenticated', fragment: 'no credential' },
    { name: 'unknown token', call: { token: 'nope', csrFor: CLIENT_ID }, code: status.UNAUTHENTICATED, reason: 'unauthenticated', fragment: 'refused by token file' },
    { name: 'wrong clusterid', call: { token: TOKENS.app, clusterId: 'other', csrFor: CLIENT_ID }, code: status.UNAUTHENTICATED, reason: 'cluster_id', fragment: 'not this cluster' },
    {
      name: 'clusterid repeated (arrives joined, never matches)',
      call: { token: TOKENS.app, extraMetadata: { clusterid: 'Kubernetes' }, csrFor: CLIENT_ID },
      code: status.UNAUTHENTICATED,
      reason: 'cluster_id',
      fragment: 'is not this cluster',
    },
    {
      name: 'mTLS certificate from a foreign root (no token)',
      call: { clientCert: { certChainPem: foreignClient.certChainPem, keyPem: foreignClient.keyPem }, csrFor: CLIENT_ID },
      code: status.UNAUTHENTICATED,
      reason: 'unauthenticated',
      fragment: 'no credential',
    },
    {
      name: 'impersonation by an untrusted caller',
      call: { token: TOKENS.app, impersonate: ECHO_ID, csrFor: ECHO_ID },
      code: status.PERMISSION_DENIED,
      reason: 'untrusted_impersonation',
      fragment: 'default/client is not a trusted node account',
    },
    {
      name: 'impersonation of a workload on another node',
      call: { token: TOKENS.agentA, impersonate: ECHO_ID, csrFor: ECHO_ID },
      code: status.PERMISSION_DENIED,
      reason: 'workload_not_on_node',
      fragment: 'no pod running as default/echo is on node a',
    },
    {
      name: 'impersonation outside the trust domain',
      call: { token: TOKENS.agentA, impersonate: 'spiffe://other.domain/ns/default/sa/client', csrFor: 'spiffe://other.domain/ns/default/sa/client' },
      code: status.PERMISSION_DENIED,
      reason: 'trust_domain',
      fragment: 'not in the mesh trust domain cluster.local',
    },
    {
      name: 'impersonation of a malformed identity',
      call: { token: TOKENS.agentA, impersonate: 'spiffe://cluster.local/default/client', csrFor: CLIENT_ID },
      code: status.INVALID_ARGUMENT,
      reason: 'invalid_identity',
      fragment: 'is not spiffe://',
    },
    {
      name: 'CSR for another identity than the caller',
      call: { token: TOKENS.app, csrFor: ECHO_ID },
      code: status.PERMISSION_DENIED,
      reason: 'identity_mismatch',
      fragment: `may only have ${CLIENT_ID} signed`,
    },
    {
      name: 'CSR for another identity than the impersonated one',
      call: { token: TOKENS.agentA, impersonate: CLIENT_ID, csrFor: ZTUNNEL_ID },
      code: status.PERMISSION_DENIED,
      reason: 'identity_mismatch',
      fragment: 'asks for',
    },
    { name: 'garbage CSR', call: { token: TOKENS.app, csr: 'not a csr' }, code: status.INVALID_ARGUMENT, reason: 'invalid_csr', fragment: 'invalid CSR' },
  ];
  for (const c of cases) {
    const before = await metric(ca, 'ambit_ca_requests_refused_total', { reason: c.reason });
    const r = await raw(ca, c.call);
    assertRefused(r, c.code, c.fragment);
    assert.equal(await metric(ca, 'ambit_ca_requests_refused_total', { reason: c.reason }), before + 1, `${c.name}: refusal counted`);
    const rec = ca.service.recent()[0]!;
    assert.equal(rec.outcome, 'refused', c.name);
    assert.equal(rec.reason, c.reason, c.name);
  }
});

test('a refusal reaches the agent istiod provider as CA_ERROR with the status', async () => {
  for (const [token, id, fragment] of [
    ['revoked', CLIENT_ID, 'UNAUTHENTICATED'],
    [TOKENS.agentB, CLIENT_ID, 'PERMISSION_DENIED'],
  ] as const) {
    const client = await agentCaClient(ca, token);
    try {
      await assert.rejects(client.sign(await csrFor(id), id, 3600), (err: unknown) => isMeshError(err, 'CA_ERROR') && err.message.includes(fragment));
    } finally {
      client.close();
    }
  }
});

test('mTLS callers: a mesh certificate authenticates its own identity; it cannot impersonate without a pod', async () => {
  const own = await raw(ca, { token: TOKENS.app, csrFor: CLIENT_ID });
  assert.ok(own.ok);
  const clientCert = { certChainPem: own.chain.slice(0, -1).join(''), keyPem: own.keyPem };
  const renewed = await raw(ca, { clientCert, csrFor: CLIENT_ID });
  assert.ok(renewed.ok, renewed.ok ? '' : renewed.details);
  assert.equal(ca.service.recent()[0]!.callerSource, 'mtls');
  // The certificate wins over a token (istiod order), so the token's identity is not used.
  assertRefused(await raw(ca, { clientCert, token: TOKENS.agentA, impersonate: CLIENT_ID, csrFor: CLIENT_ID }), status.PERMISSION_DENIED, 'not a trusted node account');

  // A node agent's own certificate (its pod runs on node a, so it may impersonate itself).
  const ztOk = await raw(ca, { token: TOKENS.agentNodeA, impersonate: ZTUNNEL_ID, csrFor: ZTUNNEL_ID });
  assert.ok(ztOk.ok, ztOk.ok ? '' : ztOk.details);
  const ztCert = { certChainPem: ztOk.chain[0]!, keyPem: ztOk.keyPem };
  // A node agent identity from a certificate names no pod: its node cannot be established.
  assertRefused(await raw(ca, { clientCert: ztCert, impersonate: CLIENT_ID, csrFor: CLIENT_ID }), status.PERMISSION_DENIED, 'node of caller istio-system/ztunnel');

  // A foreign-root certificate gives nothing, even for the same identity: only the token counts.
  const foreign = await (await makeTestPki('O=foreign-mesh')).issue(CLIENT_ID);
  const viaToken = await raw(ca, { clientCert: { certChainPem: foreign.certChainPem, keyPem: foreign.keyPem }, token: TOKENS.app, csrFor: CLIENT_ID });
  assert.ok(viaToken.ok);
  assert.equal(ca.service.recent()[0]!.callerSource, 'token');
});

test('node agents are tied to their own pod: a deleted or re-created pod loses impersonation', async () => {
  const ok = await raw(ca, { token: TOKENS.agentB, impersonate: ECHO_ID, csrFor: ECHO_ID });
  assert.ok(ok.ok, ok.ok ? '' : ok.details);
  ca.pods.apply([{ type: 'delete', kind: 'Pod', namespace: 'istio-system', name: 'ztunnel-b' }]);
  assertRefused(await raw(ca, { token: TOKENS.agentB, impersonate: ECHO_ID, csrFor: ECHO_ID }), status.PERMISSION_DENIED, 'node of caller istio-system/ztunnel (pod istio-system/ztunnel-b) is unknown');
  ca.pods.replaceKinds(['Pod'], [...MESH_PODS]);
});

test('the token file is watched: a removed token is refused, a broken file refuses all, a fixed one accepts again', async () => {
  const f = await startCaFixture();
  try {
    assert.ok((await raw(f, { token: TOKENS.app, csrFor: CLIENT_ID })).ok);
    writeFileSync(f.tokenPath, TOKEN_FILE.replace(/^tok-app-client.*$/m, ''));
    await waitUntil(() => f.tokens.size === 3);
    assertRefused(await raw(f, { token: TOKENS.app, csrFor: CLIENT_ID }), status.UNAUTHENTICATED, 'refused');
    assert.ok((await raw(f, { token: TOKENS.agentA, impersonate: CLIENT_ID, csrFor: CLIENT_ID })).ok);
    writeFileSync(f.tokenPath, 'tok: [not, a, caller]\n');
    await waitUntil(() => f.tokens.size === 0);
    assertRefused(await raw(f, { token: TOKENS.agentA, impersonate: CLIENT_ID, csrFor: CLIENT_ID }), status.UNAUTHENTICATED, 'refused');
    writeFileSync(f.tokenPath, TOKEN_FILE);
    await waitUntil(() => f.tokens.size === 4);
    assert.ok((await raw(f, { token: TOKENS.app, csrFor: CLIENT_ID })).ok);
  } finally {
    await f.close();
  }
});

test('Kubernetes TokenReview: pod-bound tokens, audience istio-ca, refusals, API server failures', async () => {
  const apiserver = await startFakeTokenReview({
    'jwt-ztunnel-a': { namespace: 'istio-system', serviceAccount: 'ztunnel', pod: { name: 'ztunnel-a', uid: 'uid-ztunnel-a' } },
    'jwt-ztunnel-stale': { namespace: 'istio-system', serviceAccount: 'ztunnel', pod: { name: 'ztunnel-a', uid: 'uid-of-a-deleted-pod' } },
    'jwt-app-other-aud': { namespace: 'default', serviceAccount: 'client', audiences: ['https://kubernetes.default.svc'] },
    'jwt-app': { namespace: 'default', serviceAccount: 'client' },
  });
  const f = await startCaFixture({ tokenAuthenticator: new KubeTokenReviewer({ kubeConfig: apiserver.kubeConfig(), timeoutMs: 2000 }) });
  try {
    const ok = await raw(f, { token: 'jwt-ztunnel-a', impersonate: CLIENT_ID, csrFor: CLIENT_ID });
    assert.ok(ok.ok, ok.ok ? '' : ok.details);
    assert.equal(f.service.recent()[0]!.node, 'a');
    const sent = apiserver.reviews.at(-1)!;
    assert.deepEqual(sent.spec, { token: 'jwt-ztunnel-a', audiences: ['istio-ca'] });
    assert.ok((await raw(f, { token: 'jwt-app', csrFor: CLIENT_ID })).ok);

    assertRefused(await raw(f, { token: 'jwt-ztunnel-stale', impersonate: CLIENT_ID, csrFor: CLIENT_ID }), status.PERMISSION_DENIED, 'uid uid-of-a-deleted-pod) is unknown');
    assertRefused(await raw(f, { token: 'jwt-unknown', csrFor: CLIENT_ID }), status.UNAUTHENTICATED, 'refused by Kubernetes TokenReview');
    assertRefused(await raw(f, { token: 'jwt-app-other-aud', csrFor: CLIENT_ID }), status.UNAUTHENTICATED, 'refused');
    // An API server that ignores audiences must not make a token for another audience pass.
    apiserver.setAudienceUnaware(true);
    assertRefused(await raw(f, { token: 'jwt-app-other-aud', csrFor: CLIENT_ID }), status.UNAUTHENTICATED, 'refused');
    apiserver.setAudienceUnaware(false);

    const badReviewer = await startCaFixture({ tokenAuthenticator: new KubeTokenReviewer({ kubeConfig: apiserver.kubeConfig('wrong'), timeoutMs: 2000 }) });
    try {
      const r = await raw(badReviewer, { token: 'jwt-app', csrFor: CLIENT_ID });
      assertRefused(r, status.UNAVAILABLE, 'HTTP 401');
      assert.ok(!r.ok && !r.details.includes('jwt-app'), 'the token never appears in an answer');
    } finally {
      await badReviewer.close();
    }
    await apiserver.close();
    assertRefused(await raw(f, { token: 'jwt-app', csrFor: CLIENT_ID }), status.UNAVAILABLE, 'could not check the token');
  } finally {
    await f.close();
    await apiserver.close();
  }
});

test('a closed CA service refuses new calls UNAVAILABLE', async () => {
  const f = await startCaFixture();
  try {
    f.service.close();
    assertRefused(await raw(f, { token: TOKENS.app, csrFor: CLIENT_ID }), status.UNAVAILABLE, 'shutting down');
  } finally {
    await f.close();
  }
});

/** Serial number of the serving certificate a fresh TLS connection gets (verified against the mesh root). */
async function servingSerial(f: CaFixture): Promise<string> {
  const socket = tls.connect({ host: '127.0.0.1', port: f.server.port, ca: f.service.rootCertPem, ALPNProtocols: ['h2'] });
  try {
    await once(socket, 'secureConnect');
    return socket.getPeerCertificate().serialNumber;
  } finally {
    socket.destroy();
  }
}

test('the serving certificate is renewed at half its lifetime without a restart', async () => {
  const f = await startCaFixture({ serverCertTtlSeconds: 4 });
  try {
    const first = await servingSerial(f);
    let second = first;
    for (let i = 0; i < 40 && second === first; i++) {
      await new Promise((r) => setTimeout(r, 200));
      second = await servingSerial(f);
    }
    assert.notEqual(second, first, 'a new serving certificate after ~2 s');
    assert.ok((await raw(f, { token: TOKENS.app, csrFor: CLIENT_ID })).ok);
  } finally {
    await f.close();
  }
});

test('mounted on a server whose TLS trusts a foreign root too, the CA still refuses foreign client certificates', async () => {
  const foreign = await makeTestPki('O=cluster.local');
  const serving = await ca.signer.issueServerCertificate(['127.0.0.1'], 3600);
  const server = new grpc.Server();
  ca.service.addTo(server);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', caServerCredentials(serving, ca.service.rootCertPem + foreign.rootPem), (err, p) => (err ? reject(err) : resolve(p))),
  );
  try {
    const cert = await foreign.issue(CLIENT_ID);
    const r = await callCa({ target: `127.0.0.1:${port}`, rootPem: ca.service.rootCertPem, clientCert: { certChainPem: cert.certChainPem, keyPem: cert.keyPem }, csrFor: CLIENT_ID });
    assertRefused(r, status.UNAUTHENTICATED, 'not issued by the mesh CA');
    // The same server accepts this mesh's own callers.
    assert.ok((await callCa({ target: `127.0.0.1:${port}`, rootPem: ca.service.rootCertPem, token: TOKENS.app, csrFor: CLIENT_ID })).ok);
  } finally {
    server.forceShutdown();
  }
});
