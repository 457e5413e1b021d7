// The istiod CA provider against a fake istiod (real grpc-js server, real TLS): request shape and
// metadata, token handling, fail-closed TLS, response checks, root-file reload, and a two-agent mesh.

import 'reflect-metadata'; // before @peculiar/x509 (it needs the polyfill at load)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import { loadConfig } from '../../src/config/index.js';
import type { AuthTokenSource } from '../../src/config/types.js';
import { isMeshError } from '../../src/common/errors.js';
import { silentLogger } from '../../src/common/log.js';
import {
  createCaClient,
  createCsr,
  generateKeyPair,
  IstiodCaClient,
  privateKeyToPem,
  uriSans,
  workloadCertificateFromChain,
  type IstiodCaOptions,
} from '../../src/identity/index.js';
import { DEFAULT_FAKE_TOKEN, startFakeIstiod, type FakeIstiod } from '../helpers/fake-istiod-ca.js';
import { makeTestPki } from '../helpers/certs.js';
import { tempDir } from '../helpers/agent.js';
import { CLIENT_ID, ECHO_ID } from '../helpers/mesh-config.js';
import { echoTransfer, socks5Connect } from '../helpers/tcp.js';
import { startTwoNodeMesh } from '../helpers/two-node-mesh.js';

const ID = 'spiffe://cluster.local/ns/default/sa/app';

let fake: FakeIstiod;
const dir = tempDir('ambit-istiod-ca-');

before(async () => {
  fake = await startFakeIstiod({ tokens: { [DEFAULT_FAKE_TOKEN]: 'spiffe://cluster.local/ns/istio-system/sa/ztunnel', 'tok-2': 'spiffe://cluster.local/ns/istio-system/sa/ztunnel' } });
});
after(() => fake?.close());

function literal(token: string): AuthTokenSource {
  return { kind: 'literal', token, toJSON: () => ({ kind: 'literal', token: '<redacted>' }) };
}

async function open(target: FakeIstiod, overrides: Partial<IstiodCaOptions> = {}): Promise<IstiodCaClient> {
  return IstiodCaClient.open({
    address: target.address,
    rootCa: target.rootPem,
    authToken: literal(DEFAULT_FAKE_TOKEN),
    clusterId: 'Kubernetes',
    logger: silentLogger(),
    ...overrides,
  });
}

async function csrFor(id: string): Promise<{ csr: string; keyPem: string }> {
  const keys = await generateKeyPair();
  return { csr: await createCsr(id, keys), keyPem: privateKeyToPem(keys.privateKey) };
}

/** Asserts a CA_ERROR whose message holds every fragment. */
async function rejectsCaError(p: Promise<unknown>, ...fragments: string[]): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(isMeshError(err, 'CA_ERROR'), `expected CA_ERROR, got ${String(err)}`);
    for (const f of fragments) assert.ok(err.message.includes(f), `expected "${f}" in: ${err.message}`);
    return true;
  });
}

function issued(child: string, parent: string): boolean {
  const c = new X509Certificate(child);
  const p = new X509Certificate(parent);
  return c.checkIssued(p) && c.verify(p.publicKey);
}

