// `npm run demo`: the in-pod mesh of the netns tests, narrated. Builds pods on a bridge, starts two
// agents with the built-in CA, sends curl and iperf3 through the mesh and shows identities, logs, metrics.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { spawnSync } from 'node:child_process';
import { createTopology, type Topology } from '../helpers/netns-topology.js';
import { inpodMeshYaml, type InpodMesh } from '../helpers/inpod-mesh-config.js';
import { writeConfig } from '../helpers/agent.js';
import { startPodServer } from '../helpers/pod-server-process.js';
import { randomLoopbackPrefix } from '../helpers/tcp.js';
import { loadNativeSockets } from '../../src/sockets/index.js';
import { AgentProcess, type LogLine } from './agent-process.js';
import { movedSeries, pickLabels } from './metrics-diff.js';

const TOOLS = ['ip', 'iptables', 'nsenter', 'curl', 'iperf3'];
const STEPS = 8;
const IPERF_SECONDS = Number(process.env.AMBIT_DEMO_IPERF_SECONDS ?? 3);

const bold = (s: string): string => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);
let stepNo = 0;
let t0 = Date.now();
function step(title: string): void {
  stepNo++;
  console.log(`\n${bold(`[${stepNo}/${STEPS}] ${title}`)}  (+${((Date.now() - t0) / 1000).toFixed(1)}s)`);
}
const say = (s = ''): void => console.log(s ? `      ${s}` : '');

/** Every reason the demo cannot run here, each with what to do about it. */
function prerequisites(): string[] {
  const missing: string[] = [];
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    missing.push(
      'root: the demo creates network namespaces (one per pod), veth pairs, a bridge and iptables rules inside the pods, ' +
        'which needs CAP_NET_ADMIN and CAP_SYS_ADMIN. Run it as root: `sudo npm run demo`. ' +
        'Without root, `npm start` runs one agent on the embedded example (SOCKS5 on 127.0.0.1:15080).',
    );
  }
  for (const tool of TOOLS) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) {
      missing.push(`${tool}: not installed (Debian: apt-get install iproute2 iptables util-linux curl iperf3)`);
    }
  }
  const native = loadNativeSockets();
  if (!native.ok) missing.push(`native socket addon: ${native.reason}`);
  return missing;
}

interface Demo {
  topo?: Topology;
  agents: AgentProcess[];
  dir: string;
}

async function cleanup(d: Demo): Promise<void> {
  await Promise.allSettled(d.agents.map((a) => a.stop()));
  await d.topo?.destroy();
  rmSync(d.dir, { recursive: true, force: true });
}

function accessLines(a: AgentProcess): LogLine[] {
  return a.lines.filter((l) => l.msg === 'connection complete');
}

function formatAccess(node: string, l: LogLine): string {
  const f = (k: string): string => String(l[k] ?? '-');
  return `${node} ${f('direction').padEnd(8)} ${f('src.workload')}(${f('src.addr')}) → ${f('dst.workload') !== '-' ? f('dst.workload') : f('dst.service')} ` +
    `${f('dst.hbone_addr') !== '-' ? f('dst.hbone_addr') : f('dst.addr')}  sent=${f('bytes_sent')} recv=${f('bytes_recv')} ${f('duration')}`;
}

