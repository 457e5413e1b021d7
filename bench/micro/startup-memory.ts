// Resident memory of the real `ambit` processes once ready, before any traffic: the node agent on
// its built-in local config and on xDS, the waypoint on xDS and on a manifests folder. Not a test.
//
// `node dist/bench/micro/startup-memory.js [runs] [--settle ms] [--only a,b] [--node-flag F]...`
// (defaults 3 runs, 2000 ms). Each run spawns each command as users do (`node --single-threaded-gc
// ambit.js <command>`, plus any --node-flag), on a loopback address of its own, waits for
// /healthz/ready = 200, lets it settle, then reads /proc/<pid>/status (VmRSS; RssAnon = heap,
// malloc and stacks; RssFile = the node binary's and libraries' pages it touched) and the V8 heap
// in use from its own /metrics (prom-client's nodejs_heap_size_used_bytes). The xDS scenarios share
// one `ambit control` on a manifests folder (TLS, bearer tokens, its CA), not measured.
// Prints median (min–max) per scenario, in MB (2^20 bytes).

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AGENT_NODE_FLAGS } from '../../src/bin/node-flags.js';
import { AMBIT_CLI } from '../../test/helpers/agent-readiness.js';
import { stopChild } from '../../test/helpers/agent-process.js';
import { ControlPlaneProcess } from '../../test/helpers/control-plane-process.js';

const SCENARIOS = ['agent-local', 'agent-xds', 'waypoint-xds', 'waypoint-manifests'] as const;
type Scenario = (typeof SCENARIOS)[number];

interface Sample {
  readonly rss: number;
  readonly anon: number;
  readonly file: number;
  readonly heapUsed: number;
}

const MANIFESTS: Record<string, string> = {
  'namespace.yaml': 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: demo\n  labels:\n    istio.io/dataplane-mode: ambient\n',
  'pods.yaml': ['c1', 's1']
    .map(
      (name, i) =>
        `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${name}\n  namespace: demo\n  labels:\n    app: ${name === 's1' ? 'echo' : 'client'}\n` +
        `spec:\n  nodeName: node1\n  serviceAccountName: ${name === 's1' ? 'server' : 'client'}\n  containers:\n  - name: main\n    image: x\n` +
        `status:\n  phase: Running\n  podIP: 10.77.0.${i + 10}\n  podIPs:\n  - ip: 10.77.0.${i + 10}\n  conditions:\n  - type: Ready\n    status: "True"\n`,
    )
    .join('---\n'),
  'echo.yaml':
    'apiVersion: v1\nkind: Service\nmetadata:\n  name: echo\n  namespace: demo\n  labels:\n    istio.io/use-waypoint: waypoint\nspec:\n  selector:\n    app: echo\n' +
    '  clusterIP: 10.77.96.10\n  clusterIPs: ["10.77.96.10"]\n  ports:\n  - name: http\n    port: 80\n    targetPort: 8080\n',
  'waypoint.yaml':
    'apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata:\n  name: waypoint\n  namespace: demo\n  labels:\n    istio.io/waypoint-for: service\n' +
    'spec:\n  gatewayClassName: istio-waypoint\n  listeners:\n  - name: mesh\n    port: 15008\n    protocol: HBONE\n---\n' +
    'apiVersion: v1\nkind: Service\nmetadata:\n  name: waypoint\n  namespace: demo\n  labels:\n    gateway.istio.io/managed: istio.io-mesh-controller\n' +
    '    gateway.networking.k8s.io/gateway-name: waypoint\nspec:\n  selector:\n    gateway.networking.k8s.io/gateway-name: waypoint\n' +
    '  clusterIP: 10.77.96.20\n  clusterIPs: ["10.77.96.20"]\n  ports:\n  - name: mesh\n    port: 15008\n',
  'route.yaml':
    'apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata:\n  name: echo\n  namespace: demo\nspec:\n  parentRefs:\n  - group: ""\n    kind: Service\n' +
    '    name: echo\n    port: 80\n  rules:\n  - matches:\n    - path:\n        type: PathPrefix\n        value: /\n    backendRefs:\n    - name: echo\n      port: 80\n',
};

const NODE_TOKEN = 'node1-token';
const WAYPOINT_TOKEN = 'waypoint-token';

function parseArgs(argv: string[]): { runs: number; settleMs: number; only: Scenario[]; nodeFlags: string[] } {
  let runs = 3;
  let settleMs = 2000;
  let only: Scenario[] = [...SCENARIOS];
  const nodeFlags: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--settle') settleMs = Number(argv[++i]);
    else if (a === '--only') only = argv[++i]!.split(',') as Scenario[];
    else if (a === '--node-flag') nodeFlags.push(argv[++i]!);
    else if (a.startsWith('--node-flag=')) nodeFlags.push(a.slice('--node-flag='.length));
    else runs = Number(a);
  }
  for (const s of only) if (!SCENARIOS.includes(s)) throw new Error(`unknown scenario ${s}; one of ${SCENARIOS.join(', ')}`);
  return { runs, settleMs, only, nodeFlags };
}

function procStatus(pid: number): Omit<Sample, 'heapUsed'> {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string): number => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? NaN) / 1024;
  return { rss: kb('VmRSS'), anon: kb('RssAnon'), file: kb('RssFile') };
}

async function waitReady(child: ChildProcess, url: string, what: string, stderr: () => string): Promise<void> {
  const deadline = Date.now() + 60_000;
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${what} exited during start-up: ${stderr()}`);
    const res = await fetch(url, { signal: AbortSignal.timeout(1000) }).catch((e: Error) => e);
    if (!(res instanceof Error)) {
      last = `${res.status} ${(await res.text()).trim()}`;
      if (res.status === 200) return;
    } else last = res.message;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} not ready in 60 s (last: ${last}): ${stderr()}`);
}

