// A whole node agent refusing HBONE clients at TLS: two SPIFFE SANs cannot dodge a DENY policy,
// and foreign-CA, expired and other-trust-domain certificates each get their TLS alert, one WARN
// line per source within the window, and a move of ambit_errors_total.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type * as tls from 'node:tls';
import { BUILTIN_ROOT_CERT_FILE, BUILTIN_ROOT_KEY_FILE } from '../../src/identity/builtin-ca.js';
import type { TestAgent } from '../helpers/agent.js';
import { makeTestPki, pkiOf, type TestCert, type TestPki } from '../helpers/certs.js';
import { meshYaml, type MeshAddresses } from '../helpers/mesh-config.js';
import { metricSum } from '../helpers/prometheus-text.js';
import { clientOptions, probeHbone, type ProbeOutcome } from '../helpers/tls-probe.js';
import type { EchoServer } from '../helpers/tcp.js';
import { startTwoNodeMesh, waitUntil, type TwoNodeMesh } from '../helpers/two-node-mesh.js';

const X = 'spiffe://cluster.local/ns/default/sa/x';
const EVIL = 'spiffe://evil.example/ns/x/sa/admin';
const DENY_X = `- name: deny-x
  namespace: default
  scope: Namespace
  action: Deny
  rules:
  - - - principals: [{Exact: "cluster.local/ns/default/sa/x"}]
`;

let mesh: TwoNodeMesh;
let b: TestAgent;
let echo: EchoServer;
let addrs: MeshAddresses;
/** Signs with the agents' own built-in root, so only identity rules can refuse these certificates. */
let meshPki: TestPki;

before(async () => {
  mesh = await startTwoNodeMesh();
  ({ b, echo, addrs } = mesh);
  const stateDir = join(dirname(mesh.configPath), 'state');
  meshPki = pkiOf({
    certPem: readFileSync(join(stateDir, BUILTIN_ROOT_CERT_FILE), 'utf8'),
    keyPem: readFileSync(join(stateDir, BUILTIN_ROOT_KEY_FILE), 'utf8'),
  });
  await mesh.reconfigure(meshYaml(addrs, DENY_X));
});

after(() => mesh?.close());

/** HBONE CONNECT to the echo pod through agent b, from `source` (a loopback address). */
function connectToEcho(cert: TestCert, source: string): Promise<ProbeOutcome> {
  const options = { ...clientOptions(cert, meshPki.rootPem), host: addrs.echo, port: 15008, localAddress: source };
  return probeHbone(options as tls.ConnectionOptions, `${addrs.echo}:${addrs.echoPort}`);
}

async function scrapeB(): Promise<string> {
  const stats = b.agent.addresses().stats!;
  return (await fetch(`http://${b.bind}:${stats.port}/metrics`)).text();
}

function errorsTotal(metrics: string, code: string): number {
  return metricSum(metrics, 'ambit_errors_total', { component: 'hbone_server', code });
}

function rejectionWarns(source: string): Array<Record<string, unknown>> {
  return b.logs.lines.filter((l) => l.msg === 'hbone connection rejected' && l.level === 40 && String(l.src).startsWith(`${source}:`));
}

test('two SPIFFE SANs cannot dodge a DENY: refused at TLS, while the harness itself reaches the app', async () => {
  const source = `${addrs.prefix}.201`;
  const peersBefore = echo.peers.length;
  // Controls: the policy denies sa/x with one SAN (401), and admits another identity (200).
  assert.equal((await connectToEcho(await meshPki.issue(X), source)).status, 401);
  const admitted = await connectToEcho(await meshPki.issue('spiffe://cluster.local/ns/default/sa/y'), source);
  assert.equal(admitted.status, 200);
  await waitUntil(() => echo.peers.length === peersBefore + 1);

  for (const cert of [await meshPki.issue(EVIL, { extraUris: [X] }), await meshPki.issue(X, { extraUris: [EVIL] })]) {
    const o = await connectToEcho(cert, source);
    assert.equal(o.secure, true);
    assert.equal(o.status, undefined, `no CONNECT answer: ${JSON.stringify(o)}`);
    assert.equal(o.error?.code, 'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE', JSON.stringify(o));
  }
  assert.equal(echo.peers.length, peersBefore + 1, 'the refused clients never reached the app');
  const warn = rejectionWarns(source)[0];
  assert.equal(warn?.phase, 'identity');
  assert.equal(warn?.code, 'CERT_INVALID');
  assert.match(String(warn?.err), /ambiguous.*evil\.example.*sa\/x|ambiguous.*sa\/x.*evil\.example/);
});

test('foreign CA, expired and other-trust-domain clients: their alert, one WARN per source, counted', async () => {
  const source = `${addrs.prefix}.202`;
  const otherSource = `${addrs.prefix}.203`;
  const foreign = await makeTestPki();
  const past = { notBefore: new Date(Date.now() - 7200_000), notAfter: new Date(Date.now() - 3600_000) };
  const cases = [
    { cert: await foreign.issue('spiffe://cluster.local/ns/default/sa/client'), code: 'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA', series: 'tls:CERT_INVALID' },
    { cert: await meshPki.issue('spiffe://cluster.local/ns/default/sa/client', past), code: 'ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED', series: 'tls:CERT_INVALID' },
    { cert: await meshPki.issue('spiffe://other.example/ns/default/sa/client'), code: 'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE', series: 'identity:IDENTITY_MISMATCH' },
  ];
  const before = await scrapeB();
  const peersBefore = echo.peers.length;
  for (const c of cases) {
    const o = await connectToEcho(c.cert, source);
    assert.equal(o.error?.code, c.code, JSON.stringify(o));
    assert.equal(o.status, undefined);
  }
  assert.equal((await connectToEcho(cases[0]!.cert, otherSource)).error?.code, cases[0]!.code);
  assert.equal(echo.peers.length, peersBefore);

  // One line per source inside the window: the first refusal of each, with its alert.
  assert.deepEqual(rejectionWarns(source).map((l) => [l.alert, l.code]), [['unknown_ca', 'CERT_INVALID']]);
  assert.deepEqual(rejectionWarns(otherSource).map((l) => [l.alert, l.suppressed]), [['unknown_ca', 0]]);
  const afterScrape = await scrapeB();
  assert.equal(errorsTotal(afterScrape, 'tls:CERT_INVALID') - errorsTotal(before, 'tls:CERT_INVALID'), 3);
  assert.equal(errorsTotal(afterScrape, 'identity:IDENTITY_MISMATCH') - errorsTotal(before, 'identity:IDENTITY_MISMATCH'), 1);
});
