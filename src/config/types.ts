// The node agent's configuration: one typed, validated, frozen object. Defaults live in
// defaults.ts, environment and flags are read only in env.ts; components receive slices of this.

export type ProxyMode = 'shared' | 'dedicated';
export type CaProviderName = 'builtin' | 'file' | 'istiod';
/**
 * Where inbound listeners (15008, 15006) bind:
 * - `any`: one listener on `bindAddress` (a node-level agent, or one workload per host);
 * - `workloads`: one listener per local workload IP, which must be an address of this host
 *   (loopback tests, several agents side by side); in-pod mode generalises this per netns.
 */
export type InboundBind = 'any' | 'workloads';
/** In-pod capture: Ambit's own redirect rules per `netns`, or istio-cni's ZDS (see DEFAULTS.inpodMode). */
export type InpodMode = 'own-rules' | 'zds';
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface Ports {
  /** HBONE inbound; also the port dialled on peers (ztunnel reuses its own inbound port). */
  readonly hbone: number;
  readonly inboundPlaintext: number;
  readonly outbound: number;
  readonly socks5: number;
  readonly admin: number;
  readonly stats: number;
  readonly readiness: number;
}

export interface WorkloadInfo {
  readonly namespace: string;
  readonly name: string;
  readonly serviceAccount: string;
}

/**
 * Where the istiod CA bearer token comes from (AUTH_TOKEN), decided once at load like ztunnel:
 * an existing file is re-read on every call (projected tokens rotate); anything else is a literal.
 */
export type AuthTokenSource =
  | { readonly kind: 'file'; readonly path: string }
  /** `toJSON` redacts the token so /config_dump never shows it. */
  | { readonly kind: 'literal'; readonly token: string; toJSON(): unknown }
  | { readonly kind: 'none' };

export interface CaConfig {
  readonly provider: CaProviderName;
  /** builtin: where the self-signed root lives (created on first start). */
  readonly stateDir: string;
  /** file: directory with Istio plug-in CA files (ca-cert.pem, ca-key.pem, root-cert.pem, cert-chain.pem). */
  readonly pluginCertsDir: string;
  /** istiod: address (https://host:port) and root CA (path | SYSTEM | inline PEM). */
  readonly address: string;
  readonly rootCa: string;
  // The istiod-only fields below are optional so a CaConfig for a local provider can omit them;
  // loadConfig always fills all of them in.
  /** istiod: an extra accepted TLS server name (ALT_CA_HOSTNAME); the address host is always accepted. */
  readonly altHostname?: string | undefined;
  /** istiod: bearer token source for `authorization`; absent = no token. */
  readonly authToken?: AuthTokenSource;
  /** istiod: sent as the `clusterid` metadata (same value as Config.clusterId); absent = `Kubernetes`. */
  readonly clusterId?: string;
  /** istiod: extra gRPC metadata from CA_HEADER_<name> env vars, names lower-cased; absent = none. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Requested workload certificate lifetime, seconds (ztunnel SECRET_TTL). */
  readonly secretTtlSeconds: number;
}

/** A JSON value of the xDS node metadata (ISTIO_METAJSON_*), carried as a google.protobuf.Value. */
export type MetadataValue = string | number | boolean | null | readonly MetadataValue[] | { readonly [key: string]: MetadataValue };

/** The control-plane connection (delta ADS; upstream: ztunnel src/config.rs, xds_address and friends). */
export interface XdsConfig {
  /** `https://host:port` or `http://host:port`; undefined = xDS off (the state comes from local config). */
  readonly address: string | undefined;
  /** XDS_ROOT_CA: an existing file path, `SYSTEM`, or inline PEM (https only). */
  readonly rootCa: string;
  /** ALT_XDS_HOSTNAME: a server certificate valid for this name is accepted too. */
  readonly altHostname: string | undefined;
  /** Same AUTH_TOKEN source as the CA; re-read on every new stream. Never sent over http://. */
  readonly authToken: AuthTokenSource;
  /** Sent as `clusterid`. */
  readonly clusterId: string;
  /** XDS_HEADER_<name> metadata, names lower-cased. */
  readonly headers: Readonly<Record<string, string>>;
}

