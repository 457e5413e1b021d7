// `ambit control` with outboundTrafficPolicy REGISTRY_ONLY serving two node agents over delta xDS
// (in-process, loopback, SOCKS5 from the client pod's address): the policy reaches the agent on the
// pod's Workload, unknown addresses are refused with flag NR, and ServiceEntries (NONE with
// addresses, STATIC behind a VIP, DNS resolved by the agent) make external servers reachable.
// Agent a (the client's) runs its data plane in two worker threads: the policy, the refusal and
// the name lookups are the workers' (the netns test covers the single event loop).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Socket } from 'node:net';
import { tempDir } from '../helpers/agent.js';
import { meshAddresses, type MeshAddresses } from '../helpers/mesh-config.js';
import { meshManifests, startControlPlane, type TestControlPlane } from '../helpers/mesh-manifests.js';
import { metricSum } from '../helpers/prometheus-text.js';
import { serviceEntryYaml } from '../helpers/service-entry-objects.js';
import { randomLoopbackPrefix, socks5Connect, startEchoServer, type EchoServer } from '../helpers/tcp.js';
import { waitUntil } from '../helpers/two-node-mesh.js';
import { startXdsAgent, type StartedXdsAgent } from '../helpers/xds-agent.js';

let addrs: MeshAddresses;
let cp: TestControlPlane;
let echo: EchoServer;
/** The "external" server: on an address of no workload and no Service. */
let external: EchoServer;
/** The same behind `localhost` (what a DNS ServiceEntry for host `localhost` resolves to). */
let local: EchoServer;
const agents: StartedXdsAgent[] = [];

before(async () => {
  addrs = meshAddresses(randomLoopbackPrefix());
  const dir = tempDir();
  const stateDir = join(dir, 'state');
  echo = await startEchoServer(addrs.echo, addrs.echoPort);
  external = await startEchoServer(`${addrs.prefix}.50`);
  local = await startEchoServer('127.0.0.1');
  cp = await startControlPlane(join(dir, 'manifests'), stateDir, { AMBIT_OUTBOUND_TRAFFIC_POLICY: 'REGISTRY_ONLY' });
  cp.write('mesh.yaml', meshManifests(addrs));
  await waitUntil(() => (cp.plane.pipeline.state().translation?.workloads.length ?? 0) === 2, 10_000);
  for (const [node, bind] of [['a', addrs.nodeA], ['b', addrs.nodeB]] as const) {
    const env: Record<string, string> = node === 'a' ? { WORKER_THREADS: '2' } : {};
    const a = startXdsAgent({ nodeName: node, bind, stateDir, xdsAddress: cp.xdsAddress, env });
    agents.push(a);
    await a.started;
    await a.agent.readiness.whenReady();
  }
});

after(async () => {
  for (const a of agents) a.agent.destroy();
  cp?.plane.destroy();
  await Promise.all([echo?.close(), external?.close(), local?.close()]);
});

const agentA = (): StartedXdsAgent => agents[0]!;

/** One echo round trip through SOCKS5 on agent a from the client pod's address; rejects when refused. */
async function roundTrip(host: string, port: number, text: string): Promise<string> {
  const s: Socket = await socks5Connect({ host: addrs.nodeA, port: 15080 }, { host, port }, addrs.client);
  const chunks: Buffer[] = [];
  s.on('data', (d: Buffer) => chunks.push(d));
  s.end(text);
  await new Promise<void>((resolve, reject) => {
    s.once('end', resolve);
    s.once('error', reject);
  });
  s.destroy();
  return Buffer.concat(chunks).toString();
}

function outboundLines(): Record<string, unknown>[] {
  return agentA().logs.lines.filter((l) => l.msg === 'connection complete' && l['direction'] === 'outbound');
}

/** The first access line after `before` lines (the next connection's). */
async function nextLine(before: number): Promise<Record<string, unknown>> {
  // Worker threads' lines reach the main thread's log a tick later than the connection ends.
  await waitUntil(() => outboundLines().length > before, 5_000);
  return outboundLines()[before]!;
}

async function metrics(): Promise<string> {
  return (await fetch(agentA().url('stats', '/metrics'))).text();
}

/** Writes a ServiceEntry and waits until agent a holds its Service (or, `gone`, no longer does). */
async function applyEntry(name: string, spec: Record<string, unknown> | undefined, host: string): Promise<void> {
  if (spec === undefined) cp.write(`${name}.yaml`, '');
  else cp.write(`${name}.yaml`, serviceEntryYaml(name, 'default', spec));
  await waitUntil(() => (agentA().agent.state.serviceByKey(`default/${host}`) !== undefined) === (spec !== undefined), 10_000);
}

