// An ADS server on a random loopback port with a fresh cache, registry and captured logs, plus
// resource builders (istio.workload.Address, istio.security.Authorization) and client bookkeeping.

import { AdsServer, ResourceCache, allowAnyClient, type AdsServerOptions } from '../../src/controlplane/index.js';
import { createRegistry, type Registry } from '../../src/metrics/index.js';
import { ADDRESS_TYPE, AUTHZ_TYPE, AdsTestClient, encodeMessage, ztunnelNode, type AdsClientOptions, type TestNode, type TestResponse } from './ads-client.js';
import { captureLogs, type LogCapture } from './log-capture.js';

export interface AdsFixture {
  readonly server: AdsServer;
  readonly cache: ResourceCache;
  readonly registry: Registry;
  readonly logs: LogCapture;
  /** `127.0.0.1:<plaintext port>`. */
  readonly address: string;
  /** A client on the plaintext listener (closed by `close()`). */
  client(options?: Partial<AdsClientOptions>): AdsTestClient;
  /** A client that has sent its initial wildcard requests for both ztunnel types and read both answers. */
  syncedClient(node?: TestNode): Promise<{ client: AdsTestClient; address: TestResponse; authz: TestResponse }>;
  close(): Promise<void>;
}

/** Short debounce so tests are quick; tests of debouncing pass their own. */
export const TEST_DEBOUNCE = { quietMs: 20, maxDelayMs: 200 };

export async function startAds(overrides: Partial<AdsServerOptions> = {}): Promise<AdsFixture> {
  const cache = overrides.cache ?? new ResourceCache();
  const registry = overrides.registry ?? createRegistry({ processMetrics: false });
  const logs = captureLogs('debug');
  const server = new AdsServer({
    cache,
    registry,
    logger: logs.logger,
    authenticate: allowAnyClient,
    plaintext: { port: 0 },
    debounce: TEST_DEBOUNCE,
    ...overrides,
  });
  await server.start();
  const address = `127.0.0.1:${server.ports.plaintext ?? 0}`;
  const clients: AdsTestClient[] = [];
  const client = (options: Partial<AdsClientOptions> = {}): AdsTestClient => {
    const c = new AdsTestClient({ address, ...options });
    clients.push(c);
    return c;
  };
  return {
    server,
    cache,
    registry,
    logs,
    address,
    client,
    async syncedClient(node = ztunnelNode()) {
      const c = client();
      // ztunnel's order: Address first, then Authorization, each with the node.
      c.send({ node, typeUrl: ADDRESS_TYPE });
      c.send({ node, typeUrl: AUTHZ_TYPE });
      const address = await c.next(ADDRESS_TYPE);
      const authz = await c.next(AUTHZ_TYPE);
      c.ack(address);
      c.ack(authz);
      return { client: c, address, authz };
    },
    async close() {
      for (const c of clients) c.close();
      await server.close(2_000);
    },
  };
}

/** An encoded istio.workload.Address holding a Workload. */
export function workload(uid: string, extra: Record<string, unknown> = {}): Uint8Array {
  const [, , , namespace = 'default', name = uid] = uid.split('/');
  return encodeMessage('istio.workload.Address', { workload: { uid, name, namespace, serviceAccount: 'default', ...extra } });
}

/** An encoded istio.security.Authorization. */
export function authorization(namespace: string, name: string, extra: Record<string, unknown> = {}): Uint8Array {
  return encodeMessage('istio.security.Authorization', { name, namespace, scope: 1, action: 0, ...extra });
}

/** Workloads keyed by uid, as the cache takes them. */
export function workloads(...uids: string[]): Map<string, Uint8Array> {
  return new Map(uids.map((u) => [u, workload(u)]));
}

/** Sorted resource names of a response. */
export const names = (r: TestResponse): string[] => r.resources.map((x) => x.name).sort();