/** Who this agent is, for the xDS node (ztunnel reads POD_NAME, POD_NAMESPACE, INSTANCE_IP). */
export interface ProxyPod {
  /** "" when unset, as ztunnel. */
  readonly name: string;
  readonly namespace: string;
  /** undefined when unset; the node id then says 1.1.1.1 (ztunnel's fallback). */
  readonly instanceIp: string | undefined;
}

export interface PoolConfig {
  readonly maxStreamsPerConnection: number;
  /** ms a pooled connection may sit unused before it is dropped (POOL_UNUSED_RELEASE_TIMEOUT). */
  readonly unusedReleaseTimeoutMs: number;
}

export interface Http2Config {
  readonly streamWindowBytes: number;
  readonly connectionWindowBytes: number;
  readonly frameSizeBytes: number;
  /** ms between keepalive PINGs, and how long a PING may go unanswered. */
  readonly pingIntervalMs: number;
  readonly pingTimeoutMs: number;
}

export interface InpodConfig {
  readonly mode: InpodMode;
  /** zds: istio-cni's socket (INPOD_UDS). */
  readonly uds: string;
}

export interface Config {
  readonly proxyMode: ProxyMode;
  /** dedicated mode: the one workload this agent serves. */
  readonly proxyWorkloadInfo: WorkloadInfo | undefined;
  readonly nodeName: string;
  readonly clusterId: string;
  readonly clusterDomain: string;
  readonly trustDomain: string;
  readonly network: string;
  /** LOCAL_XDS_PATH; undefined with no inline config means the embedded example. */
  readonly localXdsPath: string | undefined;
  /** LOCAL_XDS: inline YAML. */
  readonly localXds: string | undefined;
  /** IPV6_ENABLED: listeners bind `::` (dual-stack) rather than 0.0.0.0; zds pod listeners too. */
  readonly ipv6Enabled: boolean;
  readonly bindAddress: string;
  readonly adminBindAddress: string;
  readonly inboundBind: InboundBind;
  readonly ports: Ports;
  readonly socks5Enabled: boolean;
  readonly ca: CaConfig;
  readonly pool: PoolConfig;
  readonly http2: Http2Config;
  /** TCP connect timeout, ms (10 s in ztunnel). */
  readonly connectTimeoutMs: number;
  /** Graceful drain deadline on SIGTERM, ms (CONNECTION_TERMINATION_DEADLINE). */
  readonly drainDeadlineMs: number;
  /** Heap trimmer check period, ms (AMBIT_HEAP_TRIM_INTERVAL); 0 = no trimmer. */
  readonly heapTrimIntervalMs: number;
  /**
   * Data-plane worker threads (WORKER_THREADS), resolved (`auto` → 2 from 4 CPUs available, else 1).
   * 1 = the proxy runs on the main event loop; N > 1 = N threads, each with its own listeners on the
   * same ports.
   */
  readonly workers: number;
  /** How `workers` was chosen: logged at start-up and shown in /config_dump. */
  readonly workersChoice: WorkersChoice;
  readonly enableResponseBaggage: boolean;
  readonly inpod: InpodConfig;
  readonly logLevel: LogLevel;
  readonly logFormat: 'json' | 'plain';
  readonly istioVersion: string;
  readonly xds: XdsConfig;
  readonly proxyPod: ProxyPod;
  /**
   * xDS node metadata from the environment, prefix stripped: ISTIO_META_<K> as strings, then
   * ISTIO_METAJSON_<K> parsed (a JSON key wins over a string key of the same name, as in ztunnel).
   */
  readonly proxyMetadata: Readonly<Record<string, MetadataValue>>;
}

/** The worker count's origin: the setting as given and why it resolved to `Config.workers`. */
export interface WorkersChoice {
  /** `auto` (the default) or the explicit count. */
  readonly setting: 'auto' | number;
  /** One line: the rule and CPU budget behind `auto`, a fallback to 1, or which variable/flag set it. */
  readonly reason: string;
}
