// The one place that holds default values for the node agent's settings. Units are in the names;
// README/--help text is generated from here through settings.ts, so the two cannot drift.

export const DEFAULTS = {
  /** `shared`: serve every workload whose `node` is NODE_NAME (Ambit's node-agent mode). */
  proxyMode: 'shared',
  /** Matches the node of the embedded example config, so a bare `ambit node` serves its workloads. */
  nodeName: 'local',
  clusterId: 'Kubernetes',
  clusterDomain: 'cluster.local',
  trustDomain: 'cluster.local',
  network: '',
  ipv6Enabled: true,
  bindAddressIpv6: '::',
  bindAddressIpv4: '0.0.0.0',
  adminBindAddress: '127.0.0.1',
  inboundBind: 'any',
  portHbone: 15008,
  portInboundPlaintext: 15006,
  portOutbound: 15001,
  portSocks5: 15080,
  portAdmin: 15000,
  portStats: 15020,
  portReadiness: 15021,
  /** Ambit enables SOCKS5 by default (ztunnel: off) — it is the capture-free way to use the mesh. */
  socks5Enabled: true,
  caProvider: 'builtin',
  caStateDir: './var/lib/ambit',
  caPluginCertsDir: './etc/cacerts',
  caAddressInCluster: 'https://istiod.istio-system.svc:15012',
  caAddressLocal: 'https://localhost:15012',
  caRootCa: './var/run/secrets/istio/root-cert.pem',
  /** XDS_ADDRESS has no default: ztunnel's is istiod, but Ambit runs on its local config unless told. */
  xdsRootCa: './var/run/secrets/istio/root-cert.pem',
  /** ztunnel's INSTANCE_IP fallback in the xDS node id when INSTANCE_IP is unset. */
  instanceIpFallback: '1.1.1.1',
  /** Projected service-account token (audience istio-ca); used only if the file exists. */
  authTokenPath: './var/run/secrets/tokens/istio-token',
  secretTtlSeconds: 24 * 60 * 60,
  poolMaxStreamsPerConnection: 100,
  poolUnusedReleaseTimeoutMs: 5 * 60 * 1000,
  http2StreamWindowBytes: 4 * 1024 * 1024,
  http2ConnectionWindowBytes: 16 * 1024 * 1024,
  http2FrameSizeBytes: 1024 * 1024,
  http2PingIntervalMs: 10_000,
  http2PingTimeoutMs: 20_000,
  connectTimeoutMs: 10_000,
  drainDeadlineMs: 5_000,
  /**
   * Heap trimmer (src/sockets/heap-trim-policy.ts): RSS and CPU read every interval; malloc_trim(0)
   * in a quiet interval (CPU below heapTrimQuietCpuFraction of a core, or below heapTrimDropRatio of
   * the average rate since the last trim) after heapTrimActivityCpuMs of CPU or heapTrimMarginBytes
   * of RSS growth since the last trim. README "Memory" has the measurements.
   */
  heapTrimIntervalMs: 2_000,
  heapTrimMarginBytes: 8 * 1024 * 1024,
  heapTrimActivityCpuMs: 1_000,
  heapTrimQuietCpuFraction: 0.05,
  heapTrimDropRatio: 0.5,
  /**
   * Data-plane worker threads when WORKER_THREADS / --workers is unset: `auto` = the rule below on
   * the CPUs available (affinity set and cgroup quota, cpu-budget.ts). ztunnel's default is a flat 2.
   */
  workers: 'auto',
  /** `auto` on a node with at least workersAutoMinCpus CPUs: ztunnel's WORKER_THREADS default. */
  workersAutoMax: 2,
  /**
   * Below this many CPUs `auto` keeps one event loop. Measured on a 2-vCPU node (README
   * "Performance", ambit-w1 vs ambit-w2): a second worker gave no throughput or conn/s, a somewhat
   * lower p99, and 44-136 MB more peak RSS per agent, the node's pods sharing those cores with it.
   * 4 is a judgement (no many-core run yet): the smallest node where a second core can be idle.
   */
  workersAutoMinCpus: 4,
  enableResponseBaggage: true,
  /**
   * How pods are captured: `own-rules` = Ambit installs its redirect rules in the pod netns named by
   * a workload's `netns` (clusters without istio-cni, the demo); `zds` = istio-cni hands pods over
   * on INPOD_UDS (the rules are istio-cni's), as ztunnel in shared mode.
   */
  inpodMode: 'own-rules',
  /** ztunnel's INPOD_UDS default: istio-cni's ZDS socket. */
  inpodUds: '/var/run/ztunnel/ztunnel.sock',
  logLevel: 'info',
  /** Ambit logs JSON lines (pino); ztunnel's default is plain text. */
  logFormat: 'json',
  istioVersion: 'unknown',
} as const;

/** Defaults of `ambit control` (istiod's role); istiod's own defaults where it has one. */
export const CONTROL_DEFAULTS = {
  clusterId: 'Kubernetes',
  clusterDomain: 'cluster.local',
  trustDomain: 'cluster.local',
  network: '',
  /** istiod's root namespace: mesh-wide policies (and the static STRICT policy) live here. */
  rootNamespace: 'istio-system',
  /** Istio's default meshConfig.outboundTrafficPolicy.mode. */
  outboundTrafficPolicy: 'ALLOW_ANY',
  bindAddress: '::',
  /** istiod: 15010 plaintext gRPC (xDS + CA, for local use), 15012 TLS gRPC, 15014 HTTP monitoring/debug. */
  portXds: 15010,
  portXdsTls: 15012,
  portMonitoring: 15014,
  /** Names the serving certificate of 15012 carries: what agents put in XDS_ADDRESS / CA_ADDRESS. */
  tlsSans: 'istiod.istio-system.svc,istiod.istio-system.svc.cluster.local,localhost,127.0.0.1,::1',
  caProvider: 'builtin',
  caStateDir: './var/lib/ambit',
  caPluginCertsDir: './etc/cacerts',
  /** istiod's DEFAULT_WORKLOAD_CERT_TTL and MAX_WORKLOAD_CERT_TTL. */
  defaultCertTtlMs: 24 * 60 * 60 * 1000,
  maxCertTtlMs: 90 * 24 * 60 * 60 * 1000,
  /** istiod's CA_TRUSTED_NODE_ACCOUNTS for ztunnel, plus Ambit's own node agent account. */
  trustedNodeAccounts: 'istio-system/ztunnel,ambit-system/ambit-node',
  /** istiod's PILOT_DEBOUNCE_AFTER / PILOT_DEBOUNCE_MAX. */
  debounceAfterMs: 100,
  debounceMaxMs: 10_000,
  drainDeadlineMs: 5_000,
  logLevel: 'info',
  logFormat: 'json',
} as const;

/**
 * Defaults of `ambit waypoint` that differ from, or are not among, the node agent's (the settings
 * it shares with the agent — CA, HTTP/2, pool, timeouts, logging — use DEFAULTS above).
 */
export const WAYPOINT_DEFAULTS = {
  /** Istio's waypoint listens for HBONE on every address of its pod. */
  bindAddress: '::',
  adminBindAddress: '127.0.0.1',
  portHbone: 15008,
  portAdmin: 15000,
  portStats: 15020,
  portReadiness: 15021,
  /** For the in-process translation of the manifests mode, as `ambit control`'s. */
  rootNamespace: 'istio-system',
} as const;
