// Two in-process agents under change: config reloads mid-transfer (good and bad files), a policy
// change that revokes a live connection, STRICT vs PERMISSIVE plaintext, real curl, bad peers.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { connect, createServer, type Socket, type AddressInfo } from 'node:net';
import { createServer as createHttpServer, type Server } from 'node:http';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { once } from 'node:events';
import type { TestAgent } from '../helpers/agent.js';
import { meshYaml, CLIENT_ID, type MeshAddresses } from '../helpers/mesh-config.js';
import { socks5Connect, type EchoServer } from '../helpers/tcp.js';
import { startTwoNodeMesh, waitUntil, type TwoNodeMesh } from '../helpers/two-node-mesh.js';

const execFileP = promisify(execFile);

let mesh: TwoNodeMesh;
let a: TestAgent;
let b: TestAgent;
let echo: EchoServer;
let addrs: MeshAddresses;

const STRICT = `- name: istio_converted_static_strict
  namespace: istio-system
  scope: Global
  action: Deny
  rules:
  - - - notPrincipals: [{Presence: []}]
`;

const DENY_CLIENT = `- name: deny-client
  namespace: default
  scope: Namespace
  action: Deny
  rules:
  - - - principals: [{Exact: "cluster.local/ns/default/sa/client"}]
`;

const reconfigure = (yaml: string): Promise<void> => mesh.reconfigure(yaml);

/** Collects everything a socket receives until it closes, hashing as it goes. */
function collect(s: Socket): { hash: () => string; bytes: () => number; closed: Promise<void>; ended: Promise<void> } {
  const h = createHash('sha256');
  let n = 0;
  s.on('data', (d: Buffer) => {
    h.update(d);
    n += d.length;
  });
  s.resume();
  const closed = new Promise<void>((r) => s.once('close', () => r()));
  const ended = new Promise<void>((r) => {
    s.once('end', () => r());
    s.once('close', () => r());
  });
  let digest: string | undefined;
  return { hash: () => (digest ??= h.digest('hex')), bytes: () => n, closed, ended };
}

async function writeAll(s: Socket, data: Buffer): Promise<void> {
  if (!s.write(data)) await once(s, 'drain');
}

before(async () => {
  mesh = await startTwoNodeMesh();
  ({ a, b, echo, addrs } = mesh);
});

after(() => mesh?.close());

test('config reloads mid-transfer (one good, one invalid) lose no bytes; the invalid file is rejected', async () => {
  const s = await socks5Connect({ host: addrs.nodeA, port: 15080 }, { host: addrs.vip, port: 80 }, addrs.client);
  const rx = collect(s);
  const sent = createHash('sha256');
  const part = (): Buffer => {
    const buf = randomBytes(2 * 1024 * 1024);
    sent.update(buf);
    return buf;
  };
  await writeAll(s, part());
  await reconfigure(meshYaml(addrs).replace('canonicalRevision: v2', 'canonicalRevision: v3'));
  await writeAll(s, part());
  const rejectedBefore = b.agent.source.rejectedCount;
  writeFileSync(mesh.configPath, 'workloads:\n- name: broken\n  workloadIps: ["not-an-ip"]\n');
  await waitUntil(() => b.agent.source.rejectedCount > rejectedBefore && a.agent.source.rejectedCount > 0);
  const err = String(b.agent.source.lastError?.message);
  assert.match(err, /mesh\.yaml/);
  assert.match(err, /workloads\[0\]/);
  await writeAll(s, part());
  s.end();
  await rx.closed;
  assert.equal(rx.bytes(), 6 * 1024 * 1024);
  assert.equal(rx.hash(), sent.digest('hex'));
  // The last good config stays in force: new connections still work.
  const s2 = await socks5Connect({ host: addrs.nodeA, port: 15080 }, { host: addrs.vip, port: 80 }, addrs.client);
  s2.end('still routed');
  const rx2 = collect(s2);
  await rx2.closed;
  assert.equal(rx2.bytes(), 'still routed'.length);
  await reconfigure(meshYaml(addrs));
});

test('a policy change closes a live connection that is no longer allowed', async () => {
  const s = await socks5Connect({ host: addrs.nodeA, port: 15080 }, { host: addrs.vip, port: 80 }, addrs.client);
  const rx = collect(s);
  s.write('hello');
  await waitUntil(() => rx.bytes() === 5);
  await reconfigure(meshYaml(addrs, DENY_CLIENT));
  await rx.ended;
  s.destroy();
  const line = await b.logs.waitFor((l) => l.msg === 'connection complete' && /policy change/.test(String(l.error)));
  assert.equal(line['src.identity'], CLIENT_ID);
  await reconfigure(meshYaml(addrs));
});

/** Accepts one real TCP connection and hands it to the agent's plaintext inbound seam. */
async function plaintextThroughSeam(agent: TestAgent, from: string): Promise<{ client: Socket; done: Promise<void> }> {
  const server = createServer({ allowHalfOpen: true, pauseOnConnect: true });
  server.listen(0, agent.bind);
  await once(server, 'listening');
  const accepted = once(server, 'connection') as Promise<[Socket]>;
  const client = connect({ host: agent.bind, port: (server.address() as AddressInfo).port, localAddress: from, allowHalfOpen: true });
  const [socket] = await accepted;
  server.close();
  const done = agent.agent.proxy.handlePlaintext(socket, { ip: addrs.echo, port: addrs.echoPort });
  return { client, done };
}

