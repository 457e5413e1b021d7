// The ZDS test mesh: pod namespaces on a bridge, two in-process agents in zds mode (AMBIT_INPOD_MODE
// =zds), each with its own Python istio-cni (test/helpers/zds_cni.py) that creates the capture: it
// installs istio-cni's redirect rules in a pod's netns and hands the netns fd over by ZDS. Workloads
// come from a local config file without any `netns` (the agents learn pods only from ZDS).

import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { startAgent, tempDir, writeConfig, type TestAgent } from './agent.js';
import { assertNoLeftovers, createTopology, requireRoot, type Topology, type TopologyPod } from './netns-topology.js';
import { randomLoopbackPrefix } from './tcp.js';
import { FakeCni, type PodSpec } from './zds-cni.js';
import { startPodServer } from './pod-server-process.js';
import type { ChildProcess } from 'node:child_process';

/** Which node each pod runs on, and its service account. */
export interface ZdsPodPlan {
  readonly name: string;
  readonly node: 'node1' | 'node2';
  readonly sa: string;
  /** Start the HTTP 8080 / echo 9000 server in it. */
  readonly server?: boolean;
}

export interface ZdsMesh {
  readonly dir: string;
  readonly topo: Topology;
  readonly configPath: string;
  readonly stateDir: string;
  readonly lo: string;
  readonly cni: Record<'node1' | 'node2', FakeCni>;
  readonly agents: Record<'node1' | 'node2', TestAgent>;
  readonly plan: readonly ZdsPodPlan[];
  pod(name: string): TopologyPod;
  /** The ZDS pod spec of `name` (uid = a Kubernetes-style pod UID, distinct from the xDS workload uid). */
  spec(name: string): PodSpec & { netns: string };
  /** Installs istio-cni's rules in the pod's netns and sends AddWorkload with its fd; returns the ack error ('' = ok). */
  capture(name: string): Promise<string>;
  /** Starts (or restarts) `node`'s agent; it connects to its CNI and waits until ready unless told not to. */
  startAgent(node: 'node1' | 'node2', waitReady?: boolean): Promise<TestAgent>;
  curl(pod: string, url: string): Promise<{ code: number; body: string }>;
  destroy(): Promise<void>;
}

/** The pod UID istio-cni sends: the Kubernetes pod's metadata.uid (not the xDS workload uid). */
export function podUid(name: string): string {
  return `0000${name.padStart(4, '0')}-1111-2222-3333-444455556666`;
}

function workloadsYaml(topo: Topology, plan: readonly ZdsPodPlan[]): string {
  const rows = plan.map((p) => {
    const pod = topo.pods.get(p.name)!;
    return `- uid: Kubernetes//Pod/default/${p.name}
  name: ${p.name}
  namespace: default
  serviceAccount: ${p.sa}
  workloadIps: ["${pod.ip}"]
  protocol: HBONE
  node: ${p.node}
  workloadName: ${p.name}
  canonicalName: ${p.name}
  canonicalRevision: v1
`;
  });
  return `workloads:\n${rows.join('')}services: []\npolicies: []\n`;
}

export async function startZdsMesh(plan: readonly ZdsPodPlan[], agentEnv: Record<string, string> = {}): Promise<ZdsMesh> {
  requireRoot('the ZDS netns tests');
  const topo = await createTopology({ pods: plan.map((p) => ({ name: p.name })) });
  const servers: ChildProcess[] = [];
  const dir = tempDir('ambit-zds-');
  const configPath = writeConfig(dir, workloadsYaml(topo, plan));
  const stateDir = join(dir, 'state');
  const lo = randomLoopbackPrefix();
  const cni = {
    node1: await FakeCni.start(join(dir, 'node1.sock')),
    node2: await FakeCni.start(join(dir, 'node2.sock')),
  };
  const agents = {} as Record<'node1' | 'node2', TestAgent>;
  const planOf = (name: string): ZdsPodPlan => {
    const p = plan.find((x) => x.name === name);
    if (!p) throw new Error(`no pod ${name} in the plan`);
    return p;
  };
  const mesh: ZdsMesh = {
    dir,
    topo,
    configPath,
    stateDir,
    lo,
    cni,
    agents,
    plan,
    pod: (name) => topo.pods.get(name)!,
    spec: (name) => {
      const p = planOf(name);
      return { uid: podUid(name), netns: topo.pods.get(name)!.netnsPath, name, namespace: 'default', sa: p.sa };
    },
    async capture(name) {
      const node = planOf(name).node;
      await cni[node].rules(mesh.spec(name).netns);
      const r = await cni[node].add(mesh.spec(name));
      if (r.error !== undefined || r.closed) throw new Error(`CNI add ${name}: ${JSON.stringify(r)}`);
      return String(r.ack ?? '');
    },
    async startAgent(node, waitReady = true) {
      const n = node === 'node1' ? 1 : 2;
      const a = await startAgent({
        nodeName: node,
        bind: `${lo}.${n}`,
        configPath,
        stateDir,
        waitReady,
        env: { AMBIT_INBOUND_BIND: 'any', AMBIT_INPOD_MODE: 'zds', INPOD_UDS: cni[node].path, ...agentEnv },
      });
      agents[node] = a;
      return a;
    },
    async curl(pod, url) {
      const r = await topo.exec(pod, ['curl', '-sS', '--max-time', '5', url], { timeoutMs: 10_000 });
      return { code: r.code, body: r.stdout };
    },
    async destroy() {
      agents.node1?.agent.destroy();
      agents.node2?.agent.destroy();
      cni.node1.stop();
      cni.node2.stop();
      for (const s of servers) s.kill('SIGKILL');
      const id = topo.id;
      await topo.destroy();
      rmSync(dir, { recursive: true, force: true });
      await assertNoLeftovers(id);
    },
  };
  try {
    for (const p of plan) if (p.server) servers.push(await startPodServer(topo, p.name));
    await mesh.startAgent('node1');
    await mesh.startAgent('node2');
  } catch (err) {
    await mesh.destroy();
    throw err;
  }
  return mesh;
}
