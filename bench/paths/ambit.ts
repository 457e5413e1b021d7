// Path 2, the subject: Ambit L4. Two node agents as separate processes capture their pods in-pod;
// the client app dials the server pod IP unchanged and the bytes cross the nodes as HBONE (mTLS).

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MeshError } from '../../src/common/errors.js';
import { AgentProcess } from './agent-process.js';
import type { BenchEnv } from './bench-env.js';
import type { BenchPath, PathTarget, ProxyProcess } from './bench-path.js';
import { benchMeshYaml } from './mesh-config.js';
import { APP_HTTP_PORT, APP_IPERF_PORT, probeHttp, startServerApp, type ServerApp } from './server-app.js';

export class AmbitL4Path implements BenchPath {
  readonly name = 'ambit';
  readonly description = 'client pod → agent node1 (in-pod capture) → HBONE mTLS → agent node2 → server pod';
  private app: ServerApp | null = null;
  private node1: AgentProcess | null = null;
  private node2: AgentProcess | null = null;
  private tgt: PathTarget | null = null;

  constructor(
    readonly clientPod: string,
    readonly serverPod: string,
  ) {}

  get pods(): readonly string[] {
    return [this.clientPod, this.serverPod];
  }

  async setup(env: BenchEnv): Promise<void> {
    try {
      const configPath = join(env.workDir, 'mesh.yaml');
      writeFileSync(configPath, benchMeshYaml(env.pod(this.clientPod), env.pod(this.serverPod)));
      // The app first: inbound capture delivers to it as soon as node2 is ready.
      this.app = await startServerApp(env, this.serverPod);
      const common = { configPath, stateDir: env.pki.stateDir };
      // The root already sits in the shared state dir (BenchPki), so the two may start together.
      [this.node1, this.node2] = await Promise.all([
        AgentProcess.start(env, { ...common, nodeName: 'node1', bind: `${env.loopbackPrefix}.1` }),
        AgentProcess.start(env, { ...common, nodeName: 'node2', bind: `${env.loopbackPrefix}.2` }),
      ]);
      this.tgt = {
        client: env.inPod(this.clientPod),
        server: env.inPod(this.serverPod),
        host: env.pod(this.serverPod).ip,
        httpPort: APP_HTTP_PORT,
        tcpPort: APP_IPERF_PORT,
      };
      await probeHttp(this.tgt.client, this.tgt.host, this.tgt.httpPort);
      // A probe that answered without the agents would mean capture is off and we would measure
      // the direct path twice: both agents must have counted the connection.
      const opened = 'istio_tcp_connections_opened_total';
      const [out, inb] = await Promise.all([this.node1.counter(opened), this.node2.counter(opened)]);
      if (!(out > 0 && inb > 0)) {
        throw new MeshError('BENCH_TOOL', `the probe did not go through the mesh (${opened}: node1 ${out}, node2 ${inb})`);
      }
    } catch (e) {
      await this.teardown();
      throw e;
    }
  }

  target(): PathTarget {
    if (this.tgt === null) throw new MeshError('INTERNAL', 'ambit path: target() before setup()');
    return this.tgt;
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

  async teardown(): Promise<void> {
    await Promise.all([this.node1?.stop(), this.node2?.stop()].map((p) => p?.catch(() => undefined)));
    this.node1 = null;
    this.node2 = null;
    await this.app?.stop().catch(() => undefined);
    this.app = null;
  }
}