test('happy path through config: chain, CSR shape, TTL, impersonation and every header', async () => {
  const rootFile = join(dir, 'root-cert.pem');
  writeFileSync(rootFile, fake.rootPem);
  const tokenFile = join(dir, 'happy-token');
  writeFileSync(tokenFile, `${DEFAULT_FAKE_TOKEN}\n`);
  const config = loadConfig([], {
    AMBIT_CA_PROVIDER: 'istiod',
    CA_ADDRESS: fake.address.replace('https://', ''),
    CA_ROOT_CA: rootFile,
    AUTH_TOKEN: tokenFile,
    CLUSTER_ID: 'Kubernetes',
    CA_HEADER_X_TENANT: 'acme',
  });
  const ca = await createCaClient(config.ca, silentLogger());
  try {
    assert.equal(ca.name, 'istiod');
    const { csr, keyPem } = await csrFor(ID);
    const before = fake.requests.length;
    const chain = await ca.sign(csr, ID, 3600);
    assert.equal(chain.length, 3);
    for (const pem of chain) assert.ok(pem.endsWith('-----END CERTIFICATE-----\n'));
    assert.deepEqual(uriSans(new X509Certificate(chain[0]!)), [ID]);
    assert.ok(issued(chain[0]!, chain[1]!) && issued(chain[1]!, chain[2]!));
    assert.equal(chain[2], fake.rootPem);
    const cert = workloadCertificateFromChain(ID, chain, keyPem);
    assert.equal(cert.rootsPem, fake.rootPem);

    assert.equal(fake.requests.length, before + 1);
    const rec = fake.requests[before]!;
    assert.equal(rec.request.validityDurationSeconds, 3600);
    assert.deepEqual(rec.request.metadata, { ImpersonatedIdentity: ID });
    assert.equal(rec.metadata.authorization, `Bearer ${DEFAULT_FAKE_TOKEN}`);
    assert.equal(rec.metadata.clusterid, 'Kubernetes');
    assert.equal(rec.metadata.x_tenant, 'acme');
    const req = new x509.Pkcs10CertificateRequest(rec.request.csr);
    assert.equal(req.subject, '');
    const sans = req.extensions.filter((e) => e.type === '2.5.29.17');
    assert.equal(sans.length, 1);
    assert.equal(sans[0]!.critical, true);
    const names = new x509.SubjectAlternativeNameExtension(sans[0]!.rawData).names.items;
    assert.deepEqual(names.map((n) => [n.type, n.value]), [['url', ID]]);
    assert.deepEqual(req.signatureAlgorithm, { name: 'ECDSA', hash: { name: 'SHA-256' } });
    assert.equal((req.publicKey.algorithm as { namedCurve?: string }).namedCurve, 'P-256');
  } finally {
    ca.close();
  }
});

test('the CA caps the requested TTL and the client accepts the shorter certificate', async () => {
  const capped = await startFakeIstiod({ maxTtlSeconds: 600 });
  const ca = await open(capped);
  try {
    const chain = await ca.sign((await csrFor(ID)).csr, ID, 86_400);
    assert.equal(capped.requests[0]!.request.validityDurationSeconds, 86_400);
    const leaf = new X509Certificate(chain[0]!);
    const lifetimeS = (Date.parse(leaf.validTo) - Date.now()) / 1000;
    assert.ok(lifetimeS <= 600 && lifetimeS > 500, `lifetime ${lifetimeS}s`);
  } finally {
    ca.close();
    await capped.close();
  }
});

test('the token file is re-read on every call', async () => {
  const tokenFile = join(dir, 'rotating-token');
  writeFileSync(tokenFile, DEFAULT_FAKE_TOKEN);
  const ca = await open(fake, { authToken: { kind: 'file', path: tokenFile } });
  try {
    await ca.sign((await csrFor(ID)).csr, ID, 3600);
    assert.equal(fake.requests.at(-1)!.metadata.authorization, `Bearer ${DEFAULT_FAKE_TOKEN}`);
    writeFileSync(tokenFile, 'tok-2');
    await ca.sign((await csrFor(ID)).csr, ID, 3600);
    assert.equal(fake.requests.at(-1)!.metadata.authorization, 'Bearer tok-2');
    writeFileSync(tokenFile, 'revoked');
    await rejectsCaError(ca.sign((await csrFor(ID)).csr, ID, 3600), 'UNAUTHENTICATED');
  } finally {
    ca.close();
  }
});

const authCases: Array<{ name: string; auth: AuthTokenSource; header: string | undefined; ok: boolean }> = [
  { name: 'literal token', auth: literal(DEFAULT_FAKE_TOKEN), header: `Bearer ${DEFAULT_FAKE_TOKEN}`, ok: true },
  { name: 'no token: no authorization header, istiod refuses', auth: { kind: 'none' }, header: undefined, ok: false },
  { name: 'unknown token', auth: literal('nope'), header: 'Bearer nope', ok: false },
];
for (const c of authCases) {
  test(`auth: ${c.name}`, async () => {
    const ca = await open(fake, { authToken: c.auth });
    try {
      const p = ca.sign((await csrFor(ID)).csr, ID, 3600);
      if (c.ok) await p;
      else await rejectsCaError(p, 'UNAUTHENTICATED', fake.address);
      assert.equal(fake.requests.at(-1)!.metadata.authorization, c.header);
      assert.equal('authorization' in fake.requests.at(-1)!.metadata, c.header !== undefined);
    } finally {
      ca.close();
    }
  });
}

