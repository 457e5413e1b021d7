// The demo's steps, one function each: what is done to the mesh (a manifest edit, a curl, iperf3)
// and what is shown of it (the edit beside the client's view, the wire, identities, logs, metrics).

import { once } from 'node:events';
import { relative } from 'node:path';
import type { AgentProcess, LogLine } from '../helpers/agent-process.js';
import { enrollmentView, NODES, type CpInpodMesh, type NodeName } from '../helpers/cp-inpod-mesh.js';
import { denyFromYaml, namespaceYaml, podYaml, POD_NAMES, POD_ROLES, spiffeOf } from '../helpers/inpod-manifests.js';
import { captureWire, synDestinations, type WireCapture } from '../helpers/wire-capture.js';
import { movedSeries, pickLabels } from './metrics-diff.js';
import { lineDiff, type Narrator } from './narration.js';

export const IPERF_SECONDS = Number(process.env.AMBIT_DEMO_IPERF_SECONDS ?? 2);
const ALL = (protocol: string): Record<string, string> => Object.fromEntries(POD_NAMES.map((p) => [p, protocol]));
const ENROLLED = { captured: { node1: ['c1', 'c2'], node2: ['s1', 's2'] }, protocol: ALL('HBONE') };
const RELEASED = { captured: { node1: [], node2: [] }, protocol: ALL('TCP') };

export function describeTopology(n: Narrator, mesh: CpInpodMesh): void {
  const { topo } = mesh;
  n.say(`bridge ${topo.bridge} (${topo.gatewayIp}), pods in ${topo.podCidr}, namespace "${mesh.namespace}":`);
  for (const name of POD_NAMES) {
    const p = topo.pods.get(name)!;
    const r = POD_ROLES[name];
    n.say(`  ${name}  ${p.ip.padEnd(12)} netns ${p.netnsName.padEnd(20)} ${r.node}, service account ${r.sa}, app=${r.app}`);
  }
  n.say(`service echo: VIP ${mesh.pods.vip}:80 → s1, s2 port 8080 (HTTP server naming the client address it sees)`);
}

export async function startControlPlane(n: Narrator, mesh: CpInpodMesh): Promise<void> {
  const short = (p: string): string => `$DIR/${relative(mesh.dir, p)}`;
  n.say(`DIR=${mesh.dir}`);
  n.say(`$DIR/manifests: namespace.yaml (no ambient label yet), pods.yaml (c1, c2, s1, s2), echo-service.yaml`);
  n.say('each pod as the kubelet would report it, plus where its network namespace is (pods.yaml, c1):');
  for (const l of podYaml('c1', mesh.pods.c1).split('\n').filter((x) => /netns|nodeName|serviceAccountName|podIP:/.test(x))) n.say(`    ${l.trim()}`);
  const cp = await mesh.startControlPlane();
  n.say(`$ ambit ${cp.args.map((a) => (a.startsWith(mesh.dir) ? short(a) : a)).join(' ')}`);
  n.say(`pid ${cp.pid}, ready: xDS + CA on ${cp.tlsAddress} (TLS, serving certificate from its mesh CA); monitoring http://${cp.spec.bind}:15014`);
  n.say('$DIR/ca-tokens.yaml maps each node agent\'s bearer token to istio-system/ztunnel on its node');
  const res = await cp.debug<{ workloads: Array<{ name: string; protocol: string; node: string }>; services: Array<{ hostname: string }> }>('/debug/resources');
  n.say(`curl .../debug/resources: ${res.workloads.map((w) => `${w.name} (${w.protocol}, ${w.node})`).join(', ')}; service ${res.services.map((s) => s.hostname).join(', ')}`);
}

