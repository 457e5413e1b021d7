// The table of every node-agent setting: its environment variable(s), CLI flag, value kind, default
// (shown from defaults.ts) and description. env.ts reads by it, load.ts parses by it, --help prints it.

import { DEFAULTS } from './defaults.js';

export type SettingKind =
  | { readonly type: 'string'; readonly nonEmpty?: boolean }
  | { readonly type: 'bool' }
  | { readonly type: 'enum'; readonly values: readonly string[] }
  | { readonly type: 'int'; readonly min: number; readonly max: number }
  /** 0 = let the OS choose (tests); otherwise 1..65535. */
  | { readonly type: 'port' }
  | { readonly type: 'ip' }
  /** An integer 1..max, or `auto` (resolved against the CPUs available in load.ts). */
  | { readonly type: 'workers'; readonly max: number }
  /** `90s`, `5m`, `1h30m`, `250ms`; parsed to milliseconds. */
  | { readonly type: 'duration'; readonly minMs: number };

export interface SettingSpec {
  readonly key: string;
  /** Environment variables, highest precedence first (ISTIO_META_CLUSTER_ID beats CLUSTER_ID). */
  readonly env: readonly string[];
  /** CLI flag without dashes: `--node-name value` or `--node-name=value`. */
  readonly flag: string;
  readonly kind: SettingKind;
  /** Default as shown to users. */
  readonly defaultText: string;
  readonly description: string;
}

const str = { type: 'string' } as const;
const nonEmpty = { type: 'string', nonEmpty: true } as const;
const bool = { type: 'bool' } as const;
const port = { type: 'port' } as const;
const ip = { type: 'ip' } as const;
/** A default duration (ms) in the largest unit that divides it: 24h, 5m, 10s, 250ms. */
const ms = (n: number): string =>
  n > 0 && n % 3_600_000 === 0 ? `${n / 3_600_000}h` : n % 60_000 === 0 ? `${n / 60_000}m` : n % 1000 === 0 ? `${n / 1000}s` : `${n}ms`;

function s(key: string, env: string | readonly string[], flag: string, kind: SettingKind, defaultText: unknown, description: string): SettingSpec {
  return { key, env: typeof env === 'string' ? [env] : env, flag, kind, defaultText: String(defaultText), description };
}

