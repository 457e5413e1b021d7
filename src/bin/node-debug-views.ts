// The node agent's read-only admin views: /debug/connections (the connection managers' tracked
// connections) and /debug/explain (route and authorization of one connection, on the live state).

import type { DebugViewSpec } from '../admin/index.js';
import type { Config } from '../config/index.js';
import {
  explainConnection,
  hostInterfaceAddresses,
  OwnListeners,
  proxyListeners,
  serverListeners,
  type ConnectionListing,
  type ServerAddresses,
} from '../proxy/index.js';
import type { ProxyState } from '../state/index.js';

export interface NodeDebugInputs {
  readonly state: ProxyState;
  readonly config: Config;
  /** The bound admin / stats / readiness addresses (own listeners explain must refuse). */
  readonly servers: () => ServerAddresses;
  /** The tracked connections: the host event loop's, or every worker thread's. */
  readonly connections: () => Promise<{ connections: readonly ConnectionListing[]; unanswered?: readonly number[] }>;
}

export function nodeDebugViews(inputs: NodeDebugInputs): Record<string, DebugViewSpec> {
  const { state, config } = inputs;
  // What the host proxy refuses as a self call: the proxy ports as configured and the servers.
  const own = new OwnListeners({
    listeners: () => [...proxyListeners(config, config.bindAddress), ...serverListeners(config, inputs.servers())],
    localAddresses: hostInterfaceAddresses,
  });
  return {
    connections: {
      description: 'open connections (inbound, outbound) of the local workloads',
      view: async () => {
        const { connections, unanswered } = await inputs.connections();
        return { connections, ...(unanswered && unanswered.length > 0 ? { workersUnanswered: unanswered } : {}) };
      },
    },
    explain: {
      description: 'route and authorization verdict for ?from=<ns/pod|ip>&to=<host:port>',
      // The data path's own routeOutbound and authorize, on this agent's live state; nothing is dialled.
      view: (q) => explainConnection({ state, config, ownListenerAt: (dst) => own.at(dst) }, { from: q.get('from'), to: q.get('to') }),
    },
  };
}
