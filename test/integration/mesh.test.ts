// Two whole node agents in-process on loopback: SOCKS5 → agent A → HBONE (mTLS) → agent B → echo.
// Checks bytes, identities, half-close, policy denial, foreign CA refusal, metrics and access logs.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect as tlsConnect } from 'node:tls';
import { once } from 'node:events';
import type { TestAgent } from '../helpers/agent.js';
import { meshYaml, CLIENT_ID, CLIENT2_ID, ECHO_ID, type MeshAddresses } from '../helpers/mesh-config.js';
import { echoTransfer, socks5Connect, startEchoServer, type EchoServer } from '../helpers/tcp.js';
import { startTwoNodeMesh, type TwoNodeMesh } from '../helpers/two-node-mesh.js';
import { metricSum } from '../helpers/prometheus-text.js';
import { makeTestPki } from '../helpers/certs.js';

let mesh: TwoNodeMesh;
let a: TestAgent;
let b: TestAgent;
let echo: EchoServer;
let addrs: MeshAddresses;

function socksOf(agent: TestAgent): { host: string; port: number } {
  return { host: agent.bind, port: agent.agent.config.ports.socks5 };
}

async function scrape(agent: TestAgent): Promise<string> {
  const stats = agent.agent.addresses().stats!;
  const res = await fetch(`http://${agent.bind}:${stats.port}/metrics`);
  return res.text();
}

before(async () => {
  mesh = await startTwoNodeMesh();
  ({ a, b, echo, addrs } = mesh);
});

after(() => mesh?.close());

test('SOCKS5 → HBONE → echo by service VIP: 12 MiB both ways, identities seen at each end', async () => {
  const s = await socks5Connect(socksOf(a), { host: addrs.vip, port: 80 }, addrs.client);
  const r = await echoTransfer(s, 12 * 1024 * 1024);
  assert.equal(r.receivedBytes, 12 * 1024 * 1024);
  assert.equal(r.receivedSha256, r.sentSha256);
  const inbound = await b.logs.waitFor((l) => l.msg === 'connection complete' && l.direction === 'inbound');
  assert.equal(inbound['src.identity'], CLIENT_ID);
  assert.equal(inbound['dst.identity'], ECHO_ID);
  assert.equal(inbound['dst.workload'], 'echo');
  assert.equal(inbound['dst.service'], 'echo.default.svc.cluster.local');
  assert.equal(inbound.bytes_recv, 12 * 1024 * 1024);
  assert.equal(inbound.bytes_sent, 12 * 1024 * 1024);
  const outbound = await a.logs.waitFor((l) => l.msg === 'connection complete' && l.direction === 'outbound');
  assert.equal(outbound['src.identity'], CLIENT_ID);
  assert.equal(outbound['dst.identity'], ECHO_ID);
  assert.equal(outbound['dst.hbone_addr'], `${addrs.echo}:${addrs.echoPort}`);
  assert.equal(outbound['dst.addr'], `${addrs.echo}:15008`);
  const metrics = await scrape(b);
  const labels = { reporter: 'destination', source_principal: CLIENT_ID, destination_principal: ECHO_ID, connection_security_policy: 'mutual_tls' };
  assert.ok(metricSum(metrics, 'istio_tcp_connections_opened_total', labels) >= 1);
  assert.ok(metricSum(metrics, 'istio_tcp_received_bytes_total', labels) >= 12 * 1024 * 1024);
  assert.ok(metricSum(metrics, 'istio_tcp_sent_bytes_total', labels) >= 12 * 1024 * 1024);
  const src = await scrape(a);
  assert.ok(metricSum(src, 'istio_tcp_connections_closed_total', { reporter: 'source', destination_service: 'echo.default.svc.cluster.local', response_flags: '-' }) >= 1);
});