export async function startAgents(n: Narrator, mesh: CpInpodMesh): Promise<void> {
  const env = mesh.agentEnv('node1');
  const short = (v: string): string => v.replace(mesh.dir, '$DIR');
  n.say(`env (node1): ${Object.entries(env).map(([k, v]) => `${k}=${short(v)}`).join(' ')}`);
  await mesh.startAgents();
  await mesh.startServers();
  for (const node of NODES) {
    const agent = mesh.agent(node);
    const v = await enrollmentView(agent);
    const local = POD_NAMES.filter((p) => POD_ROLES[p].node === node);
    n.say(`${node}: pid ${agent.pid}, ready; its pods ${local.map((p) => `${p} ${v.protocol[p]}`).join(', ')}; in-pod proxies: ${v.captured.join(', ') || 'none'}`);
  }
  const ca = await mesh.cp!.debug<Array<{ outcome: string; requested?: string; node?: string }>>('/debug/ca');
  const issued = ca.filter((r) => r.outcome === 'issued').map((r) => `${String(r.requested).split('/').pop()}@${r.node}`);
  n.say(`the control plane's CA issued: ${[...new Set(issued)].sort().join(', ')} (each agent only for its own node's pods)`);
  n.say('servers started in s1 and s2; same processes for the whole demo');
}

/** Wire summary lines: the connections c1 opened, and whether `secret` crossed in clear. */
function wireLines(cap: WireCapture<unknown>, secret: string): string[] {
  const dst = synDestinations(cap.packets);
  const tls = cap.raw.includes(Buffer.from([0x17, 0x03, 0x03]));
  return [
    `on c1's veth (tcpdump): connect → ${dst.join(', ') || '(pooled connection)'}`,
    cap.raw.includes(Buffer.from(secret)) ? `  "${secret}" visible in clear` : `  "${secret}" not visible${tls ? ': TLS records only' : ''}`,
  ];
}

async function curlShown(mesh: CpInpodMesh, from: string, url: string): Promise<{ lines: string[]; code: number; body: string }> {
  const r = await mesh.curl(from, url);
  return { lines: [`$ curl ${url}`, ...(r.code === 0 ? [r.body.trim()] : [r.error, `(curl exit code ${r.code})`])], code: r.code, body: r.body };
}

async function curlOnWire(mesh: CpInpodMesh, path: string): Promise<string[]> {
  const c1 = mesh.topo.pods.get('c1')!;
  const cap = await captureWire(c1.veth, c1.ip, () => curlShown(mesh, 'c1', `http://${mesh.pods.s1.ip}:8080/${path}`));
  if (cap.result.code !== 0) throw new Error(`curl from c1 failed: ${cap.result.lines.join(' ')}`);
  return [...cap.result.lines, ...wireLines(cap, `GET /${path}`)];
}

async function rulesIn(mesh: CpInpodMesh, pod: string): Promise<string[]> {
  const r = await mesh.topo.exec(pod, ['iptables-save', '-t', 'nat']);
  return r.stdout.split('\n').filter((l) => l.startsWith('-A ISTIO_'));
}

export async function notCaptured(n: Narrator, mesh: CpInpodMesh): Promise<void> {
  await mesh.waitEnrollment(RELEASED);
  const right = await curlOnWire(mesh, 'before-the-label');
  n.columns('manifests/namespace.yaml', namespaceYaml(false).trimEnd().split('\n'), 'client c1', right);
  n.say(`no in-pod proxy, no redirect rules in c1 (${(await rulesIn(mesh, 'c1')).length}), no access log line: the mesh is not on the path`);
  n.note('(the service VIP answers only through the mesh here: nothing like kube-proxy runs on this bridge)');
}

/** The control plane's first 'mesh translated' log line after line `from`. */
function translationAfter(mesh: CpInpodMesh, from: number): LogLine | undefined {
  return mesh.cp!.lines.slice(from).find((l) => l.msg === 'mesh translated');
}

/** Agent and server pids: a live change must not restart any of them. */
const processIds = (mesh: CpInpodMesh): string => [mesh.agent('node1').pid, mesh.agent('node2').pid, ...mesh.servers.map((s) => s.pid)].join();

