// Path 2, the subject: Ambit L4. Two node agents as separate processes capture their pods in-pod;
// the client app dials the server pod IP unchanged and the bytes cross the nodes as HBONE (mTLS).

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MeshError } from '../../src/common/errors.js';
import { AgentProcess } from './agent-process.js';
import type { BenchEnv } from './bench-env.js';
import type { ProxyProcess } from './bench-path.js';
import { benchMeshYaml } from './mesh-config.js';
import { PodPairPath, type Entrance } from './pod-pair-path.js';

export class AmbitL4Path extends PodPairPath {
  readonly name = 'ambit';
  readonly description = 'client pod → agent node1 (in-pod capture) → HBONE mTLS → agent node2 → server pod';
  private node1: AgentProcess | null = null;
  private node2: AgentProcess | null = null;

  protected async startProxies(env: BenchEnv): Promise<Entrance | undefined> {
    const configPath = join(env.workDir, 'mesh.yaml');
    writeFileSync(configPath, benchMeshYaml(env.pod(this.clientPod), env.pod(this.serverPod)));
    const common = { configPath, stateDir: env.pki.stateDir };
    // The root already sits in the shared state dir (BenchPki), so the two may start together.
    [this.node1, this.node2] = await Promise.all([
      AgentProcess.start(env, { ...common, nodeName: 'node1', bind: `${env.loopbackPrefix}.1` }),
      AgentProcess.start(env, { ...common, nodeName: 'node2', bind: `${env.loopbackPrefix}.2` }),
    ]);
    return undefined;
  }

  /**
   * A probe that answered without the agents would mean capture is off and we would measure the
   * direct path twice: both agents must have counted the connection.
   */
  protected async verifyProbe(): Promise<void> {
    const opened = 'istio_tcp_connections_opened_total';
    const [out, inb] = await Promise.all([this.node1?.counter(opened) ?? 0, this.node2?.counter(opened) ?? 0]);
    if (!(out > 0 && inb > 0)) {
      throw new MeshError('BENCH_TOOL', `the probe did not go through the mesh (${opened}: node1 ${out}, node2 ${inb})`);
    }
  }

  proxies(): readonly ProxyProcess[] {
    if (this.node1 === null || this.node2 === null) return [];
    return [
      { role: 'client-side', label: 'agent node1', pid: this.node1.pid },
      { role: 'server-side', label: 'agent node2', pid: this.node2.pid },
    ];
  }

  /** Agent output (warnings, errors) for the report when a measurement on this path failed. */
  diagnostics(): string {
    return [this.node1, this.node2].map((a) => (a ? `${a.spec.nodeName}: ${a.output().slice(-2000)}` : '')).join('\n');
  }

  protected async stopProxies(): Promise<void> {
    await Promise.all([this.node1?.stop(), this.node2?.stop()].map((p) => p?.catch(() => undefined)));
    this.node1 = null;
    this.node2 = null;
  }
}