async function run(d: Demo): Promise<void> {
  step('Building the topology: one bridge, five pod network namespaces');
  const topo = await createTopology({ pods: [{ name: 'c1' }, { name: 'c2' }, { name: 's1' }, { name: 's2' }, { name: 'ext' }] });
  d.topo = topo;
  const pod = (n: string) => topo.pods.get(n)!;
  const mesh: InpodMesh = { c1: pod('c1'), c2: pod('c2'), s1: pod('s1'), s2: pod('s2'), ext: pod('ext'), vip: topo.vip(10) };
  say(`bridge ${topo.bridge} (${topo.gatewayIp}), pods in ${topo.podCidr}:`);
  const role: Record<string, string> = { c1: 'node1, sa client', c2: 'node1, sa other', s1: 'node2, sa server', s2: 'node2, sa server', ext: 'outside the mesh' };
  for (const p of topo.pods.values()) say(`  ${p.name.padEnd(4)} ${p.ip.padEnd(12)} netns ${p.netnsName.padEnd(22)} ${role[p.name]}`);
  say(`service echo.default.svc.cluster.local: VIP ${mesh.vip}:80 → s1, s2 port 8080`);

  step('Starting two agents ("nodes") with the built-in CA; each captures its pods in their netns');
  const configPath = writeConfig(d.dir, inpodMeshYaml(mesh));
  const lo = randomLoopbackPrefix();
  const stateDir = join(d.dir, 'state');
  for (const [i, node] of ['node1', 'node2'].entries()) {
    const agent = new AgentProcess({ nodeName: node, bind: `${lo}.${i + 1}`, configPath, stateDir });
    d.agents.push(agent);
    // One after the other: the first creates the built-in CA root in the shared state dir.
    await agent.start();
    const dump = await agent.configDump();
    const pods = (dump.workloadState as Array<{ uid: string; state: string }> | undefined) ?? [];
    say(`${node}: pid ${agent.pid}, ready; in-pod proxies: ${pods.map((p) => `${p.uid.split('/').pop()} (${p.state})`).join(', ')}`);
  }
  const [node1, node2] = d.agents as [AgentProcess, AgentProcess];
  const rules = await topo.exec('c1', ['iptables-save', '-t', 'nat']);
  say('redirect rules in pod c1 (istio-cni chains):');
  for (const l of rules.stdout.split('\n').filter((x) => x.startsWith('-A ISTIO_'))) say(`  ${l}`);

  step('Starting servers in s1 and s2 (HTTP on 8080 answering with the client address they see)');
  for (const name of ['s1', 's2']) await startPodServer(topo, name);
  say('s1 and s2 serving');
  const metricsBefore = [await node1.metrics(), await node2.metrics()];

  step('curl from pod c1 (node1) to s1 by pod IP and to the service VIP, with no proxy settings');
  for (const url of [`http://${mesh.s1.ip}:8080/by-pod-ip`, `http://${mesh.vip}/by-service-vip`]) {
    const r = await topo.exec('c1', ['curl', '-sS', '--max-time', '5', url], { timeoutMs: 10_000 });
    if (r.code !== 0) throw new Error(`curl ${url} failed: ${r.stderr.trim()}`);
    say(`$ curl ${url}`);
    say(`  ${r.stdout.trim()}`);
  }
  say(`the server saw client=${mesh.c1.ip}: the pod's own IP, carried through HBONE to the app`);

  step(`iperf3 from c1 to s1 for ${IPERF_SECONDS}s through the mesh (mTLS HBONE between the nodes)`);
  const server = topo.spawn('s1', ['iperf3', '-s', '-1', '--forceflush'], { stdio: ['ignore', 'pipe', 'ignore'] });
  const serverExit = once(server, 'exit');
  await new Promise<void>((resolve) => server.stdout!.on('data', (b: Buffer) => b.toString().includes('listening') && resolve()));
  const client = topo.spawn('c1', ['iperf3', '-c', mesh.s1.ip, '-t', String(IPERF_SECONDS), '-i', '1', '--forceflush'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let partial = '';
  client.stdout!.on('data', (b: Buffer) => {
    const parts = (partial + b.toString()).split('\n');
    partial = parts.pop()!;
    for (const l of parts) if (/sec/.test(l)) say(`  ${l.trim()}`);
  });
  const [code] = (await once(client, 'exit')) as [number | null];
  await serverExit;
  if (code !== 0) throw new Error(`iperf3 exited with ${code}`);

  step('Identities: what each side verified in the mTLS handshake');
  const out = accessLines(node1).find((l) => l.direction === 'outbound' && l['dst.hbone_addr'] === `${mesh.s1.ip}:8080`);
  const inb = accessLines(node2).find((l) => l.direction === 'inbound' && l['src.workload'] === 'c1');
  say(`node1 (client side) connected to ${String(out?.['dst.hbone_addr'])} and verified the server as ${String(out?.['dst.identity'] ?? '?')}`);
  say(`node2 (server side) accepted ${String(inb?.['src.addr'])} and verified the client as  ${String(inb?.['src.identity'] ?? '?')}`);

  step('Access log lines (JSON in the agents\' stdout; shown condensed)');
  for (const l of accessLines(node1).slice(0, 3)) say(formatAccess('node1', l));
  for (const l of accessLines(node2).slice(0, 3)) say(formatAccess('node2', l));

  step('Metrics that moved (http://<agent>:15020/metrics, Istio names and labels)');
  const keep = ['reporter', 'source_workload', 'destination_workload', 'destination_service'];
  for (const [i, agent] of [node1, node2].entries()) {
    const moved = movedSeries(metricsBefore[i]!, await agent.metrics(), ['istio_tcp_']);
    for (const m of moved) say(`${agent.spec.nodeName} ${m.name}{${pickLabels(m.labels, keep)}} +${m.delta}`);
  }
}

async function main(): Promise<number> {
  const missing = prerequisites();
  if (missing.length > 0) {
    console.error('npm run demo cannot run on this machine yet:');
    for (const m of missing) console.error(`  - ${m}`);
    return 1;
  }
  t0 = Date.now();
  const d: Demo = { agents: [], dir: mkdtempSync(join(tmpdir(), 'ambit-demo-')) };
  // Ctrl-C: stop the agents gracefully and remove the topology before exiting.
  let interrupted = false;
  const onSignal = (sig: NodeJS.Signals): void => {
    if (interrupted) return;
    interrupted = true;
    console.error(`\n${sig}: cleaning up`);
    void cleanup(d).finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('exit', () => d.agents.forEach((a) => a.kill()));
  try {
    await run(d);
    console.log(`\n${bold('Demo complete')}: cleaning up (agents drained, namespaces, veths, bridge and rules removed)`);
    return 0;
  } catch (err) {
    console.error(`\ndemo failed: ${(err as Error).message}`);
    return 1;
  } finally {
    if (!interrupted) await cleanup(d);
  }
}

process.exitCode = await main();
