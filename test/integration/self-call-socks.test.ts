// A real agent whose servers are reachable on loopback (admin 127.0.0.1, the rest on `::`): a local
// workload must not reach admin, stats or readiness through SOCKS5, captured outbound or 15006.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { networkInterfaces } from 'node:os';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { once } from 'node:events';
import { startAgent, tempDir, writeConfig, type TestAgent } from '../helpers/agent.js';
import { echoTransfer, randomLoopbackPrefix, socks5Connect, startEchoServer, type EchoServer } from '../helpers/tcp.js';
import { metricSum } from '../helpers/prometheus-text.js';

const p = randomLoopbackPrefix();
const CLIENT = `${p}.11`;
const STRANGER = `${p}.99`;
const ECHO = `${p}.21`;
const QUIT = 'POST /quitquitquit HTTP/1.1\r\nHost: admin\r\nContent-Length: 0\r\n\r\n';

let agent: TestAgent;
let echo: EchoServer;
let quits = 0;
let ports: { socks5: number; admin: number; stats: number; readiness: number };

before(async () => {
  const dir = tempDir();
  const yaml = `workloads:
- uid: Kubernetes//Pod/default/client
  name: client
  namespace: default
  serviceAccount: client
  workloadIps: ["${CLIENT}"]
  protocol: HBONE
  node: self
- uid: Kubernetes//Pod/default/echo
  name: echo
  namespace: default
  workloadIps: ["${ECHO}"]
  protocol: TCP
  node: elsewhere
`;
  echo = await startEchoServer(ECHO);
  // Every port chosen by the OS: the refusals must follow the bound ports, not the config's 0.
  const env: Record<string, string> = { AMBIT_ADMIN_BIND_ADDRESS: '127.0.0.1' };
  for (const k of ['ADMIN', 'STATS', 'READINESS', 'SOCKS5', 'OUTBOUND', 'HBONE', 'INBOUND']) env[`AMBIT_PORT_${k}`] = '0';
  agent = await startAgent({ nodeName: 'self', bind: '::', configPath: writeConfig(dir, yaml), stateDir: `${dir}/state`, env, onQuit: () => quits++ });
  const servers = agent.agent.addresses();
  ports = { socks5: agent.agent.proxy.addresses().socks5!.port, admin: servers.admin!.port, stats: servers.stats!.port, readiness: servers.readiness!.port };
});

after(async () => {
  agent?.agent.destroy();
  await echo?.close();
});

/** A SOCKS5 CONNECT from the client workload; if it is let through, the admin shutdown is sent. */
async function socksAttempt(target: { host: string; port: number; asDomain?: boolean }, from = CLIENT): Promise<number> {
  try {
    const s = await socks5Connect({ host: '127.0.0.1', port: ports.socks5 }, target, from);
    s.end(QUIT);
    s.resume();
    await once(s, 'close');
    return 0;
  } catch (err) {
    return (err as { socksReply?: number }).socksReply ?? -1;
  }
}

async function errorsCounted(component: string): Promise<number> {
  return metricSum(await agent.agent.registry.metrics(), 'ambit_errors_total', { component, code: 'SELF_CALL' });
}

/** The first non-internal address of this host per family (the wildcard-bound servers take them too). */
function interfaceAddress(family: 'IPv4' | 'IPv6'): string | undefined {
  const all = Object.values(networkInterfaces()).flatMap((l) => l ?? []);
  return all.find((i) => !i.internal && i.family === family && !i.address.startsWith('fe80:'))?.address;
}

test('SOCKS5 to the admin, stats and readiness servers in every address form: 0x02, and the agent keeps serving', async () => {
  const v4 = interfaceAddress('IPv4');
  const v6 = interfaceAddress('IPv6');
  const targets: Array<{ host: string; port: number; asDomain?: boolean }> = [
    { host: '127.0.0.1', port: ports.admin },
    { host: 'localhost', port: ports.admin },
    { host: '::1', port: ports.stats },
    { host: '::ffff:127.0.0.1', port: ports.admin },
    { host: '0.0.0.0', port: ports.admin },
    { host: '::', port: ports.stats },
    { host: '127.1.2.3', port: ports.readiness },
    { host: '0:0:0:0:0:0:0:1', port: ports.stats, asDomain: true },
    { host: '::ffff:7f00:1', port: ports.admin, asDomain: true },
    { host: '127.0.0.1', port: ports.socks5 },
    ...(v4 ? [{ host: v4, port: ports.stats }] : []),
    ...(v6 ? [{ host: v6, port: ports.readiness }] : []),
  ];
  const before = await errorsCounted('outbound');
  for (const t of targets) {
    assert.equal(await socksAttempt(t), 2, `${t.host}:${t.port}${t.asDomain ? ' (as a domain name)' : ''} must be refused with 0x02`);
  }
  assert.equal(quits, 0, 'the admin server never saw /quitquitquit');
  assert.equal((await errorsCounted('outbound')) - before, targets.length, 'each refusal is counted');
  const line = await agent.logs.waitFor((l) => l.msg === 'connection failed' && l['dst.addr'] === `127.0.0.1:${ports.admin}`);
  assert.equal(line.level, 40, 'WARN');
  assert.match(String(line.error), /own admin listener/);
  // Still serving: the admin API directly, and the mesh through SOCKS5.
  const res = await fetch(`http://127.0.0.1:${ports.admin}/`);
  assert.equal(res.status, 200);
  const s = await socks5Connect({ host: '127.0.0.1', port: ports.socks5 }, { host: ECHO, port: echo.port }, CLIENT);
  const r = await echoTransfer(s, 10_000);
  assert.equal(r.receivedSha256, r.sentSha256);
});

