// `ambit control` driving two node agents from Kubernetes manifests over delta xDS: enrollment by
// namespace label, a policy applied as an object, and the agents serving on while it is down.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { tempDir } from '../helpers/agent.js';
import { meshAddresses, type MeshAddresses } from '../helpers/mesh-config.js';
import { meshManifests, startControlPlane, type TestControlPlane } from '../helpers/mesh-manifests.js';
import { randomLoopbackPrefix, socks5Connect, startEchoServer, type EchoServer } from '../helpers/tcp.js';
import { waitUntil } from '../helpers/two-node-mesh.js';
import { startXdsAgent, type StartedXdsAgent } from '../helpers/xds-agent.js';

let addrs: MeshAddresses;
let cp: TestControlPlane;
let echo: EchoServer;
let stateDir: string;
const agents: StartedXdsAgent[] = [];

before(async () => {
  addrs = meshAddresses(randomLoopbackPrefix());
  const dir = tempDir();
  stateDir = join(dir, 'state');
  echo = await startEchoServer(addrs.echo, addrs.echoPort);
  cp = await startControlPlane(join(dir, 'manifests'), stateDir);
  cp.write('mesh.yaml', meshManifests(addrs));
  await waitUntil(() => (cp.plane.pipeline.state().translation?.workloads.length ?? 0) === 2, 10_000);
  for (const [node, bind] of [['a', addrs.nodeA], ['b', addrs.nodeB]] as const) {
    const a = startXdsAgent({ nodeName: node, bind, stateDir, xdsAddress: cp.xdsAddress });
    agents.push(a);
    await a.started;
    await a.agent.readiness.whenReady();
  }
});

after(async () => {
  for (const a of agents) a.agent.destroy();
  cp?.plane.destroy();
  await echo?.close();
});

/** One request/reply through SOCKS5 on agent a, from the client pod's address, to the service VIP. */
async function roundTrip(text: string): Promise<string> {
  const s = await socks5Connect({ host: addrs.nodeA, port: 15080 }, { host: addrs.vip, port: 80 }, addrs.client);
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

function lastOutbound(a: StartedXdsAgent): Record<string, unknown> | undefined {
  return a.logs.lines.filter((l) => l.msg === 'connection complete' && l['direction'] === 'outbound').at(-1);
}

test('pods of an ambient namespace are enrolled: traffic to the service VIP goes over HBONE with both identities', async () => {
  assert.equal(await roundTrip('hello'), 'hello');
  const line = lastOutbound(agents[0]!)!;
  assert.equal(line['src.identity'], 'spiffe://cluster.local/ns/default/sa/client');
  assert.equal(line['dst.identity'], 'spiffe://cluster.local/ns/default/sa/echo');
  assert.equal(line['dst.addr'], `${addrs.echo}:15008`);
  assert.equal(line['dst.service'], 'echo.default.svc.cluster.local');
});

test('an AuthorizationPolicy applied as an object is enforced, and removing it re-admits', async () => {
  cp.write(
    'deny.yaml',
    `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: deny-client
  namespace: default
spec:
  selector:
    matchLabels:
      app: echo
  action: DENY
  rules:
  - from:
    - source:
        principals: ["cluster.local/ns/default/sa/client"]
`,
  );
  const b = agents[1]!;
  await waitUntil(() => b.agent.state.policiesFor(b.agent.state.workloadByUid('Kubernetes//Pod/default/echo')!).length > 0, 10_000);
  await assert.rejects(roundTrip('denied'), /socks5 connect failed with reply 2/);
  cp.write('deny.yaml', '');
  await waitUntil(() => b.agent.state.policiesFor(b.agent.state.workloadByUid('Kubernetes//Pod/default/echo')!).length === 0, 10_000);
  assert.equal(await roundTrip('again'), 'again');
});

test('removing the namespace label takes the pods out of the mesh: plain TCP, no identities', async () => {
  cp.write('mesh.yaml', meshManifests(addrs, { ambient: false }));
  const a = agents[0]!;
  await waitUntil(() => a.agent.state.workloadByUid('Kubernetes//Pod/default/echo')?.protocol === 'TCP', 10_000);
  assert.equal(await roundTrip('plain'), 'plain');
  const line = lastOutbound(a)!;
  assert.equal(line['dst.addr'], `${addrs.echo}:${addrs.echoPort}`);
  assert.equal(line['dst.identity'], undefined);
  cp.write('mesh.yaml', meshManifests(addrs));
  await waitUntil(() => a.agent.state.workloadByUid('Kubernetes//Pod/default/echo')?.protocol === 'HBONE', 10_000);
});

test('control plane down: agents keep serving new connections on the last config, and resync when it is back', async () => {
  const port = cp.plane.addresses().xds!;
  // A tunnel open before the control plane goes away must carry on through its absence.
  const held = await socks5Connect({ host: addrs.nodeA, port: 15080 }, { host: addrs.vip, port: 80 }, addrs.client);
  const echoOf = async (text: string): Promise<string> => {
    const got = new Promise<string>((resolve) => held.once('data', (d: Buffer) => resolve(d.toString())));
    held.write(text);
    return got;
  };
  assert.equal(await echoOf('before'), 'before');
  await cp.plane.close();
  assert.equal(await roundTrip('while down'), 'while down');
  assert.equal(await echoOf('held open'), 'held open');
  held.destroy();
  // Back on the same port with a changed world: the agents reconnect and take it.
  cp = await startControlPlane(cp.dir, stateDir, { AMBIT_PORT_XDS: String(port) });
  cp.write('mesh.yaml', meshManifests(addrs, { ambient: false }));
  const a = agents[0]!;
  await waitUntil(() => a.agent.state.workloadByUid('Kubernetes//Pod/default/echo')?.protocol === 'TCP', 20_000);
  assert.equal(await roundTrip('resynced'), 'resynced');
});
