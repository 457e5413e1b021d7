// The data-plane worker count the node agent starts with: the config's choice (`auto` or explicit),
// after the one check only the running process can make — whether the native addon loaded.

import type { Config, WorkersChoice } from '../config/index.js';
import type { NativeSocketsLoad } from '../sockets/index.js';

/** The count in force and why, as logged at start-up and shown in /config_dump `dataPlaneWorkers`. */
export interface WorkerCount extends WorkersChoice {
  readonly count: number;
  /**
   * A fallback to one event loop, and how loud: `auto` only adapts to the node (info); an explicit
   * count the agent cannot honour is the operator's to fix (warn, as before `auto` was the default).
   */
  readonly fallback?: { readonly level: 'info' | 'warn'; readonly why: string };
}

/** Several workers listen with SO_REUSEPORT through the addon: without it the data plane is one loop. */
export function workerCountAtStart(config: Pick<Config, 'workers' | 'workersChoice'>, native: NativeSocketsLoad): WorkerCount {
  const { workers, workersChoice } = config;
  if (workers <= 1 || native.ok) return { ...workersChoice, count: Math.max(1, workers) };
  const why = `worker threads need the native addon (SO_REUSEPORT listeners): ${native.reason}`;
  return {
    setting: workersChoice.setting,
    count: 1,
    reason: `${workersChoice.reason}; but ${why}: one event loop`,
    fallback: { level: workersChoice.setting === 'auto' ? 'info' : 'warn', why },
  };
}
