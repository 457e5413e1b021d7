// `ambit control` driving in-pod capture for real: pod netns on a bridge, the control plane and two
// agents as processes, and the manifests edited live (enrollment label, opt-out, policy objects).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { CpInpodMesh, type NodeName } from '../helpers/cp-inpod-mesh.js';
import { denyFromYaml, namespaceYaml, podsYaml, spiffeOf } from '../helpers/inpod-manifests.js';
import { assertNoLeftovers, requireRoot } from '../helpers/netns-topology.js';
import { captureWire, synDestinations } from '../helpers/wire-capture.js';
import type { LogLine } from '../helpers/agent-process.js';

let mesh: CpInpodMesh;
const ALL_TCP = { c1: 'TCP', c2: 'TCP', s1: 'TCP', s2: 'TCP' };
const ALL_HBONE = { c1: 'HBONE', c2: 'HBONE', s1: 'HBONE', s2: 'HBONE' };
const NONE_CAPTURED: Record<NodeName, string[]> = { node1: [], node2: [] };

before(async () => {
  requireRoot('the control-plane in-pod tests');
  mesh = await CpInpodMesh.start({ ambient: false });
});

after(async () => {
  const id = mesh?.topo.id;
  await mesh?.close();
  if (id) await assertNoLeftovers(id);
});

const pod = (name: 'c1' | 'c2' | 's1' | 's2') => mesh.topo.pods.get(name)!;

async function istioRules(name: 'c1' | 'c2' | 's1' | 's2'): Promise<string[]> {
  const r = await mesh.topo.exec(name, ['iptables-save', '-t', 'nat']);
  return r.stdout.split('\n').filter((l) => l.startsWith('-A ISTIO_'));
}

/** curl from `from` to s1:8080 with a unique path while tcpdump watches `from`'s veth. */
async function curlS1On(from: 'c1' | 'c2', path: string) {
  const p = pod(from);
  return captureWire(p.veth, p.ip, () => mesh.curl(from, `http://${pod('s1').ip}:8080/${path}`));
}

function accessLines(node: NodeName, direction: string): LogLine[] {
  return mesh.agent(node).lines.filter((l) => l.msg === 'connection complete' && l.direction === direction);
}

async function waitLine(node: NodeName, direction: string, match: (l: LogLine) => boolean): Promise<LogLine> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const line = accessLines(node, direction).find(match);
    if (line) return line;
    if (Date.now() > deadline) throw new Error(`no ${direction} access line on ${node} matching; have ${JSON.stringify(accessLines(node, direction))}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('no ambient label: no pod captured, workloads TCP, curl goes straight to the server in plaintext', async () => {
  await mesh.waitEnrollment({ captured: NONE_CAPTURED, protocol: ALL_TCP });
  const cap = await curlS1On('c1', 'plain-before');
  assert.equal(cap.result.code, 0, cap.result.error);
  assert.equal(cap.result.body, `hello from s1; client=${pod('c1').ip}; path=/plain-before\n`);
  assert.deepEqual(synDestinations(cap.packets), [`${pod('s1').ip}:8080`]);
  assert.ok(cap.raw.includes(Buffer.from('GET /plain-before')), 'the request is on the wire in clear');
  assert.deepEqual(await istioRules('c1'), []);
  assert.deepEqual(accessLines('node1', 'outbound'), [], 'no proxy saw the connection');
});

test('labelling the namespace enrolls the pods live: HBONE to 15008 with both identities, no restarts', async () => {
  const pids = [mesh.cp!.pid, mesh.agent('node1').pid, mesh.agent('node2').pid, ...mesh.servers.map((s) => s.pid)];
  mesh.manifests.write('namespace.yaml', namespaceYaml(true));
  await mesh.waitEnrollment({ captured: { node1: ['c1', 'c2'], node2: ['s1', 's2'] }, protocol: ALL_HBONE });
  assert.ok((await istioRules('c1')).some((l) => l.includes('ISTIO_OUTPUT')), 'redirect rules installed in c1');

  const cap = await curlS1On('c1', 'secret-after-label');
  assert.equal(cap.result.code, 0, cap.result.error);
  assert.equal(cap.result.body, `hello from s1; client=${pod('c1').ip}; path=/secret-after-label\n`, 'the app still sees the client pod IP');
  assert.deepEqual(synDestinations(cap.packets), [`${pod('s1').ip}:15008`], 'one HBONE connection, nothing to 8080');
  assert.equal(cap.raw.includes(Buffer.from('secret-after-label')), false, 'the request is not visible in clear');

  const inbound = await waitLine('node2', 'inbound', (l) => l['src.workload'] === 'c1');
  assert.equal(inbound['src.identity'], spiffeOf('client'));
  assert.equal(inbound['dst.identity'], spiffeOf('server'));
  const outbound = await waitLine('node1', 'outbound', (l) => l['dst.hbone_addr'] === `${pod('s1').ip}:8080`);
  assert.equal(outbound['dst.addr'], `${pod('s1').ip}:15008`);
  assert.equal(outbound['dst.identity'], spiffeOf('server'));
  assert.deepEqual([mesh.cp!.pid, mesh.agent('node1').pid, mesh.agent('node2').pid, ...mesh.servers.map((s) => s.pid)], pids);
  assert.ok(mesh.servers.every((s) => s.exitCode === null), 'the servers kept running');
});

test('an AuthorizationPolicy object is enforced: DENY from sa client fails c1, c2 (sa other) passes; removing it re-admits', async () => {
  mesh.manifests.write('deny-client.yaml', denyFromYaml('client'));
  await mesh.waitPolicies('node2', 1);
  const denied = await mesh.curl('c1', `http://${pod('s1').ip}:8080/denied`);
  assert.notEqual(denied.code, 0, `c1 must be refused, got: ${denied.body}`);
  const viaVip = await mesh.curl('c1', `http://${mesh.pods.vip}/denied-vip`);
  assert.notEqual(viaVip.code, 0, 'refused through the service VIP as well');
  const other = await mesh.curl('c2', `http://${pod('s1').ip}:8080/other`);
  assert.equal(other.code, 0, other.error);
  assert.equal(other.body, `hello from s1; client=${pod('c2').ip}; path=/other\n`);
  const refusal = await waitLine('node2', 'inbound', (l) => l['src.identity'] === spiffeOf('client') && l.error !== undefined);
  assert.match(String(refusal.error), /polic|denied|authoriz/i);

  mesh.manifests.remove('deny-client.yaml');
  await mesh.waitPolicies('node2', 0);
  const again = await mesh.curl('c1', `http://${pod('s1').ip}:8080/again`);
  assert.equal(again.code, 0, again.error);
});

