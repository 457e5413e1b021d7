// The in-pod mesh driven by `ambit control`: pod netns on a bridge, a manifests folder, the control
// plane and two node agents as processes (xDS + CA over TLS with node tokens). Demo and tests share it.

import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { AgentProcess } from './agent-process.js';
import { ControlPlaneProcess } from './control-plane-process.js';
import { MESH_NAMESPACE, POD_NAMES, meshFiles, tokenFileYaml, type MeshPods, type PodName } from './inpod-manifests.js';
import { createTopology, teardownOnExit, type Topology } from './netns-topology.js';
import { startPodServer } from './pod-server-process.js';
import { randomLoopbackPrefix } from './tcp.js';

export const NODES = ['node1', 'node2'] as const;
export type NodeName = (typeof NODES)[number];

/** The manifests folder: atomic writes (a watcher never sees half a file), removal, reads. */
export class ManifestsFolder {
  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true });
  }

  write(file: string, yaml: string): void {
    const path = join(this.dir, file);
    writeFileSync(`${path}.tmp`, yaml);
    renameSync(`${path}.tmp`, path);
  }

  remove(file: string): void {
    unlinkSync(join(this.dir, file));
  }

  read(file: string): string {
    return readFileSync(join(this.dir, file), 'utf8');
  }
}

/** What one agent's /config_dump says about the mesh pods: captured (in-pod proxy running) and protocol. */
export interface EnrollmentView {
  /** Pods with a running in-pod proxy on this node. */
  readonly captured: string[];
  /** Pods with an in-pod proxy in any state (starting, running, retrying, stopping). */
  readonly present: string[];
  /** Every workload this agent knows, by pod name: HBONE or TCP. */
  readonly protocol: Record<string, string>;
}

export async function enrollmentView(agent: AgentProcess): Promise<EnrollmentView> {
  const dump = await agent.configDump();
  const state = (dump.workloadState as Array<{ uid: string; state: string }> | undefined) ?? [];
  const workloads = (dump.workloads as Array<{ name: string; protocol: string }> | undefined) ?? [];
  return {
    captured: state.filter((p) => p.state === 'running').map((p) => p.uid.split('/').pop()!).sort(),
    present: state.map((p) => p.uid.split('/').pop()!).sort(),
    protocol: Object.fromEntries(workloads.map((w) => [w.name, w.protocol])),
  };
}

export interface CpInpodMeshOptions {
  /** The namespace carries istio.io/dataplane-mode=ambient from the start. */
  readonly ambient: boolean;
  /** Pods labelled istio.io/dataplane-mode=none. */
  readonly optOut?: readonly PodName[];
  /** More pods in the topology (their manifests are the caller's), e.g. a waypoint pod. */
  readonly extraPods?: readonly string[];
  /**
   * Where `ambit control` listens: a loopback address of the root netns (default), or the bridge's
   * address, which pod netns reach too (a waypoint pod fetches its xDS and certificate there).
   */
  readonly controlOn?: 'loopback' | 'bridge';
  /** More bearer tokens of the control plane's token file: token → `namespace/serviceAccount`. */
  readonly extraTokens?: Readonly<Record<string, string>>;
}

/**
 * Built step by step (the demo narrates between steps): create() makes the topology and writes the
 * manifests, then startControlPlane(), startAgents(), startServers(). close() undoes whatever was
 * done, also after a failed step; a process exit or Ctrl-C kills the processes and the topology.
 */
export class CpInpodMesh {
  cp: ControlPlaneProcess | undefined;
  readonly agents = new Map<NodeName, AgentProcess>();
  readonly servers: ChildProcess[] = [];
  readonly manifests: ManifestsFolder;
  /** Loopback prefix of this run: agents on .1 and .2, the control plane on .3 (unless on the bridge). */
  readonly lo = randomLoopbackPrefix();
  private readonly tokens = Object.fromEntries(NODES.map((n) => [n, randomBytes(16).toString('hex')])) as Record<NodeName, string>;
  private readonly forget: () => void;

  private constructor(
    readonly topo: Topology,
    readonly pods: MeshPods,
    readonly dir: string,
    private readonly opts: CpInpodMeshOptions = { ambient: false },
  ) {
    this.manifests = new ManifestsFolder(join(dir, 'manifests'));
    // The topology sweeps itself on exit; the processes are ours to kill.
    this.forget = teardownOnExit(`cp-mesh-${topo.id}`, () => this.killSync());
  }

  static async create(opts: CpInpodMeshOptions): Promise<CpInpodMesh> {
    const topo = await createTopology({ pods: [...POD_NAMES, ...(opts.extraPods ?? [])].map((name) => ({ name })) });
    const pod = (n: PodName) => topo.pods.get(n)!;
    const pods: MeshPods = { c1: pod('c1'), c2: pod('c2'), s1: pod('s1'), s2: pod('s2'), vip: topo.vip(10) };
    const mesh = new CpInpodMesh(topo, pods, mkdtempSync(join(tmpdir(), 'ambit-cp-mesh-')), opts);
    for (const [file, yaml] of Object.entries(meshFiles(pods, opts))) mesh.manifests.write(file, yaml);
    return mesh;
  }

  /** Everything at once: control plane, agents, the pod servers in s1 and s2. */
  static async start(opts: CpInpodMeshOptions): Promise<CpInpodMesh> {
    const mesh = await CpInpodMesh.create(opts);
    try {
      await mesh.startControlPlane();
      await mesh.startAgents();
      await mesh.startServers();
    } catch (err) {
      await mesh.close();
      throw err;
    }
    return mesh;
  }

