// The metrics registry every component registers on: created once in bin/, with Node.js process
// metrics and the `istio_build` info gauge that ztunnel exports.

import { Gauge, Registry, collectDefaultMetrics } from 'prom-client';

export interface RegistryOptions {
  /** The `tag` label of istio_build (ztunnel: ISTIO_META_ISTIO_VERSION). */
  readonly tag?: string;
  /** Collect Node.js process metrics (default true). */
  readonly processMetrics?: boolean;
  /** The `component` label of istio_build: `ztunnel` (default) for the node agent, `pilot` for istiod's role. */
  readonly component?: string;
  /**
   * Register istio_build (default true). A worker thread's registry has neither it nor process
   * metrics: its series are summed into the main thread's, which has both once.
   */
  readonly buildInfo?: boolean;
}

/** A fresh registry: process metrics plus `istio_build{component="ztunnel",tag} 1`. */
export function createRegistry(options: RegistryOptions = {}): Registry {
  const registry = new Registry();
  // prom-client's default event-loop sampling (10 ms). Node's delay histogram records the whole
  // sampling interval, so an idle loop reads ~0.010 s, the figure dashboards expect; a coarser
  // resolution would show every idle agent as lagging by that much.
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry });
  if (options.buildInfo === false) return registry;
  const build = new Gauge({
    name: 'istio_build',
    help: 'Istio component build info',
    labelNames: ['component', 'tag'] as const,
    registers: [registry],
  });
  build.set({ component: options.component ?? 'ztunnel', tag: options.tag === undefined || options.tag === '' ? 'unknown' : options.tag }, 1);
  return registry;
}
