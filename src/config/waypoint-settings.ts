// The table of every `ambit waypoint` setting: Istio's waypoint pod variables where Istio sets one
// (POD_NAMESPACE, SERVICE_ACCOUNT, ISTIO_META_*, TRUST_DOMAIN, CA_ADDR); the agent's rows where shared.
//
// Istio's waypoint Deployment (istio-discovery files/waypoint.yaml) sets POD_NAME, POD_NAMESPACE,
// INSTANCE_IP, SERVICE_ACCOUNT, ISTIO_META_SERVICE_ACCOUNT, ISTIO_META_NODE_NAME,
// ISTIO_META_CLUSTER_ID, ISTIO_META_WORKLOAD_NAME (the Deployment, named after the Gateway unless
// gateway.istio.io/name-override), TRUST_DOMAIN and CA_ADDR; the Gateway name itself is only a pod
// label, so WAYPOINT_NAME wins over ISTIO_META_WORKLOAD_NAME.

import { CONTROL_DEFAULTS, WAYPOINT_DEFAULTS as W } from './defaults.js';
import { SETTINGS, type SettingKind, type SettingSpec } from './settings.js';

const nonEmpty = { type: 'string', nonEmpty: true } as const;
const port = { type: 'port' } as const;
const ip = { type: 'ip' } as const;

function s(key: string, env: string | readonly string[], flag: string, kind: SettingKind, defaultText: unknown, description: string): SettingSpec {
  return { key, env: typeof env === 'string' ? [env] : env, flag, kind, defaultText: String(defaultText), description };
}

/** The node agent's row for `key`: same variable, flag, kind and parsing; `change` where the waypoint differs. */
function agent(key: string, change?: Partial<Pick<SettingSpec, 'env' | 'defaultText' | 'description'>>): SettingSpec {
  const spec = SETTINGS.find((x) => x.key === key);
  if (spec === undefined) throw new Error(`no node agent setting ${key}`);
  return change === undefined ? spec : { ...spec, ...change };
}

export const WAYPOINT_SETTINGS: readonly SettingSpec[] = [
  s('namespace', ['WAYPOINT_NAMESPACE', 'POD_NAMESPACE'], 'namespace', nonEmpty, '(required)',
    'namespace of the waypoint (its Gateway of class istio-waypoint); Istio sets POD_NAMESPACE in the waypoint pod'),
  s('name', ['WAYPOINT_NAME', 'ISTIO_META_WORKLOAD_NAME'], 'name', nonEmpty, '(required)',
    "name of the waypoint's Gateway; its WaypointConfig resource is NAMESPACE/NAME"),
  s('serviceAccount', ['SERVICE_ACCOUNT', 'ISTIO_META_SERVICE_ACCOUNT'], 'service-account', nonEmpty, '(the waypoint name)',
    'service account of the waypoint: its identity is spiffe://TRUST_DOMAIN/ns/NAMESPACE/sa/SERVICE_ACCOUNT'),
  s('manifests', 'WAYPOINT_MANIFESTS', 'manifests', nonEmpty, '(none)',
    'folder of Kubernetes YAML manifests translated in-process (watched), instead of XDS_ADDRESS; exactly one of the two'),
  agent('xdsAddress', {
    defaultText: '(none)',
    description: 'control plane (delta ADS) address: https://host:port (https:// is added when no scheme is given), or http://host:port for a plaintext one (no bearer token is sent over it); exactly one of this and WAYPOINT_MANIFESTS',
  }),
  agent('xdsRootCa'),
  agent('altXdsHostname'),
  agent('clusterId'),
  agent('clusterDomain'),
  agent('trustDomain', { description: 'SPIFFE trust domain of the mesh (and of this waypoint)' }),
  s('rootNamespace', 'AMBIT_ROOT_NAMESPACE', 'root-namespace', nonEmpty, CONTROL_DEFAULTS.rootNamespace,
    "manifests mode: Istio's root namespace (policies there apply mesh-wide)"),
  agent('caProvider'),
  agent('caStateDir'),
  agent('caPluginCertsDir'),
  agent('caAddress', { env: ['CA_ADDRESS', 'CA_ADDR'] }),
  agent('caRootCa'),
  agent('altCaHostname'),
  agent('authToken'),
  agent('secretTtl'),
  s('podName', 'POD_NAME', 'pod-name', nonEmpty, '""', "this waypoint's pod name (xDS node id and NAME metadata)"),
  s('instanceIp', 'INSTANCE_IP', 'instance-ip', ip, '(1.1.1.1 in the xDS node id)', "this waypoint's pod IP (xDS node id and INSTANCE_IPS metadata)"),
  s('nodeName', ['NODE_NAME', 'ISTIO_META_NODE_NAME'], 'node-name', nonEmpty, '""', 'the node the waypoint pod runs on (NODE_NAME metadata)'),
  s('bindAddress', 'AMBIT_BIND_ADDRESS', 'bind-address', ip, W.bindAddress, 'address of the HBONE, stats and readiness listeners'),
  s('adminBindAddress', 'AMBIT_ADMIN_BIND_ADDRESS', 'admin-bind-address', ip, W.adminBindAddress,
    'address of the admin listener (config dump, /quitquitquit, log levels): keep it a loopback address'),
  s('portHbone', 'AMBIT_PORT_HBONE', 'port-hbone', port, W.portHbone, 'HBONE (mTLS HTTP/2 CONNECT) listener: where node agents send traffic for this waypoint'),
  s('portAdmin', 'AMBIT_PORT_ADMIN', 'port-admin', port, W.portAdmin, 'admin port (/config_dump, /logging, /quitquitquit)'),
  s('portStats', 'AMBIT_PORT_STATS', 'port-stats', port, W.portStats, 'Prometheus metrics port'),
  s('portReadiness', 'AMBIT_PORT_READINESS', 'port-readiness', port, W.portReadiness, 'readiness port (/healthz/ready)'),
  agent('poolMaxStreamsPerConnection'),
  agent('poolUnusedReleaseTimeout'),
  agent('http2StreamWindow'),
  agent('http2ConnectionWindow'),
  agent('http2FrameSize'),
  agent('http2PingInterval'),
  agent('http2PingTimeout'),
  agent('connectTimeout'),
  agent('drainDeadline'),
  agent('logLevel'),
  agent('logFormat'),
  agent('istioVersion'),
];