test('inbound plaintext: PERMISSIVE admits a non-mesh client, STRICT refuses it', async () => {
  const permissive = await plaintextThroughSeam(b, addrs.nodeA);
  const rx = collect(permissive.client);
  permissive.client.end('plain hello');
  await rx.closed;
  await permissive.done;
  assert.equal(rx.bytes(), 'plain hello'.length);

  await reconfigure(meshYaml(addrs, STRICT));
  const peers = echo.peers.length;
  const strict = await plaintextThroughSeam(b, addrs.nodeA);
  const rx2 = collect(strict.client);
  strict.client.write('should be refused');
  await rx2.ended;
  strict.client.destroy();
  await strict.done;
  assert.equal(rx2.bytes(), 0);
  assert.equal(echo.peers.length, peers, 'the app must not see a refused plaintext connection');
  // mTLS traffic is still allowed under STRICT.
  const s = await socks5Connect({ host: addrs.nodeA, port: 15080 }, { host: addrs.vip, port: 80 }, addrs.client);
  const rx3 = collect(s);
  s.end('mtls ok');
  await rx3.closed;
  assert.equal(rx3.bytes(), 'mtls ok'.length);
  await reconfigure(meshYaml(addrs));
});

test('real curl through SOCKS5 reaches an HTTP server behind the other agent by mesh hostname', async () => {
  const http: Server = createHttpServer((req, res) => res.end(`hello ${req.url} from echo\n`));
  http.listen(addrs.echoPort + 1, addrs.echo);
  await once(http, 'listening');
  try {
    const yaml = meshYaml(addrs).replace(`80: ${addrs.echoPort}\n- uid`, `80: ${addrs.echoPort}\n      81: ${addrs.echoPort + 1}\n- uid`);
    await reconfigure(yaml.replace(`  ports:\n    80: ${addrs.echoPort}\n`, `  ports:\n    80: ${addrs.echoPort}\n    81: ${addrs.echoPort + 1}\n`));
    const { stdout } = await execFileP('curl', [
      '-sS', '--max-time', '10', '--interface', addrs.client,
      '--socks5-hostname', `${addrs.nodeA}:15080`, 'http://echo.default.svc.cluster.local:81/mesh',
    ]);
    assert.equal(stdout, 'hello /mesh from echo\n');
  } finally {
    http.close();
    await reconfigure(meshYaml(addrs));
  }
});

test('garbage on 15008 and a malformed SOCKS5 greeting close only that connection and are counted', async () => {
  const g = connect({ host: addrs.echo, port: 15008 });
  await once(g, 'connect');
  g.end(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
  await once(g.resume(), 'close');
  const bad = connect({ host: addrs.nodeA, port: 15080, localAddress: addrs.client });
  await once(bad, 'connect');
  bad.end(Buffer.from([4, 1, 0, 80, 127, 0, 0, 1, 0]));
  await once(bad.resume(), 'close');
  const metricsB = await (await fetch(`http://${addrs.nodeB}:15020/metrics`)).text();
  const metricsA = await (await fetch(`http://${addrs.nodeA}:15020/metrics`)).text();
  assert.match(metricsB, /ambit_errors_total\{component="hbone_server"/);
  assert.match(metricsA, /ambit_errors_total\{component="socks5",code="SOCKS_PROTOCOL"\} [1-9]/);
  const s = await socks5Connect({ host: addrs.nodeA, port: 15080 }, { host: addrs.vip, port: 80 }, addrs.client);
  const rx = collect(s);
  s.end('alive');
  await rx.closed;
  assert.equal(rx.bytes(), 5);
});

test('readiness, config dump with certificates, and /logging on a running agent', async () => {
  const ready = await fetch(`http://${addrs.nodeB}:15021/healthz/ready`);
  assert.equal(ready.status, 200);
  assert.equal(await ready.text(), 'ready\n');
  const dump = (await (await fetch(`http://${addrs.nodeB}:15000/config_dump`)).json()) as {
    workloads: unknown[];
    certificates: Array<{ identity: string; state: string; certChain: Array<{ expirationTime: string }> }>;
  };
  assert.equal(dump.workloads.length, 4);
  const echoCert = dump.certificates.find((c) => c.identity === 'spiffe://cluster.local/ns/default/sa/echo');
  assert.ok(echoCert, 'echo certificate listed');
  assert.equal(echoCert.state, 'Available');
  assert.ok(Date.parse(echoCert.certChain[0]!.expirationTime) > Date.now());
  const set = await fetch(`http://${addrs.nodeB}:15000/logging?level=access=warn`, { method: 'POST' });
  assert.equal(set.status, 200);
  assert.equal(b.agent.accessLog.level, 'warn');
  await fetch(`http://${addrs.nodeB}:15000/logging?level=access=debug`, { method: 'POST' });
});

test('the peer node removes and re-adds the destination workload: the next connection works at once, not after a keepalive timeout', async () => {
  const roundTrip = async (text: string): Promise<string> => {
    const s = await socks5Connect({ host: addrs.nodeA, port: 15080 }, { host: addrs.vip, port: 80 }, addrs.client);
    const got = collect(s);
    s.end(text);
    await got.closed;
    return `${got.bytes()}`;
  };
  assert.equal(await roundTrip('first'), '5');
  assert.ok(a.agent.proxy.hboneStats().pool.connections >= 1, 'no pooled HBONE connection to the echo workload');
  const full = meshYaml(addrs);
  const start = full.indexOf('- uid: Kubernetes//v1/Pod/default/echo');
  const end = full.indexOf('- uid: Kubernetes//v1/Pod/default/tcp-echo');
  await reconfigure(full.slice(0, start) + full.slice(end));
  // b closed the workload's listener and its connections: a's pool must have let go at once.
  await waitUntil(() => a.agent.proxy.hboneStats().pool.connections === 0, 1000);
  await reconfigure(full);
  const t0 = Date.now();
  assert.equal(await roundTrip('second'), '6');
  assert.ok(Date.now() - t0 < 1000, `the first connection after re-adding took ${Date.now() - t0} ms`);
});