test('the policy reaches the agent on the client pod Workload; mesh traffic is unaffected', async () => {
  const client = agentA().agent.state.workloadByUid('Kubernetes//Pod/default/client');
  assert.equal(client?.outboundTrafficPolicy, 'REGISTRY_ONLY');
  assert.equal(await roundTrip(addrs.vip, 80, 'to-the-vip'), 'to-the-vip');
});

test('an address outside the mesh is refused: SOCKS "not allowed", NR in the access log, BlackHoleCluster in the metrics', async () => {
  await assert.rejects(roundTrip(external.host, external.port, 'nope'), (err: Error & { socksReply?: number }) => err.socksReply === 2);
  assert.deepEqual(external.peers, [], 'nothing reached the server');
  await waitUntil(() => outboundLines().some((l) => l['response_flags'] === 'NR'), 5_000);
  const line = outboundLines().find((l) => l['response_flags'] === 'NR')!;
  assert.equal(line['dst.addr'], `${external.host}:${external.port}`);
  assert.equal(line['src.workload'], 'client');
  assert.match(String(line['error']), /is no workload, service VIP or ServiceEntry host of the mesh; refused by outboundTrafficPolicy REGISTRY_ONLY/);
  const body = await metrics();
  const labels = { response_flags: 'NR', destination_service: 'BlackHoleCluster', source_workload: 'client', reporter: 'source' };
  assert.equal(metricSum(body, 'istio_tcp_connections_failed_total', labels), 1);
  assert.equal(metricSum(body, 'istio_tcp_connections_closed_total', labels), 1);
});

test('a ServiceEntry with the address (resolution NONE) admits it; removing it refuses again', async () => {
  await applyEntry('ext', { hosts: ['ext.example.com'], addresses: [external.host], ports: [{ number: external.port, name: 'tcp', protocol: 'TCP' }], resolution: 'NONE' }, 'ext.example.com');
  const before = outboundLines().length;
  assert.equal(await roundTrip(external.host, external.port, 'registered'), 'registered');
  const line = await nextLine(before);
  assert.equal(line['dst.service'], 'ext.example.com');
  assert.equal(line['dst.addr'], `${external.host}:${external.port}`);
  await applyEntry('ext', undefined, 'ext.example.com');
  await assert.rejects(roundTrip(external.host, external.port, 'again'));
});

test('a STATIC ServiceEntry: its VIP leads to the endpoint, plain TCP', async () => {
  const vip = `${addrs.prefix}.200`;
  await applyEntry('static', { hosts: ['db.example.com'], addresses: [vip], ports: [{ number: 5432, name: 'pg', protocol: 'TCP', targetPort: external.port }], resolution: 'STATIC', endpoints: [{ address: external.host }] }, 'db.example.com');
  const before = outboundLines().length;
  assert.equal(await roundTrip(vip, 5432, 'via-vip'), 'via-vip');
  const line = await nextLine(before);
  assert.equal(line['dst.addr'], `${external.host}:${external.port}`);
  assert.equal(line['dst.workload'], 'static');
  await applyEntry('static', undefined, 'db.example.com');
});

test('a DNS ServiceEntry: the address its host resolves to is admitted, and its automatic VIP reaches the host by name', async () => {
  await assert.rejects(roundTrip('127.0.0.1', local.port, 'before'), 'not registered yet');
  await applyEntry('dns', { hosts: ['localhost'], ports: [{ number: local.port, name: 'tcp', protocol: 'TCP' }], resolution: 'DNS' }, 'localhost');
  const before = outboundLines().length;
  assert.equal(await roundTrip('127.0.0.1', local.port, 'by-name'), 'by-name');
  const byName = await nextLine(before);
  assert.equal(byName['dst.service'], 'localhost');
  assert.equal(byName['dst.addr'], `localhost:${local.port}`, 'routed as the host: its endpoint, resolved when connecting');
  const svc = agentA().agent.state.serviceByKey('default/localhost')!;
  const vip = svc.vips.find((v) => v.ip.startsWith('240.240.'))!.ip;
  assert.equal(await roundTrip(vip, local.port, 'by-vip'), 'by-vip');
  // Another port of the same address is still no registered destination.
  await assert.rejects(roundTrip('127.0.0.1', external.port, 'other-port'));
  await applyEntry('dns', undefined, 'localhost');
});
