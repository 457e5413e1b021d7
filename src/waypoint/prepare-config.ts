// What a WaypointConfig needs loaded before WaypointProxy.setConfig swaps it in: libraries only some
// configs use are imported then, not at start, and never while a request waits (Envoy's warming, for code).

import type { WaypointConfig } from './model/route-model.js';
import { prepareSecurity } from './security/index.js';

/**
 * undefined when `config` can be applied now; else a promise that settles once what it needs is
 * loaded (jose for jwtRules). A rejection means the config cannot be enforced: refuse it, keep the
 * last good one. Applying an unprepared config is still correct, but its first requests may wait.
 */
export function prepareWaypointConfig(config: WaypointConfig): Promise<void> | undefined {
  return prepareSecurity(config.security);
}