test('a missing token file is a CA_ERROR naming the file', async () => {
  const ca = await open(fake, { authToken: { kind: 'file', path: join(dir, 'gone') } });
  try {
    await rejectsCaError(ca.sign((await csrFor(ID)).csr, ID, 3600), join(dir, 'gone'));
  } finally {
    ca.close();
  }
});

test('istiod refusals map to CA_ERROR with the status: wrong cluster, untrusted impersonation', async () => {
  const strict = await startFakeIstiod({ tokens: { plain: 'spiffe://cluster.local/ns/default/sa/app' } });
  try {
    for (const [overrides, fragment] of [
      [{ authToken: literal('plain'), clusterId: 'other' }, 'unknown cluster'],
      [{ authToken: literal('plain') }, 'may not impersonate'],
    ] as const) {
      const ca = await open(strict, overrides);
      try {
        await rejectsCaError(ca.sign((await csrFor(ID)).csr, ID, 3600), 'UNAUTHENTICATED', fragment);
      } finally {
        ca.close();
      }
    }
  } finally {
    await strict.close();
  }
});

test('fail closed: unknown root, wrong name and SYSTEM roots are refused; ALT_CA_HOSTNAME adds a name', async () => {
  const foreign = await makeTestPki('O=foreign-mesh');
  const named = await startFakeIstiod({ serverNames: ['istiod.istio-system.svc'] });
  // `why`: the TLS reason the error must carry, so each case fails for the reason it claims.
  const cases: Array<{ name: string; target: FakeIstiod; opts: Partial<IstiodCaOptions>; why?: string }> = [
    { name: 'unknown root', target: fake, opts: { rootCa: foreign.rootPem }, why: 'unable to verify' },
    { name: 'SYSTEM roots do not hold the mesh root', target: fake, opts: { rootCa: 'SYSTEM' }, why: 'unable to verify' },
    { name: 'wrong hostname', target: named, opts: {}, why: 'altnames' },
    { name: 'unrelated ALT_CA_HOSTNAME', target: named, opts: { altHostname: 'other.example' }, why: 'altnames' },
    { name: 'ALT_CA_HOSTNAME matches', target: named, opts: { altHostname: 'istiod.istio-system.svc' } },
    { name: 'ALT_CA_HOSTNAME does not replace the address host', target: fake, opts: { altHostname: 'istiod.istio-system.svc' } },
  ];
  try {
    for (const c of cases) {
      const ca = await open(c.target, { rootCa: c.target.rootPem, ...c.opts });
      const before = c.target.requests.length;
      try {
        const p = ca.sign((await csrFor(ID)).csr, ID, 3600);
        if (c.why === undefined) assert.equal((await p).length, 3, c.name);
        else {
          await rejectsCaError(p, 'UNAVAILABLE', c.target.address, c.why);
          assert.equal(c.target.requests.length, before, `${c.name}: the request must never reach the server`);
        }
      } finally {
        ca.close();
      }
    }
  } finally {
    await named.close();
  }
});

test('bad responses are CA_ERRORs', async () => {
  const other = await makeTestPki('O=other-mesh');
  const otherLeaf = (await other.issue('spiffe://cluster.local/ns/default/sa/someone-else')).certChainPem;
  const cases: Array<{ name: string; rewrite: (chain: string[]) => string[]; expect: string }> = [
    { name: '1-element chain', rewrite: (c) => [c[0]!], expect: 'no root certificate present' },
    { name: 'empty chain', rewrite: () => [], expect: 'no root certificate present' },
    { name: 'leaf for another identity', rewrite: (c) => [otherLeaf, c[1]!, c[2]!], expect: 'not the requested identity' },
    { name: 'not PEM', rewrite: (c) => ['hello', c[1]!, c[2]!], expect: 'holds no PEM certificate' },
    { name: 'corrupt PEM', rewrite: (c) => [c[0]!, '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n', c[2]!], expect: 'unparsable' },
  ];
  const ca = await open(fake);
  try {
    for (const c of cases) {
      fake.respondWith((chain) => c.rewrite(chain));
      await rejectsCaError(ca.sign((await csrFor(ID)).csr, ID, 3600), c.expect);
    }
  } finally {
    fake.respondWith(undefined);
    ca.close();
  }
});

