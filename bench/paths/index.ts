// The list of measured paths and their pods. Each path gets its own client/server pod pair (plus a
// proxy pod for an L7 hop) so the mesh's capture rules never touch the baselines.

import type { BenchPath } from './bench-path.js';
import { DirectPath } from './direct.js';
import { AmbitL4Path } from './ambit.js';
import { StunnelBenchPath } from './stunnel.js';
import { NodeRelayPath } from './node-relay.js';
import { NginxL7Path } from './nginx.js';
import { WaypointPath } from './waypoint.js';

export type { BenchPath, PathTarget, ProxyProcess } from './bench-path.js';
export { L7_PROXY_ROLE } from './bench-path.js';
export { createBenchEnv, type BenchEnv } from './bench-env.js';
export { ambitPathName } from './ambit.js';
export { assertAgentAcceptsWorkers } from './agent-workers.js';

export interface PathListOptions {
  /**
   * Worker counts to run Ambit with (`--ambit-workers 1,2`): one path `ambit-w<N>` each, in place
   * of the single `ambit` path; null or absent: `ambit` with the agent's default.
   */
  readonly ambitWorkers?: readonly number[] | null;
}

/**
 * The paths in table order: the baseline, the L4 subject(s), the L4 reference, the Node floor, then
 * the L7 paths: the L7 reference (nginx) and the L7 subject (`waypoint`, HTTP-only, its waypoint
 * process in role L7_PROXY_ROLE); the rps table, its ratios and the L7 target check find it by name.
 */
export function benchPaths(opts: PathListOptions = {}): BenchPath[] {
  const ambit =
    opts.ambitWorkers === undefined || opts.ambitWorkers === null
      ? [new AmbitL4Path('mc', 'ms')]
      : opts.ambitWorkers.map((n, slot) => new AmbitL4Path(`m${n}c`, `m${n}s`, { workers: n, slot }));
  return [
    new DirectPath('dc', 'ds'),
    ...ambit,
    new StunnelBenchPath('sc', 'ss'),
    new NodeRelayPath('rc', 'rs'),
    new NginxL7Path('xc', 'xp', 'xs'),
    new WaypointPath('wc', 'wp', 'ws'),
  ];
}

/** Every pod the paths use, for createBenchEnv. */
export function podsOf(paths: readonly BenchPath[]): string[] {
  return [...new Set(paths.flatMap((p) => p.pods))];
}