export async function enroll(n: Narrator, mesh: CpInpodMesh): Promise<void> {
  const pids = processIds(mesh);
  const before = mesh.manifests.read('namespace.yaml');
  const t = Date.now();
  const logFrom = mesh.cp!.lines.length;
  mesh.manifests.write('namespace.yaml', namespaceYaml(true));
  const views = await mesh.waitEnrollment(ENROLLED);
  const took = Date.now() - t;
  const tr = translationAfter(mesh, logFrom);
  const right = [
    ...(await curlOnWire(mesh, 'after-the-label')),
    ...(await curlShown(mesh, 'c1', `http://${mesh.pods.vip}/via-the-service-vip`)).lines,
  ];
  n.columns('edit manifests/namespace.yaml', lineDiff(before, mesh.manifests.read('namespace.yaml')), 'client c1', right);
  n.say(`control plane: manifests applied → mesh translated (changed ${JSON.stringify(tr?.changed)}, ${String(tr?.workloads)} workloads) → pushed over xDS`);
  n.say(`${took} ms after the edit: node1 in-pod proxies ${views.node1.captured.join(', ')}; node2 ${views.node2.captured.join(', ')}; all four HBONE`);
  const same = processIds(mesh) === pids;
  n.say(`no restarts: ${same ? 'same agent and server processes as before' : 'PROCESSES CHANGED'}; redirect rules now in c1 (istio-cni's chains):`);
  for (const l of await rulesIn(mesh, 'c1')) n.say(`    ${l}`);

  const out = accessLines(mesh.agent('node1')).find((l) => l.direction === 'outbound' && l['dst.hbone_addr'] === `${mesh.pods.s1.ip}:8080`);
  const inb = accessLines(mesh.agent('node2')).find((l) => l.direction === 'inbound' && l['src.workload'] === 'c1');
  n.say('identities each side verified in the mTLS handshake:');
  n.say(`  node1 (client side) connected to ${String(out?.['dst.addr'])} and verified the server as ${String(out?.['dst.identity'] ?? '?')}`);
  n.say(`  node2 (server side) accepted ${String(inb?.['src.addr'])} and verified the client as  ${String(inb?.['src.identity'] ?? '?')}`);
  n.say('access log (JSON lines on the agents\' stdout; condensed):');
  for (const node of NODES) for (const l of accessLines(mesh.agent(node)).slice(0, 2)) n.say(`  ${formatAccess(node, l)}`);
}

