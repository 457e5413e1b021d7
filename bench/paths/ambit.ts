// Path 2, the subject: Ambit L4. Two node agents as separate processes capture their pods in-pod;
// the client app dials the server pod IP unchanged and the bytes cross the nodes as HBONE (mTLS).

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MeshError } from '../../src/common/errors.js';
import { AGENT_LOG_LEVEL, AgentProcess } from './agent-process.js';
import type { BenchEnv } from './bench-env.js';
import type { ProxyProcess } from './bench-path.js';
import { benchMeshYaml } from './mesh-config.js';
import { PodPairPath, type Entrance } from './pod-pair-path.js';

export interface AmbitPathOptions {
  /**
   * `--workers N` for both agents, and the path is named `ambit-wN`; absent: the agents' default,
   * named `ambit`. Several Ambit paths may run side by side (one per worker count).
   */
  readonly workers?: number;
  /**
   * Which pair of loopback addresses the two agents bind (`<prefix>.<2·slot+1>`, `<prefix>.<2·slot+2>`):
   * distinct per Ambit path of a run, since each agent's node-level listeners use fixed ports.
   */
  readonly slot?: number;
  /** Extra Node.js options for both agents (bench/micro/conn-rate.ts profiles with them). */
  readonly nodeArgs?: readonly string[];
}

/** The path's name for a worker count: `ambit` (agent default) or `ambit-w<N>`. */
export function ambitPathName(workers: number | undefined): string {
  return workers === undefined ? 'ambit' : `ambit-w${workers}`;
}

export class AmbitL4Path extends PodPairPath {
  readonly name: string;
  readonly description: string;
  readonly logLevel = `--log-level ${AGENT_LOG_LEVEL} on both agents (warnings and errors, no access-log line per connection)`;
  readonly connections =
    'multiplexed: each new connection is one HTTP/2 CONNECT stream on a pooled HBONE session between the agents ' +
    'that is already TLS-handshaken (mTLS), so no TLS handshake per connection';
  private readonly workers: number | undefined;
  private readonly slot: number;
  private readonly nodeArgs: readonly string[] | undefined;
  private node1: AgentProcess | null = null;
  private node2: AgentProcess | null = null;

  constructor(clientPod: string, serverPod: string, opts: AmbitPathOptions = {}) {
    super(clientPod, serverPod);
    this.workers = opts.workers;
    this.slot = opts.slot ?? 0;
    this.nodeArgs = opts.nodeArgs;
    this.name = ambitPathName(opts.workers);
    const w = opts.workers === undefined ? '' : ` (--workers ${opts.workers})`;
    this.description = `client pod → agent node1 (in-pod capture) → HBONE mTLS → agent node2 → server pod${w}`;
  }

  /** The loopback addresses of agent node1 and node2 under `prefix` (e.g. `127.83.17`), by slot. */
  agentBinds(prefix: string): [string, string] {
    return [`${prefix}.${2 * this.slot + 1}`, `${prefix}.${2 * this.slot + 2}`];
  }

  protected async startProxies(env: BenchEnv): Promise<Entrance | undefined> {
    const configPath = join(env.workDir, `mesh-${this.name}.yaml`);
    writeFileSync(configPath, benchMeshYaml(env.pod(this.clientPod), env.pod(this.serverPod)));
    const common = {
      configPath,
      stateDir: env.pki.stateDir,
      ...(this.workers === undefined ? {} : { workers: this.workers }),
      ...(this.nodeArgs === undefined ? {} : { nodeArgs: this.nodeArgs }),
    };
    const [bind1, bind2] = this.agentBinds(env.loopbackPrefix);
    // The root already sits in the shared state dir (BenchPki), so the two may start together.
    [this.node1, this.node2] = await Promise.all([
      AgentProcess.start(env, { ...common, nodeName: 'node1', bind: bind1 }),
      AgentProcess.start(env, { ...common, nodeName: 'node2', bind: bind2 }),
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

  /**
   * The agents' pids. /proc/<pid>/stat counts all threads of a process, so worker threads are in
   * the CPU and RSS figures; worker processes would not be: an agent that forks them for --workers
   * needs them listed here (or the sampler summing the process tree).
   */
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