test('a pod opted out with istio.io/dataplane-mode=none stays out while its namespace is enrolled', async () => {
  mesh.manifests.write('pods.yaml', podsYaml(mesh.pods, { optOut: ['c2'] }));
  await mesh.waitEnrollment({ captured: { node1: ['c1'], node2: ['s1', 's2'] }, protocol: { ...ALL_HBONE, c2: 'TCP' } });
  assert.deepEqual(await istioRules('c2'), [], 'c2 capture removed');
  assert.ok((await istioRules('c1')).length > 0, 'c1 still captured');
  const cap = await curlS1On('c2', 'opted-out');
  assert.equal(cap.result.code, 0, cap.result.error);
  // s1 is captured and PERMISSIVE: it takes plaintext on 15006 and hands it on with c2's own IP.
  assert.equal(cap.result.body, `hello from s1; client=${pod('c2').ip}; path=/opted-out\n`);
  assert.deepEqual(synDestinations(cap.packets), [`${pod('s1').ip}:8080`], 'plaintext, not HBONE');
  assert.ok(cap.raw.includes(Buffer.from('GET /opted-out')));
  const c1 = await curlS1On('c1', 'still-hbone');
  assert.deepEqual(synDestinations(c1.packets).filter((d) => d.endsWith(':8080')), [], 'c1 still goes over HBONE');
});

test('removing the label un-enrolls every pod live: proxies and rules gone, plaintext again', async () => {
  mesh.manifests.write('pods.yaml', podsYaml(mesh.pods));
  mesh.manifests.write('namespace.yaml', namespaceYaml(false));
  await mesh.waitEnrollment({ captured: NONE_CAPTURED, protocol: ALL_TCP });
  for (const p of ['c1', 'c2', 's1', 's2'] as const) assert.deepEqual(await istioRules(p), [], `${p} rules removed`);
  const before = accessLines('node1', 'outbound').length;
  const cap = await curlS1On('c1', 'plain-after');
  assert.equal(cap.result.code, 0, cap.result.error);
  assert.equal(cap.result.body, `hello from s1; client=${pod('c1').ip}; path=/plain-after\n`);
  assert.deepEqual(synDestinations(cap.packets), [`${pod('s1').ip}:8080`]);
  assert.ok(cap.raw.includes(Buffer.from('GET /plain-after')));
  assert.equal(accessLines('node1', 'outbound').length, before, 'no proxy on the path any more');
});
