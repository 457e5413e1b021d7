// An XdsClient wired to a ProxyState, captured logs and counted metrics, configured through the
// real settings (loadConfig) against a scripted delta ADS peer; plus small model objects to push.

import { loadConfig } from '../../src/config/index.js';
import { ProxyState, type Authorization, type Service, type Workload } from '../../src/state/index.js';
import { adsNode, XdsClient, type XdsClientOptions } from '../../src/xds/index.js';
import { captureLogs, type LogCapture } from './log-capture.js';
import { richAuthorization, richService, richWorkload } from './wds-fixtures.js';

export interface ClientFixture {
  readonly client: XdsClient;
  readonly state: ProxyState;
  readonly logs: LogCapture;
  readonly terminations: string[];
  readonly messages: Array<[url: string, bytes: number]>;
}

/** The node identity every fixture client presents (and tests check). */
export const FIXTURE_ENV: Readonly<Record<string, string>> = {
  POD_NAME: 'ztunnel-x',
  POD_NAMESPACE: 'istio-system',
  INSTANCE_IP: '10.0.0.5',
  NODE_NAME: 'node-1',
  ISTIO_META_FOO: 'bar',
  ISTIO_METAJSON_LABELS: '{"a": 1}',
  XDS_HEADER_X_TENANT: 'acme',
};

/** Starts a client for `address` with FIXTURE_ENV plus `env`; `options` overrides client options. */
export function startClient(address: string, env: Record<string, string> = {}, options: Partial<XdsClientOptions> = {}): ClientFixture {
  const config = loadConfig([], { ...FIXTURE_ENV, XDS_ADDRESS: address, ...env });
  const state = new ProxyState();
  const logs = captureLogs();
  const terminations: string[] = [];
  const messages: Array<[string, number]> = [];
  const client = new XdsClient({
    config: config.xds,
    node: adsNode({ pod: config.proxyPod, nodeName: config.nodeName, metadata: config.proxyMetadata }),
    sink: state,
    logger: logs.logger,
    metrics: { termination: (r) => terminations.push(r), message: (url, bytes) => messages.push([url, bytes]) },
    ...options,
  });
  client.start();
  return { client, state, logs, terminations, messages };
}

/** A small HBONE workload named by `uid`. */
export function workload(uid: string, ip: string, overrides: Partial<Workload> = {}): Workload {
  return richWorkload({
    uid,
    name: uid.split('/').at(-1) ?? uid,
    workloadIps: [ip],
    waypoint: undefined,
    networkGateway: undefined,
    applicationTunnel: undefined,
    networkMode: 'Standard',
    status: 'Healthy',
    netns: undefined,
    services: new Map(),
    authorizationPolicies: [],
    ...overrides,
  });
}

export function service(namespace: string, hostname: string, vip: string): Service {
  return richService({ name: hostname.split('.')[0] ?? hostname, namespace, hostname, vips: [{ network: '', ip: vip }], cidrVips: [], waypoint: undefined, weightedWaypoints: [], loadBalancer: undefined });
}

export function policy(namespace: string, name: string): Authorization {
  return richAuthorization({ namespace, name, scope: 'Namespace', action: 'Allow', dryRun: false });
}

/** Polls `cond` every 10 ms; rejects after `timeoutMs` naming `what`. */
export async function eventually(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > timeoutMs) throw new Error(`${what}: not true within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
