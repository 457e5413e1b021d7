// Node agents that take everything from `ambit control` the way ztunnel takes it from istiod: xDS
// over TLS (15012) with a bearer token, and workload certificates from its CA by impersonation.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/agent.js';
import { meshAddresses, type MeshAddresses } from '../helpers/mesh-config.js';
import { meshManifests, startControlPlane, type TestControlPlane } from '../helpers/mesh-manifests.js';
import { randomLoopbackPrefix, socks5Connect, startEchoServer, type EchoServer } from '../helpers/tcp.js';
import { waitUntil } from '../helpers/two-node-mesh.js';
import { startXdsAgent, type StartedXdsAgent } from '../helpers/xds-agent.js';

const TOKENS: Record<string, string> = { a: 'token-of-node-a', b: 'token-of-node-b' };

let addrs: MeshAddresses;
let cp: TestControlPlane;
let echo: EchoServer;
let cpStateDir: string;
const agents: StartedXdsAgent[] = [];

before(async () => {
  addrs = meshAddresses(randomLoopbackPrefix());
  const dir = tempDir();
  cpStateDir = join(dir, 'control-state');
  const tokenFile = join(dir, 'tokens.yaml');
  // Each node agent's token names its account (trusted to impersonate) and binds it to its node.
  writeFileSync(tokenFile, Object.entries(TOKENS).map(([node, t]) => `${t}: { serviceAccount: istio-system/ztunnel, node: ${node} }\n`).join(''));
  echo = await startEchoServer(addrs.echo, addrs.echoPort);
  cp = await startControlPlane(join(dir, 'manifests'), cpStateDir, { AMBIT_CA_TOKEN_FILE: tokenFile });
  cp.write('mesh.yaml', meshManifests(addrs));
  await waitUntil(() => (cp.plane.pipeline.state().translation?.workloads.length ?? 0) === 2, 10_000);
  const tls = `https://127.0.0.1:${cp.plane.addresses().xdsTls}`;
  const root = join(cpStateDir, 'root-cert.pem');
  for (const [node, bind] of [['a', addrs.nodeA], ['b', addrs.nodeB]] as const) {
    const a = startXdsAgent({
      nodeName: node,
      bind,
      // Each agent has its own (empty) state dir: the only shared root is the control plane's.
      stateDir: join(dir, `agent-${node}`),
      xdsAddress: tls,
      env: {
        XDS_ROOT_CA: root,
        AMBIT_CA_PROVIDER: 'istiod',
        CA_ADDRESS: tls,
        CA_ROOT_CA: root,
        AUTH_TOKEN: TOKENS[node]!,
      },
    });
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

test('agents sync over TLS with a bearer token, get certificates from the control plane CA, and carry HBONE', async () => {
  const s = await socks5Connect({ host: addrs.nodeA, port: 15080 }, { host: addrs.vip, port: 80 }, addrs.client);
  const got: Buffer[] = [];
  s.on('data', (d: Buffer) => got.push(d));
  s.end('through the control plane');
  await new Promise<void>((resolve, reject) => {
    s.once('end', resolve);
    s.once('error', reject);
  });
  assert.equal(Buffer.concat(got).toString(), 'through the control plane');
  const line = agents[0]!.logs.lines.filter((l) => l.msg === 'connection complete' && l['direction'] === 'outbound').at(-1)!;
  assert.equal(line['dst.identity'], 'spiffe://cluster.local/ns/default/sa/echo');
  // The certificates came from the control plane's CA: issued by impersonation for each node's pod.
  const issued = records().filter((r) => r.outcome === 'issued');
  const byIdentity = new Map(issued.map((r) => [r.requested, r]));
  assert.equal(byIdentity.get('spiffe://cluster.local/ns/default/sa/client')?.node, 'a');
  assert.equal(byIdentity.get('spiffe://cluster.local/ns/default/sa/client')?.impersonated, true);
  assert.equal(byIdentity.get('spiffe://cluster.local/ns/default/sa/echo')?.node, 'b');
  assert.equal(byIdentity.get('spiffe://cluster.local/ns/default/sa/echo')?.caller, 'spiffe://cluster.local/ns/istio-system/sa/ztunnel');
  // No agent made a root of its own.
  for (const node of ['a', 'b']) assert.deepEqual(safeList(join(cpStateDir, '..', `agent-${node}`)), []);
});

test('a node agent cannot obtain the certificate of a pod on another node', async () => {
  const refusedBefore = records().filter((r) => r.outcome === 'refused').length;
  // Node a's agent asks for echo's identity (echo runs on node b): the CA must refuse.
  await assert.rejects(agents[0]!.agent.certs.fetch('spiffe://cluster.local/ns/default/sa/echo', 'realtime'));
  const refused = records().filter((r) => r.outcome === 'refused');
  assert.ok(refused.length > refusedBefore, 'the CA recorded no refusal');
  const last = refused.at(-1)!;
  assert.equal(last.requested, 'spiffe://cluster.local/ns/default/sa/echo');
  assert.equal(last.reason, 'workload_not_on_node');
  assert.match(last.message ?? '', /on node a/);
});

interface CaRecord {
  readonly outcome: 'issued' | 'refused';
  readonly caller?: string;
  readonly requested?: string;
  readonly impersonated: boolean;
  readonly node?: string;
  readonly reason?: string;
  readonly message?: string;
}

function records(): CaRecord[] {
  return cp.plane.debug().ca as CaRecord[];
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir).filter((f) => f.endsWith('.pem'));
  } catch {
    return [];
  }
}