export const SETTINGS: readonly SettingSpec[] = [
  s('proxyMode', 'PROXY_MODE', 'proxy-mode', { type: 'enum', values: ['shared', 'dedicated'] }, DEFAULTS.proxyMode,
    'shared: serve every workload whose node is NODE_NAME; dedicated: serve the one workload named by PROXY_WORKLOAD_INFO'),
  s('proxyWorkloadInfo', 'PROXY_WORKLOAD_INFO', 'proxy-workload-info', nonEmpty, '(none)',
    'namespace/name/serviceAccount of the workload served in dedicated mode (required iff dedicated)'),
  s('nodeName', 'NODE_NAME', 'node-name', nonEmpty, DEFAULTS.nodeName, 'this node; workloads with this `node` are local'),
  s('clusterId', ['ISTIO_META_CLUSTER_ID', 'CLUSTER_ID'], 'cluster-id', nonEmpty, DEFAULTS.clusterId,
    'cluster id (ISTIO_META_CLUSTER_ID wins over CLUSTER_ID)'),
  s('clusterDomain', 'CLUSTER_DOMAIN', 'cluster-domain', nonEmpty, DEFAULTS.clusterDomain, 'DNS suffix of the cluster'),
  s('trustDomain', 'TRUST_DOMAIN', 'trust-domain', nonEmpty, DEFAULTS.trustDomain, 'SPIFFE trust domain of this agent'),
  s('network', 'NETWORK', 'network', str, '""', 'network of this node ("" = default network)'),
  s('localXdsPath', 'LOCAL_XDS_PATH', 'local-xds-path', nonEmpty, '(embedded example, unless XDS_ADDRESS is set)',
    'YAML file with workloads, services and policies (ztunnel local config); watched for changes; with XDS_ADDRESS too, both feed the state and the local config wins a conflicting key'),
  s('localXds', 'LOCAL_XDS', 'local-xds', nonEmpty, '(none)', 'the same YAML inline; exclusive with LOCAL_XDS_PATH'),
  s('ipv6Enabled', 'IPV6_ENABLED', 'ipv6-enabled', bool, DEFAULTS.ipv6Enabled,
    `default bind address: "${DEFAULTS.bindAddressIpv6}" if true, "${DEFAULTS.bindAddressIpv4}" if false`),
  s('bindAddress', 'AMBIT_BIND_ADDRESS', 'bind-address', ip, '(from IPV6_ENABLED)', 'address of the data-plane listeners'),
  s('adminBindAddress', 'AMBIT_ADMIN_BIND_ADDRESS', 'admin-bind-address', ip, DEFAULTS.adminBindAddress,
    'address of the admin listener; a non-loopback address (0.0.0.0, ::) makes the admin API (config dump, /quitquitquit, log levels) reachable from the network (warned at start-up)'),
  s('inboundBind', 'AMBIT_INBOUND_BIND', 'inbound-bind', { type: 'enum', values: ['any', 'workloads'] }, DEFAULTS.inboundBind,
    'any: one inbound listener on the bind address; workloads: one per local workload IP'),
  s('portHbone', 'AMBIT_PORT_HBONE', 'port-hbone', port, DEFAULTS.portHbone, 'HBONE (mTLS HTTP/2 CONNECT) inbound port'),
  s('portInboundPlaintext', 'AMBIT_PORT_INBOUND', 'port-inbound', port, DEFAULTS.portInboundPlaintext, 'plaintext inbound capture port'),
  s('portOutbound', 'AMBIT_PORT_OUTBOUND', 'port-outbound', port, DEFAULTS.portOutbound, 'outbound capture port'),
  s('portSocks5', 'AMBIT_PORT_SOCKS5', 'port-socks5', port, DEFAULTS.portSocks5, 'SOCKS5 outbound port'),
  s('portAdmin', 'AMBIT_PORT_ADMIN', 'port-admin', port, DEFAULTS.portAdmin, 'admin port (/config_dump, /logging, /quitquitquit)'),
  s('portStats', 'AMBIT_PORT_STATS', 'port-stats', port, DEFAULTS.portStats, 'Prometheus metrics port'),
  s('portReadiness', 'AMBIT_PORT_READINESS', 'port-readiness', port, DEFAULTS.portReadiness, 'readiness port (/healthz/ready)'),
  s('socks5Enabled', 'UNSTABLE_ENABLE_SOCKS5', 'enable-socks5', bool, DEFAULTS.socks5Enabled,
    'SOCKS5 listener (Ambit enables it by default; ztunnel does not)'),
  s('caProvider', 'AMBIT_CA_PROVIDER', 'ca-provider', { type: 'enum', values: ['builtin', 'file', 'istiod'] }, DEFAULTS.caProvider,
    'builtin: self-signed root kept in the state dir; file: Istio plug-in CA files; istiod: Istio CA over gRPC'),
  s('caStateDir', 'AMBIT_STATE_DIR', 'state-dir', nonEmpty, DEFAULTS.caStateDir, 'where the builtin CA keeps its root'),
  s('caPluginCertsDir', 'AMBIT_CA_CERTS_DIR', 'ca-certs-dir', nonEmpty, DEFAULTS.caPluginCertsDir,
    'plug-in CA directory (ca-cert.pem, ca-key.pem, root-cert.pem, cert-chain.pem)'),
  s('caAddress', 'CA_ADDRESS', 'ca-address', nonEmpty, `${DEFAULTS.caAddressLocal} (${DEFAULTS.caAddressInCluster} in Kubernetes)`,
    'istiod CA address; https:// is added when no scheme is given'),
  s('caRootCa', 'CA_ROOT_CA', 'ca-root-ca', nonEmpty, DEFAULTS.caRootCa, 'root CA for the istiod CA: file path, SYSTEM, or inline PEM'),
  s('altCaHostname', 'ALT_CA_HOSTNAME', 'alt-ca-hostname', nonEmpty, '(none)',
    'istiod CA: an extra TLS server name accepted besides the CA_ADDRESS host'),
  s('authToken', 'AUTH_TOKEN', 'auth-token', nonEmpty, `${DEFAULTS.authTokenPath} if it exists`,
    'istiod bearer token (CA calls and xDS streams): a file path (re-read on every CA call and xDS stream) if the file exists, else the token itself'),
  s('xdsAddress', 'XDS_ADDRESS', 'xds-address', nonEmpty, '(off)',
    'control plane (delta ADS / WDS) address: https://host:port (https:// is added when no scheme is given), or an explicit http://host:port for a plaintext control plane (e.g. a local one on 15010; no bearer token is sent over it); unset or empty = off: the state comes from the local config only'),
  s('xdsRootCa', 'XDS_ROOT_CA', 'xds-root-ca', nonEmpty, DEFAULTS.xdsRootCa,
    'root CA for the xDS server over https: file path (re-read on every reconnect), SYSTEM, or inline PEM'),
  s('altXdsHostname', 'ALT_XDS_HOSTNAME', 'alt-xds-hostname', nonEmpty, '(none)',
    'xDS: an extra TLS server name accepted besides the XDS_ADDRESS host'),
  s('podName', 'POD_NAME', 'pod-name', nonEmpty, '""', "this agent's pod name (xDS node id and NAME metadata)"),
  s('podNamespace', 'POD_NAMESPACE', 'pod-namespace', nonEmpty, '""', "this agent's pod namespace (xDS node id and NAMESPACE metadata)"),
  s('instanceIp', 'INSTANCE_IP', 'instance-ip', ip, `(${DEFAULTS.instanceIpFallback} in the xDS node id)`,
    "this agent's pod IP (xDS node id and INSTANCE_IPS metadata)"),
  s('secretTtl', 'SECRET_TTL', 'secret-ttl', { type: 'duration', minMs: 1000 }, ms(DEFAULTS.secretTtlSeconds * 1000),
    'requested workload certificate lifetime'),
  s('poolMaxStreamsPerConnection', 'POOL_MAX_STREAMS_PER_CONNECTION', 'pool-max-streams-per-connection',
    { type: 'int', min: 1, max: 2 ** 31 - 1 }, DEFAULTS.poolMaxStreamsPerConnection, 'HBONE streams per pooled connection'),
  s('poolUnusedReleaseTimeout', 'POOL_UNUSED_RELEASE_TIMEOUT', 'pool-unused-release-timeout', { type: 'duration', minMs: 0 },
    ms(DEFAULTS.poolUnusedReleaseTimeoutMs), 'drop a pooled HBONE connection unused for this long'),
  s('http2StreamWindow', 'HTTP2_STREAM_WINDOW_SIZE', 'http2-stream-window-size', { type: 'int', min: 65_535, max: 2 ** 31 - 1 },
    DEFAULTS.http2StreamWindowBytes, 'HTTP/2 stream window, bytes'),
  s('http2ConnectionWindow', 'HTTP2_CONNECTION_WINDOW_SIZE', 'http2-connection-window-size',
    { type: 'int', min: 65_535, max: 2 ** 31 - 1 }, DEFAULTS.http2ConnectionWindowBytes, 'HTTP/2 connection window, bytes'),
  s('http2FrameSize', 'HTTP2_FRAME_SIZE', 'http2-frame-size', { type: 'int', min: 16_384, max: 16_777_215 },
    DEFAULTS.http2FrameSizeBytes, 'HTTP/2 max frame size, bytes'),
  s('http2PingInterval', 'AMBIT_HTTP2_PING_INTERVAL', 'http2-ping-interval', { type: 'duration', minMs: 1 },
    ms(DEFAULTS.http2PingIntervalMs), 'HTTP/2 keepalive PING interval'),
  s('http2PingTimeout', 'AMBIT_HTTP2_PING_TIMEOUT', 'http2-ping-timeout', { type: 'duration', minMs: 1 },
    ms(DEFAULTS.http2PingTimeoutMs), 'close an HTTP/2 connection whose PING is unanswered this long'),
  s('connectTimeout', 'AMBIT_CONNECT_TIMEOUT', 'connect-timeout', { type: 'duration', minMs: 1 }, ms(DEFAULTS.connectTimeoutMs),
    'TCP connect timeout'),
  s('drainDeadline', 'CONNECTION_TERMINATION_DEADLINE', 'connection-termination-deadline', { type: 'duration', minMs: 0 },
    ms(DEFAULTS.drainDeadlineMs), 'graceful drain deadline on shutdown'),
  s('heapTrimInterval', 'AMBIT_HEAP_TRIM_INTERVAL', 'heap-trim-interval', { type: 'duration', minMs: 0 }, ms(DEFAULTS.heapTrimIntervalMs),
    `how often the agent checks its RSS and CPU time to give the C heap's free memory back to the kernel (glibc malloc_trim on the threadpool; needs the native addon), once a burst is over: ${DEFAULTS.heapTrimActivityCpuMs / 1000} s of CPU or ${DEFAULTS.heapTrimMarginBytes / 1048576} MB of RSS growth since the last trim, then an interval below ${DEFAULTS.heapTrimQuietCpuFraction * 100}% of a core or below half the CPU rate since the last trim; 0 = never`),
  s('workers', ['AMBIT_WORKERS', 'WORKER_THREADS'], 'workers', { type: 'workers', max: 256 }, DEFAULTS.workers,
    `data-plane worker threads, each with its own listeners on the same ports (SO_REUSEPORT; needs the native addon): an integer, or auto = ${DEFAULTS.workersAutoMax} (ztunnel's default) when at least ${DEFAULTS.workersAutoMinCpus} CPUs are available (affinity set, capped by the cgroup CPU quota), else 1; auto falls back to 1 where several workers cannot run (no native addon; port 0 with AMBIT_INBOUND_BIND=workloads); 1 = one event loop`),
  s('inpodMode', 'AMBIT_INPOD_MODE', 'inpod-mode', { type: 'enum', values: ['own-rules', 'zds'] }, `${DEFAULTS.inpodMode} (zds when INPOD_UDS is set)`,
    'in-pod capture: own-rules = Ambit installs its redirect rules in the netns named by a workload\'s `netns` (no istio-cni; the demo); zds = istio-cni hands pods (netns fds) over on INPOD_UDS and owns the rules, as for ztunnel'),
  s('inpodUds', 'INPOD_UDS', 'inpod-uds', nonEmpty, DEFAULTS.inpodUds,
    'istio-cni\'s ZDS socket (Unix SOCK_SEQPACKET) the agent connects to in zds mode; setting it selects zds mode (ztunnel\'s variable)'),
  s('enableResponseBaggage', 'ENABLE_RESPONSE_BAGGAGE', 'enable-response-baggage', bool, DEFAULTS.enableResponseBaggage,
    'send baggage on HBONE CONNECT responses'),
  s('logLevel', 'AMBIT_LOG_LEVEL', 'log-level', { type: 'enum', values: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] },
    DEFAULTS.logLevel, 'log level'),
  s('logFormat', 'LOG_FORMAT', 'log-format', { type: 'enum', values: ['json', 'plain'] }, DEFAULTS.logFormat, 'log line format'),
  s('istioVersion', 'ISTIO_META_ISTIO_VERSION', 'istio-version', nonEmpty, DEFAULTS.istioVersion, 'reported as istio_build{tag}'),
];