export async function iperf(n: Narrator, mesh: CpInpodMesh): Promise<void> {
  const { topo } = mesh;
  const server = topo.spawn('s1', ['iperf3', '-s', '-1', '--forceflush'], { stdio: ['ignore', 'pipe', 'ignore'] });
  const serverExit = once(server, 'exit');
  await new Promise<void>((resolve) => server.stdout!.on('data', (b: Buffer) => b.toString().includes('listening') && resolve()));
  const client = topo.spawn('c1', ['iperf3', '-c', mesh.pods.s1.ip, '-t', String(IPERF_SECONDS), '-i', '1', '--forceflush'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let partial = '';
  client.stdout!.on('data', (b: Buffer) => {
    const parts = (partial + b.toString()).split('\n');
    partial = parts.pop()!;
    for (const l of parts) if (/sec/.test(l)) n.say(`  ${l.trim()}`);
  });
  const [code] = (await once(client, 'exit')) as [number | null];
  await serverExit;
  if (code !== 0) throw new Error(`iperf3 exited with ${code}`);
}

export async function policy(n: Narrator, mesh: CpInpodMesh): Promise<void> {
  const yaml = denyFromYaml('client');
  mesh.manifests.write('deny-client.yaml', yaml);
  await mesh.waitPolicies('node2', 1);
  const url = `http://${mesh.pods.s1.ip}:8080/`;
  const denied = await curlShown(mesh, 'c1', `${url}denied`);
  const other = await curlShown(mesh, 'c2', `${url}from-c2`);
  if (denied.code === 0 || other.code !== 0) throw new Error(`policy not enforced as expected: c1 ${denied.code}, c2 ${other.code}`);
  n.columns('add manifests/deny-client.yaml', yaml.trimEnd().split('\n').map((l) => `+ ${l}`), 'clients c1 (sa client) and c2 (sa other)', [
    'c1:', ...denied.lines, '', 'c2:', ...other.lines,
  ]);
  const refusal = accessLines(mesh.agent('node2')).find((l) => l.direction === 'inbound' && l['src.identity'] === spiffeOf('client') && l.error !== undefined);
  n.say(`node2 refused c1's HBONE CONNECT: ${refusal ? `error="${String(refusal.error)}"` : '(no log line yet)'}; the app never saw it`);

  mesh.manifests.remove('deny-client.yaml');
  await mesh.waitPolicies('node2', 0);
  const again = await curlShown(mesh, 'c1', `${url}allowed-again`);
  if (again.code !== 0) throw new Error(`c1 still refused after the policy was removed: ${again.lines.join(' ')}`);
  n.columns('delete manifests/deny-client.yaml', ['- (the whole file)'], 'client c1', again.lines);
}

export async function unenroll(n: Narrator, mesh: CpInpodMesh): Promise<void> {
  const pids = processIds(mesh);
  const before = mesh.manifests.read('namespace.yaml');
  const t = Date.now();
  mesh.manifests.write('namespace.yaml', namespaceYaml(false));
  await mesh.waitEnrollment(RELEASED);
  const took = Date.now() - t;
  const lines = accessLines(mesh.agent('node1')).length;
  const right = await curlOnWire(mesh, 'after-the-label-is-gone');
  n.columns('edit manifests/namespace.yaml', lineDiff(before, mesh.manifests.read('namespace.yaml')), 'client c1', right);
  const rules = (await Promise.all(POD_NAMES.map((p) => rulesIn(mesh, p)))).flat().length;
  const quiet = accessLines(mesh.agent('node1')).length === lines;
  n.say(`${took} ms after the edit: no in-pod proxy on either node, ${rules} redirect rules left in the pods, all four workloads TCP`);
  n.say(`the request went straight to s1:8080 in plaintext${quiet ? ', with no access log line' : ''}; the server still saw c1's own IP`);
  n.say(`no restarts: ${processIds(mesh) === pids ? 'same agent and server processes' : 'PROCESSES CHANGED'}; the control plane and agents keep running for the next edit`);
}

export async function agentMetrics(mesh: CpInpodMesh): Promise<string[]> {
  return Promise.all(NODES.map((node) => mesh.agent(node).metrics()));
}

export async function movedMetrics(n: Narrator, mesh: CpInpodMesh, before: string[]): Promise<void> {
  n.say('Istio metrics that moved since the label (http://<agent>:15020/metrics, summed over the labels not shown):');
  const keep = ['reporter', 'source_workload', 'destination_workload', 'connection_security_policy', 'response_flags'];
  for (const [i, node] of NODES.entries()) {
    const sums = new Map<string, number>();
    for (const m of movedSeries(before[i]!, await mesh.agent(node).metrics(), ['istio_tcp_connections_closed', 'istio_tcp_received_bytes'])) {
      const key = `${m.name}{${pickLabels(m.labels, keep)}}`;
      sums.set(key, (sums.get(key) ?? 0) + m.delta);
    }
    for (const [key, delta] of sums) n.say(`  ${node} ${key} +${delta}`);
  }
}

function accessLines(a: AgentProcess): LogLine[] {
  return a.lines.filter((l) => l.msg === 'connection complete');
}

function formatAccess(node: NodeName, l: LogLine): string {
  const f = (k: string): string => String(l[k] ?? '-');
  const dst = f('dst.workload') !== '-' ? f('dst.workload') : f('dst.service');
  const addr = f('dst.hbone_addr') !== '-' ? f('dst.hbone_addr') : f('dst.addr');
  return `${node} ${f('direction').padEnd(8)} ${f('src.workload')}(${f('src.addr')}) → ${dst} ${addr}  sent=${f('bytes_sent')} recv=${f('bytes_recv')} ${f('duration')}`;
}
