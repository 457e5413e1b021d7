// An Ambit node agent as its own OS process (`node dist/src/bin/ambit.js node`), so that its CPU
// and memory can be read from /proc: start, wait for readiness, read metrics, stop.

import { MeshError } from '../../src/common/errors.js';
import { AGENT_NODE_FLAGS } from '../../src/bin/node-flags.js';
import { AMBIT_CLI, waitAgentReady } from '../../test/helpers/agent-readiness.js';
import { metricSum } from '../../test/helpers/prometheus-text.js';
import { runHere, spawnTool, tail, withNofile, type ToolProcess } from '../lib/index.js';
import { BENCH_NOFILE, type BenchEnv } from './bench-env.js';

/** Default stats port of the agent (ztunnel's). */
const STATS_PORT = 15020;

/**
 * The agents' log level on every bench path: warnings and errors, so no access-log line per
 * connection (the same for stunnel: BENCH_STUNNEL_LOGGING).
 */
export const AGENT_LOG_LEVEL = 'warn';

export interface AgentSpec {
  readonly nodeName: string;
  /** Loopback address of all the agent's node-level listeners (distinct per agent). */
  readonly bind: string;
  readonly configPath: string;
  /** Shared by the agents of a run: the built-in CA root lives there. */
  readonly stateDir: string;
  /** Readiness must come within this long (ms). */
  readonly readyTimeoutMs?: number;
  /**
   * `--workers N` for the agent; absent: the flag is not passed (the agent's default). Only agents
   * whose `node --help` lists --workers accept it (bench/paths/agent-workers.ts checks first).
   */
  readonly workers?: number;
  /** Extra Node.js options before the script (profiling: `--cpu-prof`, `--perf-basic-prof`). */
  readonly nodeArgs?: readonly string[];
}

/** The agent's command line (node, its flags, the CLI and `node` with the bench's settings). */
export function agentCommand(spec: AgentSpec): string[] {
  // Flags, not environment variables: they override whatever AMBIT_* the caller's shell has.
  return [
    process.execPath,
    ...AGENT_NODE_FLAGS,
    ...(spec.nodeArgs ?? []),
    AMBIT_CLI,
    'node',
    '--node-name', spec.nodeName,
    '--local-xds-path', spec.configPath,
    '--bind-address', spec.bind,
    '--admin-bind-address', spec.bind,
    '--inbound-bind', 'any',
    '--ca-provider', 'builtin',
    '--state-dir', spec.stateDir,
    '--log-level', AGENT_LOG_LEVEL,
    // Teardown should not wait out the default 5 s drain of connections nobody uses any more.
    '--connection-termination-deadline', '1s',
    ...(spec.workers === undefined ? [] : ['--workers', String(spec.workers)]),
  ];
}

export class AgentProcess {
  private constructor(
    readonly spec: AgentSpec,
    private readonly proc: ToolProcess,
  ) {}

  get pid(): number {
    return this.proc.pid;
  }

  /**
   * Starts the agent in the root netns (it enters pod namespaces itself) under a raised
   * RLIMIT_NOFILE, and resolves once /healthz/ready answers 200: that needs the config loaded,
   * every local in-pod proxy running (capture installed) and the local certificates issued.
   */
  static async start(env: BenchEnv, spec: AgentSpec): Promise<AgentProcess> {
    const label = `agent ${spec.nodeName}${spec.workers === undefined ? '' : ` (${spec.workers} workers)`}`;
    const proc = env.processes.track(label, spawnTool(withNofile(BENCH_NOFILE, runHere), agentCommand(spec)));
    const agent = new AgentProcess(spec, proc);
    try {
      await agent.waitReady(spec.readyTimeoutMs ?? 30_000);
    } catch (e) {
      await proc.stop();
      throw e;
    }
    return agent;
  }

  private async waitReady(timeoutMs: number): Promise<void> {
    let exited = false;
    void this.proc.exited.then(() => (exited = true));
    await waitAgentReady(
      { name: this.spec.nodeName, host: this.spec.bind, timeoutMs, exited: () => exited, describe: () => tail(this.proc.output()) },
      (m) => new MeshError('BENCH_TOOL', m),
    );
  }

  /** Sum of a Prometheus counter over its label sets that include `labels` (all of them by default), from the stats endpoint. */
  async counter(name: string, labels: Record<string, string> = {}): Promise<number> {
    const res = await fetch(`http://${this.spec.bind}:${STATS_PORT}/metrics`, { signal: AbortSignal.timeout(5000) });
    return metricSum(await res.text(), name, labels);
  }

  /** What the agent printed (warnings and errors only at log level warn). */
  output(): string {
    return this.proc.output();
  }

  /** SIGTERM (graceful drain up to the 1 s deadline), SIGKILL after graceMs. */
  stop(graceMs = 3000): Promise<void> {
    return this.proc.stop(graceMs);
  }
}
