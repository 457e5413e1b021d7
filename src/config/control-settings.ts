// The table of every `ambit control` setting (istiod's role): environment variable(s) — istiod's
// names where it has one — CLI flag, value kind, default and description. --help prints it.

import { CONTROL_DEFAULTS as D } from './defaults.js';
import type { SettingKind, SettingSpec } from './settings.js';

const str = { type: 'string' } as const;
const nonEmpty = { type: 'string', nonEmpty: true } as const;
const port = { type: 'port' } as const;
const ip = { type: 'ip' } as const;
const duration = { type: 'duration', minMs: 1 } as const;

function s(key: string, env: string | readonly string[], flag: string, kind: SettingKind, defaultText: unknown, description: string): SettingSpec {
  return { key, env: typeof env === 'string' ? [env] : env, flag, kind, defaultText: String(defaultText), description };
}

export const CONTROL_SETTINGS: readonly SettingSpec[] = [
  s('manifests', 'AMBIT_MANIFESTS', 'manifests', nonEmpty, '(none)',
    'folder of Kubernetes YAML manifests that is the desired state (watched; like kubectl apply --prune); without it, the cluster from KUBECONFIG or in-cluster credentials'),
  s('kubeconfig', 'KUBECONFIG', 'kubeconfig', nonEmpty, '(~/.kube/config, or in-cluster)', 'kubeconfig of the cluster to watch (cluster mode)'),
  s('clusterId', ['CLUSTER_ID', 'ISTIO_META_CLUSTER_ID'], 'cluster-id', nonEmpty, D.clusterId, 'cluster id: in workload uids, and checked against the clusterid header of CA calls'),
  s('clusterDomain', ['DOMAIN_SUFFIX', 'CLUSTER_DOMAIN'], 'cluster-domain', nonEmpty, D.clusterDomain, 'DNS suffix of service hostnames'),
  s('trustDomain', 'TRUST_DOMAIN', 'trust-domain', nonEmpty, D.trustDomain, 'SPIFFE trust domain of the mesh'),
  s('network', 'NETWORK', 'network', str, '""', 'network of this cluster ("" = default network)'),
  s('rootNamespace', 'AMBIT_ROOT_NAMESPACE', 'root-namespace', nonEmpty, D.rootNamespace, "Istio's root namespace: policies here apply mesh-wide"),
  s('outboundTrafficPolicy', 'AMBIT_OUTBOUND_TRAFFIC_POLICY', 'outbound-traffic-policy', { type: 'enum', values: ['ALLOW_ANY', 'REGISTRY_ONLY'] }, D.outboundTrafficPolicy,
    "Istio's meshConfig.outboundTrafficPolicy.mode: REGISTRY_ONLY makes node agents refuse (flag NR) what is no workload, service VIP or ServiceEntry host"),
  s('bindAddress', 'AMBIT_BIND_ADDRESS', 'bind-address', ip, D.bindAddress, 'address of the gRPC and monitoring listeners'),
  s('portXds', 'AMBIT_PORT_XDS', 'port-xds', port, D.portXds, 'plaintext gRPC: delta xDS and the CA, for local use (0 = any free port)'),
  s('portXdsTls', 'AMBIT_PORT_XDS_TLS', 'port-xds-tls', port, D.portXdsTls, 'TLS gRPC: delta xDS and the CA, with a serving certificate from the mesh CA (0 = any free port)'),
  s('portMonitoring', 'AMBIT_PORT_MONITORING', 'port-monitoring', port, D.portMonitoring, 'HTTP: /metrics, /ready, /debug/adsz, /debug/configz, /debug/resources'),
  s('tlsSans', 'AMBIT_TLS_SANS', 'tls-sans', nonEmpty, D.tlsSans, 'comma-separated DNS names and IPs in the serving certificate of the TLS port'),
  s('caProvider', 'AMBIT_CA_PROVIDER', 'ca-provider', { type: 'enum', values: ['builtin', 'file'] }, D.caProvider,
    'builtin: self-signed root kept in the state dir (the one agents with the same dir use); file: Istio plug-in CA files'),
  s('caStateDir', 'AMBIT_STATE_DIR', 'state-dir', nonEmpty, D.caStateDir, 'where the builtin CA keeps its root'),
  s('caPluginCertsDir', 'AMBIT_CA_CERTS_DIR', 'ca-certs-dir', nonEmpty, D.caPluginCertsDir, 'plug-in CA directory (ca-cert.pem, ca-key.pem, root-cert.pem, cert-chain.pem)'),
  s('defaultCertTtl', 'DEFAULT_WORKLOAD_CERT_TTL', 'default-cert-ttl', duration, '24h', 'lifetime of a workload certificate when the request names none'),
  s('maxCertTtl', 'MAX_WORKLOAD_CERT_TTL', 'max-cert-ttl', duration, '90d', 'cap on a requested workload certificate lifetime'),
  s('trustedNodeAccounts', 'CA_TRUSTED_NODE_ACCOUNTS', 'trusted-node-accounts', str, D.trustedNodeAccounts,
    'namespace/serviceaccount list of node agents allowed to request certificates for the pods of their node (ImpersonatedIdentity)'),
  s('caTokenFile', 'AMBIT_CA_TOKEN_FILE', 'ca-token-file', nonEmpty, '(cluster: TokenReview)',
    'YAML map of bearer token → namespace/serviceaccount for callers without a cluster (manifests mode); watched'),
  s('debounceAfter', 'PILOT_DEBOUNCE_AFTER', 'debounce-after', duration, `${D.debounceAfterMs}ms`, 'quiet period before a change is pushed'),
  s('debounceMax', 'PILOT_DEBOUNCE_MAX', 'debounce-max', duration, `${D.debounceMaxMs / 1000}s`, 'longest a change waits for quiet before it is pushed anyway'),
  s('drainDeadline', 'AMBIT_DRAIN_DEADLINE', 'drain-deadline', duration, `${D.drainDeadlineMs / 1000}s`, 'graceful shutdown deadline'),
  s('logLevel', 'AMBIT_LOG_LEVEL', 'log-level', { type: 'enum', values: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] }, D.logLevel, 'log level'),
  s('logFormat', 'LOG_FORMAT', 'log-format', { type: 'enum', values: ['json', 'plain'] }, D.logFormat, 'json lines, or plain text lines'),
];