test('SOCKS5 from an address that is no local workload: 0x02 (not allowed), not 0x04', async () => {
  assert.equal(await socksAttempt({ host: ECHO, port: echo.port }, STRANGER), 2);
  const line = await agent.logs.waitFor((l) => l.msg === 'connection failed' && String(l['src.addr']).startsWith(`${STRANGER}:`));
  assert.match(String(line.error), /no local workload/);
});

/** Accepts one real TCP connection from `from` and hands it to a capture seam of the agent. */
async function throughSeam(seam: (socket: Socket) => Promise<void>, from: string): Promise<{ client: Socket; received: () => number; closed: Promise<unknown> }> {
  const server = createServer({ allowHalfOpen: true, pauseOnConnect: true });
  server.listen(0, CLIENT);
  await once(server, 'listening');
  const accepted = once(server, 'connection') as Promise<[Socket]>;
  const client = connect({ host: CLIENT, port: (server.address() as AddressInfo).port, localAddress: from });
  client.on('error', () => undefined);
  const [socket] = await accepted;
  server.close();
  let n = 0;
  client.on('data', (d: Buffer) => (n += d.length));
  const closed = once(client, 'close');
  void seam(socket);
  return { client, received: () => n, closed };
}

test('captured outbound (15001 seam) to own servers: closed, logged, counted; other destinations still proxied', async () => {
  const v4 = interfaceAddress('IPv4');
  const dsts = [
    { ip: '127.0.0.1', port: ports.admin },
    { ip: '::1', port: ports.stats },
    { ip: '::ffff:7f00:1', port: ports.readiness },
    { ip: '0.0.0.0', port: ports.admin },
    ...(v4 ? [{ ip: v4, port: ports.stats }] : []),
  ];
  const before = await errorsCounted('outbound');
  for (const dst of dsts) {
    const c = await throughSeam((s) => agent.agent.proxy.handleOutbound(s, dst), CLIENT);
    c.client.write(QUIT);
    await c.closed;
    assert.equal(c.received(), 0, `${dst.ip}:${dst.port}: nothing may come back`);
  }
  assert.equal((await errorsCounted('outbound')) - before, dsts.length);
  assert.equal(quits, 0);
  const line = await agent.logs.waitFor((l) => l.msg === 'connection failed' && l['dst.addr'] === `[::1]:${ports.stats}`);
  assert.equal(line.direction, 'outbound');
  assert.match(String(line.error), /own stats listener/);
  const ok = await throughSeam((s) => agent.agent.proxy.handleOutbound(s, { ip: ECHO, port: echo.port }), CLIENT);
  ok.client.end('through');
  await ok.closed;
  assert.equal(ok.received(), 'through'.length);
});

test('captured inbound plaintext (15006 seam) to a workload address on a server port: refused as SELF_CALL', async () => {
  // Stats listens on `::`, so the client workload's own loopback address reaches it too.
  const before = await errorsCounted('inbound_passthrough');
  const c = await throughSeam((s) => agent.agent.proxy.handlePlaintext(s, { ip: CLIENT, port: ports.stats }), `${p}.12`);
  c.client.write('GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n');
  await c.closed;
  assert.equal(c.received(), 0, 'the stats server must not answer');
  assert.equal((await errorsCounted('inbound_passthrough')) - before, 1);
});

test('admin bound to loopback: no network-exposure warning', () => {
  assert.equal(agent.logs.lines.find((l) => /admin API .* reachable from the network/.test(l.msg)), undefined);
});

test('--admin-bind-address 0.0.0.0 is accepted, with a WARN at start-up', async () => {
  const dir = tempDir();
  const yaml = `workloads:\n- name: w\n  namespace: default\n  workloadIps: ["${p}.31"]\n  node: exposed\n`;
  const env: Record<string, string> = { AMBIT_ADMIN_BIND_ADDRESS: '0.0.0.0' };
  for (const k of ['ADMIN', 'STATS', 'READINESS', 'SOCKS5', 'OUTBOUND', 'HBONE', 'INBOUND']) env[`AMBIT_PORT_${k}`] = '0';
  const exposed = await startAgent({ nodeName: 'exposed', bind: `${p}.31`, configPath: writeConfig(dir, yaml), stateDir: `${dir}/state`, env });
  try {
    const warn = await exposed.logs.waitFor((l) => /admin API \(config dump, \/quitquitquit, log levels\) is reachable from the network/.test(l.msg));
    assert.equal(warn.level, 40);
    assert.equal(warn.adminBindAddress, '0.0.0.0');
    const res = await fetch(`http://127.0.0.1:${exposed.agent.addresses().admin!.port}/`);
    assert.equal(res.status, 200, 'the setting is honoured');
  } finally {
    exposed.agent.destroy();
  }
});