test('SOCKS5 by pod IP and by mesh hostname, and half-close: the reply still arrives after the client ends', async () => {
  const byIp = await socks5Connect(socksOf(a), { host: addrs.echo, port: addrs.echoPort }, addrs.client);
  const chunks: Buffer[] = [];
  byIp.on('data', (d: Buffer) => chunks.push(d));
  byIp.resume();
  byIp.end('ping after which I half-close');
  await once(byIp, 'end');
  assert.equal(Buffer.concat(chunks).toString(), 'ping after which I half-close');
  const byName = await socks5Connect(socksOf(a), { host: 'echo.default.svc.cluster.local', port: 80 }, addrs.client);
  const r = await echoTransfer(byName, 64 * 1024);
  assert.equal(r.receivedSha256, r.sentSha256);
});

test('a TCP (non-HBONE) workload is reached in plain TCP', async () => {
  const tcpEcho = await startEchoServer(addrs.tcpEcho, 9000);
  try {
    const s = await socks5Connect(socksOf(a), { host: addrs.tcpEcho, port: 9000 }, addrs.client);
    const r = await echoTransfer(s, 100_000);
    assert.equal(r.receivedSha256, r.sentSha256);
    const line = await a.logs.waitFor((l) => l.msg === 'connection complete' && l['dst.addr'] === `${addrs.tcpEcho}:9000`);
    assert.equal(line['src.identity'], undefined);
    assert.equal(line['dst.hbone_addr'], undefined);
  } finally {
    await tcpEcho.close();
  }
});

test('a client with a certificate from a foreign CA is refused at TLS, and the agent keeps serving', async () => {
  const foreign = await makeTestPki();
  const cert = await foreign.issue(CLIENT_ID);
  const sock = tlsConnect({
    host: addrs.echo,
    port: 15008,
    cert: cert.certChainPem,
    key: cert.keyPem,
    ca: foreign.rootPem,
    ALPNProtocols: ['h2'],
    minVersion: 'TLSv1.3',
    rejectUnauthorized: false,
  });
  const outcome = await new Promise<string>((resolve) => {
    sock.on('error', (e) => resolve(`error:${(e as NodeJS.ErrnoException).code ?? e.message}`));
    sock.on('close', () => resolve('closed'));
    sock.on('data', () => resolve('data'));
  });
  assert.notEqual(outcome, 'data');
  const s = await socks5Connect(socksOf(a), { host: addrs.vip, port: 80 }, addrs.client);
  const r = await echoTransfer(s, 1000);
  assert.equal(r.receivedSha256, r.sentSha256);
});

test('a DENY policy gives 401 on HBONE, a refused SOCKS reply, and the app sees no connection', async () => {
  const policy = `- name: deny-other
  namespace: default
  scope: Namespace
  action: Deny
  rules:
  - - - principals: [{Exact: "cluster.local/ns/default/sa/other"}]
`;
  await mesh.reconfigure(meshYaml(addrs, policy));
  const peersBefore = echo.peers.length;
  await assert.rejects(socks5Connect(socksOf(a), { host: addrs.vip, port: 80 }, addrs.client2), (e: Error & { socksReply?: number }) => {
    assert.equal(e.socksReply, 2);
    return true;
  });
  assert.equal(echo.peers.length, peersBefore, 'the app must not see a denied connection');
  const denied = await b.logs.waitFor((l) => l.msg === 'connection complete' && l['src.identity'] === CLIENT2_ID);
  assert.match(String(denied.error), /denied/);
  const metrics = await scrape(b);
  assert.ok(metricSum(metrics, 'istio_tcp_connections_closed_total', { source_principal: CLIENT2_ID, response_flags: 'DENY' }) >= 1);
  // The allowed client is unaffected.
  const s = await socks5Connect(socksOf(a), { host: addrs.vip, port: 80 }, addrs.client);
  const r = await echoTransfer(s, 1000);
  assert.equal(r.receivedSha256, r.sentSha256);
  await mesh.reconfigure(meshYaml(addrs));
});