/**
 * Env-only prefix: every `CA_HEADER_<name>=<value>` adds gRPC metadata `<name>: <value>` (name
 * lower-cased) to istiod CA calls, like ztunnel. No flag: the set of names is open-ended.
 */
export const CA_HEADER_ENV_PREFIX = 'CA_HEADER_';

/** Env-only prefix: every `XDS_HEADER_<name>=<value>` adds gRPC metadata `<name>: <value>` to xDS streams. */
export const XDS_HEADER_ENV_PREFIX = 'XDS_HEADER_';

/**
 * Env-only prefixes of the xDS node metadata (ztunnel's proxy metadata): `ISTIO_META_<K>=v` adds
 * `K: "v"`; `ISTIO_METAJSON_<K>=<json>` adds `K` as structured JSON.
 */
export const ISTIO_META_ENV_PREFIX = 'ISTIO_META_';
export const ISTIO_METAJSON_ENV_PREFIX = 'ISTIO_METAJSON_';

export interface SettingHelp {
  readonly flag: string;
  readonly env: string;
  readonly default: string;
  readonly description: string;
}

/** One row per setting, for README tables and `ambit node --help`. */
export const SETTINGS_HELP: readonly SettingHelp[] = SETTINGS.map((x) => ({
  flag: `--${x.flag}`,
  env: x.env.join(' | '),
  default: x.defaultText,
  description: x.description,
}));

