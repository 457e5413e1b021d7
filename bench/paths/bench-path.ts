// The seam between the harness and what it measures: a BenchPath is one way for the client pod's
// traffic to reach the server pod (direct, Ambit L4, stunnel, nginx, a waypoint), set up and torn down whole.

import type { RunIn } from '../lib/index.js';
import type { BenchEnv } from './bench-env.js';

/**
 * The role of an HTTP (L7) proxy standing between the two nodes' hops: nginx on the nginx path, the
 * waypoint on a waypoint path. One role, so the two share the report's CPU and RSS rows.
 */
export const L7_PROXY_ROLE = 'l7-proxy';

/** A proxy process of a path whose CPU and memory are reported (e.g. the client node's agent). */
export interface ProxyProcess {
  /**
   * Where it sits on the path; rows of the report are per role, so the same role on two paths is
   * compared (`client-side` vs `client-side`). An L7 proxy (nginx, a waypoint) is L7_PROXY_ROLE.
   */
  readonly role: string;
  /** Human name, e.g. `agent node1`, `stunnel client`. */
  readonly label: string;
  readonly pid: number;
}

/** Where the measurement tools connect, and where they run. */
export interface PathTarget {
  /** Runs a tool as the client application (inside the client pod). */
  readonly client: RunIn;
  /** Runs a tool as the server application (inside the server pod). */
  readonly server: RunIn;
  /** The host the client dials: the server pod IP (direct, mesh) or a local tunnel entrance. */
  readonly host: string;
  /** Port the client dials for HTTP; the bench HTTP server itself listens on APP_HTTP_PORT. */
  readonly httpPort: number;
  /**
   * Port the client dials for iperf3 (the iperf3 server itself listens on APP_IPERF_PORT); null on
   * an HTTP-only path (`BenchPath.tcp` false), which carries no raw TCP.
   */
  readonly tcpPort: number | null;
}

export interface BenchPath {
  /** Stable key used in the JSON, the table columns and the chart legend (`direct`, `ambit`, `stunnel`). */
  readonly name: string;
  /** One line for the report: what carries the bytes. */
  readonly description: string;
  /**
   * What the path's proxies log, as configured, in one line for the report: the level and what it
   * leaves out. Per-connection log lines cost conn/s, so every path states its level explicitly.
   */
  readonly logLevel: string;
  /**
   * How one new client connection crosses the path (handshakes, pooling), in one line: the conn/s
   * row compares different amounts of work per connection, and the report says which.
   */
  readonly connections: string;
  /**
   * Whether the path carries any TCP stream (iperf3). False on an HTTP-only path (an L7 reverse
   * proxy, a waypoint): the throughput suite then records a visible `n/a: HTTP-only path` instead
   * of a figure, and the HTTP suites run as on every other path.
   */
  readonly tcp: boolean;
  /** Names of the pods (network namespaces) this path needs; the env creates them before setup(). */
  readonly pods: readonly string[];
  /**
   * Starts everything the path needs (server apps, proxies) in its pods and checks one request
   * end to end; on failure it cleans up what it started before rethrowing.
   */
  setup(env: BenchEnv): Promise<void>;
  /** Valid after setup(). */
  target(): PathTarget;
  /** The proxy processes to sample (none for direct); valid after setup(). */
  proxies(): readonly ProxyProcess[];
  /** Stops what setup() started. Idempotent; never throws. */
  teardown(): Promise<void>;
}
