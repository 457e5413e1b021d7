// The list of measured paths and their pods. Each path gets its own client/server pod pair so the
// mesh's capture rules never touch the baselines; a waypoint path is one more entry here.

import type { BenchPath } from './bench-path.js';
import { DirectPath } from './direct.js';
import { AmbitL4Path } from './ambit.js';
import { StunnelBenchPath } from './stunnel.js';
import { NodeRelayPath } from './node-relay.js';

export type { BenchPath, PathTarget, ProxyProcess } from './bench-path.js';
export { createBenchEnv, type BenchEnv } from './bench-env.js';

/** The paths in table order: the baseline, the subject, the reference, the Node floor. */
export function benchPaths(): BenchPath[] {
  return [new DirectPath('dc', 'ds'), new AmbitL4Path('mc', 'ms'), new StunnelBenchPath('sc', 'ss'), new NodeRelayPath('rc', 'rs')];
}

/** Every pod the paths use, for createBenchEnv. */
export function podsOf(paths: readonly BenchPath[]): string[] {
  return [...new Set(paths.flatMap((p) => p.pods))];
}
