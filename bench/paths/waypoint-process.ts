// `ambit waypoint` as its own OS process inside the waypoint pod's netns (so its CPU and memory can
// be read from /proc, and it pays the same pod hops as nginx): start, wait for readiness, read metrics, stop.

import { MeshError } from '../../src/common/errors.js';
import { AGENT_NODE_FLAGS } from '../../src/bin/node-flags.js';
import { AMBIT_CLI, waitAgentReady } from '../../test/helpers/agent-readiness.js';
import { metricSum } from '../../test/helpers/prometheus-text.js';
import { spawnTool, tail, type ToolProcess } from '../lib/index.js';
import { AGENT_LOG_LEVEL } from './agent-process.js';
import type { BenchEnv } from './bench-env.js';
import { WAYPOINT_NAME, WAYPOINT_NAMESPACE, WAYPOINT_NODE } from './waypoint-mesh.js';

/** The waypoint's stats port (its default, ztunnel's). */
const STATS_PORT = 15020;

export interface WaypointSpec {
  /** The pod it runs in (its netns). */
  readonly pod: string;
  /** The pod's IP: HBONE, stats and readiness listen there (admin stays on the pod's loopback). */
  readonly ip: string;
  /** The manifests folder (manifests mode: translated in-process, no control plane). */
  readonly manifestsDir: string;
  /** Shared by the agents of a run: the built-in CA root lives there, so all trust one another. */
  readonly stateDir: string;
  /** Readiness must come within this long (ms). */
  readonly readyTimeoutMs?: number;
}

/** The waypoint's command line: node with the agents' flags, the CLI and `waypoint` with the bench's settings. */
export function waypointCommand(spec: WaypointSpec): string[] {
  // Flags, not environment variables: they override whatever AMBIT_* the caller's shell has.
  return [
    process.execPath,
    ...AGENT_NODE_FLAGS,
    AMBIT_CLI,
    'waypoint',
    '--namespace', WAYPOINT_NAMESPACE,
    '--name', WAYPOINT_NAME,
    '--manifests', spec.manifestsDir,
    '--pod-name', spec.pod,
    '--instance-ip', spec.ip,
    '--node-name', WAYPOINT_NODE,
    '--bind-address', spec.ip,
    '--admin-bind-address', '127.0.0.1',
    '--ca-provider', 'builtin',
    '--state-dir', spec.stateDir,
    // warn: no access-log line per request (those are info on the `access` target), as the agents.
    '--log-level', AGENT_LOG_LEVEL,
    '--connection-termination-deadline', '1s',
  ];
}

export class WaypointProcess {
  private constructor(
    readonly spec: WaypointSpec,
    private readonly proc: ToolProcess,
  ) {}

  get pid(): number {
    return this.proc.pid;
  }

  /**
   * Starts the waypoint in its pod's netns under the raised RLIMIT_NOFILE, and resolves once
   * /healthz/ready answers 200: its certificate issued, a WaypointConfig applied, HBONE listening.
   */
  static async start(env: BenchEnv, spec: WaypointSpec): Promise<WaypointProcess> {
    const proc = env.processes.track('waypoint', spawnTool(env.inPod(spec.pod), waypointCommand(spec)));
    const wp = new WaypointProcess(spec, proc);
    try {
      let exited = false;
      void proc.exited.then(() => (exited = true));
      await waitAgentReady(
        { name: 'waypoint', host: spec.ip, timeoutMs: spec.readyTimeoutMs ?? 30_000, exited: () => exited, describe: () => tail(proc.output()) },
        (m) => new MeshError('BENCH_TOOL', m),
      );
    } catch (e) {
      await proc.stop();
      throw e;
    }
    return wp;
  }

  /** Sum of a Prometheus counter over the label sets matching `labels`, from the stats endpoint. */
  async counter(name: string, labels: Record<string, string> = {}): Promise<number> {
    const res = await fetch(`http://${this.spec.ip}:${STATS_PORT}/metrics`, { signal: AbortSignal.timeout(5000) });
    return metricSum(await res.text(), name, labels);
  }

  /** What the waypoint printed (warnings and errors only at log level warn). */
  output(): string {
    return this.proc.output();
  }

  /** SIGTERM (graceful drain up to the 1 s deadline), SIGKILL after graceMs. */
  stop(graceMs = 3000): Promise<void> {
    return this.proc.stop(graceMs);
  }
}