  /** The control plane's own state dir: its mesh root lives here (agents read root-cert.pem only). */
  get controlStateDir(): string {
    return join(this.dir, 'control-state');
  }

  get rootCertPath(): string {
    return join(this.controlStateDir, 'root-cert.pem');
  }

  /**
   * Token file (node → token) and the control plane, ready; its root CA now exists. Called again
   * after `cp.stop()` it restarts the control plane (same addresses and root), e.g. with other flags.
   */
  async startControlPlane(opts: { extraFlags?: readonly string[] } = {}): Promise<ControlPlaneProcess> {
    const tokenFile = join(this.dir, 'ca-tokens.yaml');
    const extra = Object.entries(this.opts.extraTokens ?? {}).map(([token, caller]) => `${token}: ${caller}\n`).join('');
    writeFileSync(tokenFile, tokenFileYaml(this.tokens) + extra, { mode: 0o600 });
    const bind = this.opts.controlOn === 'bridge' ? this.topo.gatewayIp : `${this.lo}.3`;
    this.cp = new ControlPlaneProcess({ manifests: this.manifests.dir, bind, stateDir: this.controlStateDir, tokenFile, ...opts });
    await this.cp.start();
    return this.cp;
  }

  /** The environment of one node agent: xDS and certificates from the control plane over TLS. */
  agentEnv(node: NodeName): Record<string, string> {
    const tokenPath = join(this.dir, `${node}.token`);
    writeFileSync(tokenPath, this.tokens[node], { mode: 0o600 });
    const address = this.cp!.tlsAddress;
    return {
      XDS_ADDRESS: address,
      XDS_ROOT_CA: this.rootCertPath,
      AMBIT_CA_PROVIDER: 'istiod',
      CA_ADDRESS: address,
      CA_ROOT_CA: this.rootCertPath,
      AUTH_TOKEN: tokenPath,
    };
  }

  /** Both agents, started side by side (they share nothing but the control plane); `wrapper` as AgentProcessSpec's. */
  async startAgents(opts: { wrapper?: readonly string[] } = {}): Promise<AgentProcess[]> {
    const started = NODES.map((node, i) => {
      const agent = new AgentProcess({ nodeName: node, bind: `${this.lo}.${i + 1}`, stateDir: join(this.dir, `${node}-state`), env: this.agentEnv(node), ...opts });
      this.agents.set(node, agent);
      return agent.start();
    });
    await Promise.all(started);
    return [...this.agents.values()];
  }

  agent(node: NodeName): AgentProcess {
    const a = this.agents.get(node);
    if (!a) throw new Error(`agent ${node} not started`);
    return a;
  }

  /** HTTP 8080 (names the client address it sees) and TCP echo 9000 in s1 and s2. */
  async startServers(): Promise<void> {
    for (const name of ['s1', 's2']) this.servers.push(await startPodServer(this.topo, name));
  }

  /** Polls both agents until `want` holds (pods captured per node, and every listed protocol). */
  async waitEnrollment(want: { captured: Record<NodeName, string[]>; protocol: Record<string, string> }, timeoutMs = 15_000): Promise<Record<NodeName, EnrollmentView>> {
    const deadline = Date.now() + timeoutMs;
    let last: Record<string, EnrollmentView> = {};
    for (;;) {
      last = Object.fromEntries(await Promise.all(NODES.map(async (n) => [n, await enrollmentView(this.agent(n))] as const)));
      const ok = NODES.every((n) => {
        const v = last[n]!;
        const pods = [...want.captured[n]].sort().join();
        // A pod leaving is `stopping` until its rules are gone: only absent counts as released.
        return v.captured.join() === pods && v.present.join() === pods && Object.entries(want.protocol).every(([pod, p]) => v.protocol[pod] === p);
      });
      if (ok) return last as Record<NodeName, EnrollmentView>;
      if (Date.now() > deadline) throw new Error(`agents did not reach ${JSON.stringify(want)} within ${timeoutMs} ms; last: ${JSON.stringify(last)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Waits until `node`'s agent holds exactly `count` authorization policies. */
  async waitPolicies(node: NodeName, count: number, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const dump = await this.agent(node).configDump();
      const n = (dump.policies as unknown[] | undefined)?.length ?? 0;
      if (n === count) return;
      if (Date.now() > deadline) throw new Error(`${node} holds ${n} policies, not ${count}, after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** `curl -sS` from a pod; never rejects (code and stderr tell what happened). */
  async curl(pod: string, url: string, maxTimeS = 5): Promise<{ code: number; body: string; error: string }> {
    const r = await this.topo.exec(pod, ['curl', '-sS', '--max-time', String(maxTimeS), url], { timeoutMs: (maxTimeS + 5) * 1000 });
    return { code: r.code, body: r.stdout, error: r.stderr.trim() };
  }

  /** Gracefully stops the agents and the control plane, then removes the topology and the files. */
  async close(): Promise<void> {
    await Promise.allSettled([...this.agents.values()].map((a) => a.stop()));
    await this.cp?.stop();
    for (const s of this.servers) s.kill('SIGKILL');
    await this.topo.destroy();
    rmSync(this.dir, { recursive: true, force: true });
    this.forget();
  }

  /** Synchronous last resort (process exit): kill the processes; the topology sweeps itself. */
  killSync(): void {
    for (const a of this.agents.values()) a.kill();
    this.cp?.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }

  get namespace(): string {
    return MESH_NAMESPACE;
  }
}