async function heapUsedMb(statsUrl: string): Promise<number> {
  const text = await (await fetch(statsUrl)).text();
  const m = /^nodejs_heap_size_used_bytes(?:\{[^}]*\})? (\S+)/m.exec(text);
  return m ? Number(m[1]) / 1048576 : NaN;
}

interface Rig {
  readonly dir: string;
  readonly cp: ControlPlaneProcess;
  readonly root: string;
  next: number;
  readonly prefix: string;
}

/** One process of `scenario`: spawned, ready, settled, measured, stopped. */
async function measure(rig: Rig, scenario: Scenario, settleMs: number, nodeFlags: readonly string[]): Promise<Sample> {
  const bind = `${rig.prefix}.${rig.next++}`;
  const stateDir = join(rig.dir, `state-${bind}`);
  const xdsEnv = (token: string): Record<string, string> => ({
    XDS_ADDRESS: rig.cp.tlsAddress,
    XDS_ROOT_CA: rig.root,
    AMBIT_CA_PROVIDER: 'istiod',
    CA_ADDRESS: rig.cp.tlsAddress,
    CA_ROOT_CA: rig.root,
    AUTH_TOKEN: token,
  });
  const common = ['--bind-address', bind, '--admin-bind-address', bind, '--log-level', 'warn'];
  let args: string[];
  let env: Record<string, string> = { PATH: process.env.PATH ?? '', AMBIT_STATE_DIR: stateDir };
  switch (scenario) {
    case 'agent-local':
      args = ['node', ...common, '--node-name', 'local'];
      break;
    case 'agent-xds':
      args = ['node', ...common, '--node-name', 'node1'];
      env = { ...env, ...xdsEnv(NODE_TOKEN) };
      break;
    case 'waypoint-xds':
      args = ['waypoint', ...common, '--namespace', 'demo', '--name', 'waypoint', '--pod-name', 'waypoint-1', '--instance-ip', bind];
      env = { ...env, ...xdsEnv(WAYPOINT_TOKEN) };
      break;
    case 'waypoint-manifests':
      args = ['waypoint', ...common, '--namespace', 'demo', '--name', 'waypoint', '--pod-name', 'waypoint-1', '--manifests', join(rig.dir, 'manifests')];
      break;
  }
  const child = spawn(process.execPath, [...AGENT_NODE_FLAGS, ...nodeFlags, AMBIT_CLI, ...args], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
  try {
    await waitReady(child, `http://${bind}:15021/healthz/ready`, `${scenario} (${args.join(' ')})`, () => stderr);
    await new Promise((r) => setTimeout(r, settleMs));
    const status = procStatus(child.pid!);
    return { ...status, heapUsed: await heapUsedMb(`http://${bind}:15020/metrics`) };
  } finally {
    await stopChild(child, 5000);
  }
}

function summary(xs: readonly number[]): string {
  const s = [...xs].sort((a, b) => a - b);
  const med = s[Math.floor(s.length / 2)]!;
  return s.length > 1 ? `${med.toFixed(1)} (${s[0]!.toFixed(1)}–${s[s.length - 1]!.toFixed(1)})` : med.toFixed(1);
}

async function main(): Promise<void> {
  const { runs, settleMs, only, nodeFlags } = parseArgs(process.argv.slice(2));
  const dir = mkdtempSync(join(tmpdir(), 'ambit-startup-memory-'));
  const manifests = join(dir, 'manifests');
  mkdirSync(manifests);
  for (const [f, text] of Object.entries(MANIFESTS)) writeFileSync(join(manifests, f), text);
  const tokenFile = join(dir, 'tokens.yaml');
  writeFileSync(tokenFile, `${NODE_TOKEN}: { serviceAccount: istio-system/ztunnel, node: node1 }\n${WAYPOINT_TOKEN}: demo/waypoint\n`, { mode: 0o600 });
  // A /24 of loopback addresses of its own: the commands listen on their fixed default ports.
  const prefix = `127.${100 + Math.floor(Math.random() * 100)}.${Math.floor(Math.random() * 250)}`;
  const needCp = only.some((s) => s.endsWith('-xds'));
  const cp = new ControlPlaneProcess({ manifests, bind: `${prefix}.1`, stateDir: join(dir, 'cp-state'), tokenFile });
  const rig: Rig = { dir, cp, root: join(dir, 'cp-state', 'root-cert.pem'), next: 2, prefix };
  const samples = new Map<Scenario, Sample[]>(only.map((s) => [s, []]));
  try {
    if (needCp) await cp.start();
    // Scenarios interleaved run by run, so a drift in the machine's load spreads over all of them.
    for (let r = 0; r < runs; r++) {
      for (const s of only) samples.get(s)!.push(await measure(rig, s, settleMs, nodeFlags));
    }
  } finally {
    if (needCp) await cp.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  const flags = [...AGENT_NODE_FLAGS, ...nodeFlags].join(' ');
  process.stdout.write(`node ${process.version} ${flags}; ${runs} runs, read ${settleMs} ms after ready; MB, median (min–max)\n`);
  process.stdout.write(`${'scenario'.padEnd(20)} ${'VmRSS'.padEnd(20)} ${'RssAnon'.padEnd(20)} ${'RssFile'.padEnd(20)} V8 heap used\n`);
  for (const [s, xs] of samples) {
    const col = (k: keyof Sample): string => summary(xs.map((x) => x[k])).padEnd(20);
    process.stdout.write(`${s.padEnd(20)} ${col('rss')} ${col('anon')} ${col('file')} ${summary(xs.map((x) => x.heapUsed))}\n`);
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
