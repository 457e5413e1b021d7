// A whole node agent in-process whose state comes from a (scripted) xDS control plane, and the
// mesh of test/helpers/mesh-config.ts as model resources the control plane can serve.

import { loadConfig } from '../../src/config/index.js';
import { NodeAgent } from '../../src/bin/node-agent.js';
import { ADDRESS_TYPE_URL, AUTHORIZATION_TYPE_URL, parseLocalConfig } from '../../src/xds/index.js';
import { lineCapture, TEST_HOST, type TestAgent } from './agent.js';
import type { DeltaAdsPeer } from './delta-ads-peer.js';

export interface XdsAgentSpec {
  readonly nodeName: string;
  readonly bind: string;
  readonly stateDir: string;
  readonly xdsAddress: string;
  readonly env?: Record<string, string>;
}

export interface StartedXdsAgent extends TestAgent {
  /** agent.start(): resolves once the first full sync came and everything is up. */
  readonly started: Promise<void>;
  /** `http://<bind>:<port>` of the admin, stats and readiness servers (known once they listen). */
  url(server: 'admin' | 'stats' | 'readiness', path: string): string;
}

/** Builds and starts the agent without waiting for the control plane (await `started` for that). */
export function startXdsAgent(spec: XdsAgentSpec): StartedXdsAgent {
  const logs = lineCapture();
  const config = loadConfig([], {
    NODE_NAME: spec.nodeName,
    XDS_ADDRESS: spec.xdsAddress,
    AMBIT_BIND_ADDRESS: spec.bind,
    AMBIT_ADMIN_BIND_ADDRESS: spec.bind,
    AMBIT_INBOUND_BIND: 'workloads',
    AMBIT_STATE_DIR: spec.stateDir,
    AMBIT_LOG_LEVEL: 'debug',
    CONNECTION_TERMINATION_DEADLINE: '5s',
    ...spec.env,
  }, TEST_HOST);
  const agent = new NodeAgent({ config, logDestination: logs.stream });
  const started = agent.start();
  // A test that never lets the agent sync still closes it; the rejection (if any) is reported there.
  started.catch(() => undefined);
  return {
    agent,
    logs,
    bind: spec.bind,
    started,
    url(server, path) {
      const port = config.ports[server === 'admin' ? 'admin' : server === 'stats' ? 'stats' : 'readiness'];
      return `http://${spec.bind}:${port}${path}`;
    },
  };
}

/**
 * Serves the resources of a local-config YAML document from the peer, replacing its world: open
 * streams get the new resources now, removals reach each client on its next (re)connect.
 */
export function serveYaml(peer: DeltaAdsPeer, yaml: string): void {
  const { snapshot } = parseLocalConfig(yaml, 'test mesh');
  const addresses = peer.world.get(ADDRESS_TYPE_URL) as Map<string, unknown>;
  const policies = peer.world.get(AUTHORIZATION_TYPE_URL) as Map<string, unknown>;
  addresses.clear();
  policies.clear();
  peer.publish(ADDRESS_TYPE_URL, [...snapshot.workloads.map((w) => ({ address: w })), ...snapshot.services.map((s) => ({ address: s }))]);
  peer.publish(AUTHORIZATION_TYPE_URL, snapshot.policies.map((p) => ({ authorization: p })));
}

/** GET a URL, retrying while nothing listens yet (servers start inside agent.start()). */
export async function getWhenUp(url: string, timeoutMs = 10_000): Promise<Response> {
  const start = Date.now();
  for (;;) {
    try {
      return await fetch(url);
    } catch (err) {
      if (Date.now() - start > timeoutMs) throw err;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}