/** One aligned plain-text row per setting of `table`, as --help prints them. */
export function formatTableHelp(table: readonly SettingSpec[]): string[] {
  const help = table.map((x) => ({ flag: `--${x.flag}`, env: x.env.join(' | '), default: x.defaultText, description: x.description }));
  const w1 = Math.max(...help.map((h) => h.flag.length));
  const w2 = Math.max(...help.map((h) => h.env.length));
  return help.map((h) => `  ${h.flag.padEnd(w1)}  ${h.env.padEnd(w2)}  ${h.description} (default: ${h.default})`);
}

/** SETTINGS_HELP as aligned plain text. */
export function formatSettingsHelp(): string {
  const w1 = Math.max(...SETTINGS_HELP.map((h) => h.flag.length));
  const w2 = Math.max(...SETTINGS_HELP.map((h) => h.env.length));
  const rows = formatTableHelp(SETTINGS);
  const envOnly = (name: string, text: string): void => {
    rows.push(`  ${'(env only)'.padEnd(w1)}  ${name.padEnd(w2)}  ${text}`);
  };
  envOnly(`${CA_HEADER_ENV_PREFIX}<name>`, 'extra gRPC metadata "<name>: <value>" on istiod CA calls');
  envOnly(`${XDS_HEADER_ENV_PREFIX}<name>`, 'extra gRPC metadata "<name>: <value>" on xDS streams');
  envOnly(`${ISTIO_META_ENV_PREFIX}<key>`, 'xDS node metadata entry "<key>": the value as a string');
  envOnly(`${ISTIO_METAJSON_ENV_PREFIX}<key>`, 'xDS node metadata entry "<key>": the value parsed as JSON');
  return rows.join('\n');
}