test('an unreachable CA is a CA_ERROR (UNAVAILABLE) within the deadline', async () => {
  const gone = await startFakeIstiod();
  await gone.close();
  const ca = await open(gone, { callTimeoutMs: 2000 });
  try {
    await rejectsCaError(ca.sign((await csrFor(ID)).csr, ID, 3600), gone.address);
    ca.close();
    await rejectsCaError(ca.sign((await csrFor(ID)).csr, ID, 3600), 'closed');
  } finally {
    ca.close();
  }
});

test('bad CA_ROOT_CA / CA_ADDRESS are CA_CONFIG errors', async () => {
  for (const [opts, fragment] of [
    [{ rootCa: join(dir, 'missing-root.pem') }, 'not an existing file, SYSTEM, or inline PEM'],
    [{ rootCa: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n' }, 'invalid certificate'],
    [{ address: 'http://127.0.0.1:1' }, 'https'],
  ] as const) {
    await assert.rejects(open(fake, opts), (err: unknown) => isMeshError(err, 'CA_CONFIG') && err.message.includes(fragment));
  }
});

test('a changed CA_ROOT_CA file rebuilds the channel after the debounce', async () => {
  const foreign = await makeTestPki('O=foreign-mesh');
  const rootFile = join(dir, 'watched-root.pem');
  writeFileSync(rootFile, foreign.rootPem);
  const ca = await open(fake, { rootCa: rootFile, rootReloadDebounceMs: 100 });
  try {
    await rejectsCaError(ca.sign((await csrFor(ID)).csr, ID, 3600), 'UNAVAILABLE');
    writeFileSync(rootFile, foreign.rootPem + fake.rootPem);
    const { csr } = await csrFor(ID);
    let chain: string[] | undefined;
    // Poll: the debounce (100 ms) plus fs.watch latency decide when the new channel appears.
    for (let i = 0; i < 50 && chain === undefined; i++) {
      chain = await ca.sign(csr, ID, 3600).catch(() => undefined);
      if (chain === undefined) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(chain, 'signing works once the new root is loaded');
  } finally {
    ca.close();
  }
});

test('end to end: two agents get their certificates from the fake istiod and talk mTLS', async () => {
  const env = { AMBIT_CA_PROVIDER: 'istiod', CA_ADDRESS: fake.address, CA_ROOT_CA: fake.rootPem, AUTH_TOKEN: DEFAULT_FAKE_TOKEN, CA_HEADER_X_AGENT: 'e2e' };
  const mesh = await startTwoNodeMesh({ env });
  const { a, b, addrs } = mesh;
  const agents = [a, b];
  try {
    const s = await socks5Connect({ host: a.bind, port: a.agent.config.ports.socks5 }, { host: addrs.vip, port: 80 }, addrs.client);
    const r = await echoTransfer(s, 64 * 1024);
    assert.equal(r.receivedSha256, r.sentSha256);
    const inbound = await b.logs.waitFor((l) => l.msg === 'connection complete' && l.direction === 'inbound');
    assert.equal(inbound['src.identity'], CLIENT_ID);
    assert.equal(inbound['dst.identity'], ECHO_ID);

    const impersonated = new Set(fake.requests.filter((q) => q.metadata.x_agent === 'e2e').map((q) => q.request.metadata?.ImpersonatedIdentity));
    assert.ok(impersonated.has(CLIENT_ID) && impersonated.has(ECHO_ID), [...impersonated].join(', '));
    for (const agent of agents) {
      const certs = agent.agent.configDump().certificates as Array<{ identity: string; certChain: Array<{ pem: string }>; rootCerts: Array<{ pem: string }> }>;
      assert.ok(certs.length > 0);
      for (const c of certs) {
        const pems = c.certChain.map((d) => Buffer.from(d.pem, 'base64').toString());
        const roots = c.rootCerts.map((d) => Buffer.from(d.pem, 'base64').toString());
        assert.deepEqual(roots, [fake.rootPem], c.identity);
        assert.deepEqual(uriSans(new X509Certificate(pems[0]!)), [c.identity]);
        assert.ok(issued(pems[0]!, pems[1]!) && issued(pems[1]!, fake.rootPem), `${c.identity} chains to the fake istiod root`);
      }
    }
  } finally {
    await mesh.close();
  }
});
