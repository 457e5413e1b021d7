// Builds the node agent's Config: raw settings (env.ts) → typed values (settings.ts kinds) →
// cross-field checks → one deep-frozen object. Every problem is collected into one CONFIG_INVALID.

import { existsSync } from 'node:fs';
import { isIP } from 'node:net';
import { MeshError } from '../common/errors.js';
import { caAddressProblem } from './ca-address.js';
import { describeCpuBudget, readCpuBudget } from './cpu-budget.js';
import { xdsAddressProblem } from './xds-address.js';
import { deepFreeze } from './deep-freeze.js';
import { DEFAULTS } from './defaults.js';
import { readSettings, type RawPrefixed, type RawSetting } from './env.js';
import { CA_HEADER_ENV_PREFIX, SETTINGS, XDS_HEADER_ENV_PREFIX } from './settings.js';
import type { AuthTokenSource, CaProviderName, Config, InboundBind, LogLevel, MetadataValue, ProxyMode, WorkloadInfo, InpodMode, WorkersChoice } from './types.js';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `1h30m`, `90s`, `250ms`, `1.5h` → ms; a bare number is refused (the unit is ambiguous), except 0 (none is). */
export function parseDurationMs(text: string): number | undefined {
  if (text === '0') return 0;
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;
  let total = 0;
  let matched = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    total += Number(m[1]) * (UNIT_MS[m[2] as string] as number);
    matched = re.lastIndex;
  }
  return matched === text.length && text.length > 0 ? Math.round(total) : undefined;
}

export type SettingValue = string | number | boolean;
type Value = SettingValue;

/** Parses one raw setting per its kind; returns a reason string on failure. */
export function parseSettingValue(raw: RawSetting): Value | { error: string } {
  const { kind } = raw.spec;
  const v = raw.value;
  switch (kind.type) {
    case 'string':
      return kind.nonEmpty === true && v.trim() === '' ? { error: 'must not be empty' } : v;
    case 'bool':
      if (/^(true|1)$/i.test(v)) return true;
      if (/^(false|0)$/i.test(v)) return false;
      return { error: 'expected true or false' };
    case 'enum':
      return kind.values.includes(v) ? v : { error: `expected one of ${kind.values.join(' | ')}` };
    case 'int': {
      const n = /^\d+$/.test(v) ? Number(v) : NaN;
      return Number.isSafeInteger(n) && n >= kind.min && n <= kind.max ? n : { error: `expected an integer in ${kind.min}..${kind.max}` };
    }
    case 'port': {
      const n = /^\d+$/.test(v) ? Number(v) : NaN;
      return n >= 0 && n <= 65535 ? n : { error: 'expected a port number 0..65535 (0 = any free port)' };
    }
    case 'ip':
      return isIP(v) !== 0 ? v : { error: 'expected an IPv4 or IPv6 address' };
    case 'workers': {
      if (v.toLowerCase() === 'auto') return 'auto';
      const n = /^\d+$/.test(v) ? Number(v) : NaN;
      return Number.isSafeInteger(n) && n >= 1 && n <= kind.max ? n : { error: `expected auto or an integer in 1..${kind.max}` };
    }
    case 'duration': {
      const ms = parseDurationMs(v);
      if (ms === undefined) return { error: 'expected a duration such as 90s, 5m, 24h or 1h30m' };
      return ms >= kind.minMs ? ms : { error: `must be at least ${kind.minMs}ms` };
    }
    default: {
      const never: never = kind;
      return never;
    }
  }
}

function parseWorkloadInfo(text: string): WorkloadInfo | undefined {
  const parts = text.split('/');
  if (parts.length !== 3 || parts.some((p) => p === '')) return undefined;
  const [namespace, name, serviceAccount] = parts as [string, string, string];
  return { namespace, name, serviceAccount };
}

/** `host:port` → `https://host:port`; an address with a scheme is kept as it is (CA_ADDRESS, XDS_ADDRESS). */
export function withScheme(address: string): string {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(address) ? address : `https://${address}`;
}

/** What the machine offers, for settings whose default depends on it (tests pass their own). */
export interface HostFacts {
  /** Whole CPUs this process may use: the affinity set capped by the cgroup CPU quota (cpu-budget.ts). */
  readonly cpus: number;
  /** Where `cpus` came from, for the reason of an `auto` choice ("8 CPUs (affinity set)"). */
  readonly cpuSource?: string;
}

/** The real machine's facts: read only when a setting needs them (`auto` workers). */
export function hostFacts(): HostFacts {
  const budget = readCpuBudget();
  return { cpus: budget.cpus, cpuSource: describeCpuBudget(budget) };
}

/**
 * `auto` workers: ztunnel's default of 2 once at least DEFAULTS.workersAutoMinCpus CPUs are
 * available, else 1 (on 2 cores a second worker measured no gain for ~39 MB RSS; defaults.ts).
 */
export function autoWorkers(cpus: number): number {
  return cpus >= DEFAULTS.workersAutoMinCpus ? DEFAULTS.workersAutoMax : 1;
}

/**
 * Loads the node agent's configuration from flags (`argv`, without the program/subcommand) and
 * `env`. Flags override env; env overrides DEFAULTS. Throws MeshError CONFIG_INVALID naming every
 * bad variable or flag, its value and the reason.
 */
export function loadConfig(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  host?: HostFacts,
): Config {
  const raw = readSettings(argv, env);
  const errors = [...raw.errors];
  const parsed = new Map<string, Value>();
  for (const [key, setting] of raw.values) {
    const v = parseSettingValue(setting);
    if (typeof v === 'object') errors.push(`${setting.origin}=${JSON.stringify(setting.value)}: ${v.error}`);
    else parsed.set(key, v);
  }
  const get = <T extends Value>(key: string, fallback: T): T => (parsed.get(key) as T | undefined) ?? fallback;
  const origin = (key: string): string => raw.values.get(key)?.origin ?? SETTINGS.find((x) => x.key === key)?.env[0] ?? key;

  const proxyMode = get<string>('proxyMode', DEFAULTS.proxyMode) as ProxyMode;
  const infoText = parsed.get('proxyWorkloadInfo') as string | undefined;
  let proxyWorkloadInfo: WorkloadInfo | undefined;
  if (infoText !== undefined) {
    proxyWorkloadInfo = parseWorkloadInfo(infoText);
    if (proxyWorkloadInfo === undefined) {
      errors.push(`${origin('proxyWorkloadInfo')}=${JSON.stringify(infoText)}: expected namespace/name/serviceAccount`);
    } else if (proxyMode !== 'dedicated') {
      errors.push(`${origin('proxyWorkloadInfo')}=${JSON.stringify(infoText)}: only valid with PROXY_MODE=dedicated`);
    }
  } else if (proxyMode === 'dedicated' && !raw.values.has('proxyWorkloadInfo')) {
    errors.push('PROXY_WORKLOAD_INFO: required when PROXY_MODE=dedicated (namespace/name/serviceAccount)');
  }
  if (raw.values.has('localXdsPath') && raw.values.has('localXds')) {
    errors.push(`${origin('localXdsPath')} and ${origin('localXds')}: set one or the other, not both`);
  }

  const ipv6 = get('ipv6Enabled', DEFAULTS.ipv6Enabled as boolean);
  const bindAddress = get<string>('bindAddress', ipv6 ? DEFAULTS.bindAddressIpv6 : DEFAULTS.bindAddressIpv4);
  if (!ipv6 && isIP(bindAddress) === 6) {
    errors.push(`${origin('bindAddress')}=${JSON.stringify(bindAddress)}: an IPv6 address while IPV6_ENABLED=false`);
  }
  const socks5Enabled = get('socks5Enabled', DEFAULTS.socks5Enabled as boolean);
  const ports = {
    hbone: get('portHbone', DEFAULTS.portHbone as number),
    inboundPlaintext: get('portInboundPlaintext', DEFAULTS.portInboundPlaintext as number),
    outbound: get('portOutbound', DEFAULTS.portOutbound as number),
    socks5: get('portSocks5', DEFAULTS.portSocks5 as number),
    admin: get('portAdmin', DEFAULTS.portAdmin as number),
    stats: get('portStats', DEFAULTS.portStats as number),
    readiness: get('portReadiness', DEFAULTS.portReadiness as number),
  };
  checkPortClashes(ports, socks5Enabled, errors, origin);
  const inboundBind = get<string>('inboundBind', DEFAULTS.inboundBind) as InboundBind;

  const caAddress = withScheme(get<string>('caAddress', raw.inKubernetes ? DEFAULTS.caAddressInCluster : DEFAULTS.caAddressLocal));
  const addressProblem = caAddressProblem(caAddress);
  if (addressProblem !== undefined) errors.push(`${origin('caAddress')}=${JSON.stringify(caAddress)}: ${addressProblem}`);
  const altCaHostname = parsed.get('altCaHostname') as string | undefined;
  if (altCaHostname !== undefined && !isHostName(altCaHostname)) {
    errors.push(`${origin('altCaHostname')}=${JSON.stringify(altCaHostname)}: expected a DNS name or IP address`);
  }
  const caHeaders = parseHeaders(raw.caHeaders, CA_HEADER_ENV_PREFIX, errors);
  const authToken = authTokenSource(parsed.get('authToken') as string | undefined);

  const xdsText = parsed.get('xdsAddress') as string | undefined;
  const xdsAddress = xdsText === undefined ? undefined : withScheme(xdsText);
  const xdsProblem = xdsAddress === undefined ? undefined : xdsAddressProblem(xdsAddress);
  if (xdsProblem !== undefined) errors.push(`${origin('xdsAddress')}=${JSON.stringify(xdsText)}: ${xdsProblem}`);
  const altXdsHostname = parsed.get('altXdsHostname') as string | undefined;
  if (altXdsHostname !== undefined && !isHostName(altXdsHostname)) {
    errors.push(`${origin('altXdsHostname')}=${JSON.stringify(altXdsHostname)}: expected a DNS name or IP address`);
  }
  const xdsHeaders = parseHeaders(raw.xdsHeaders, XDS_HEADER_ENV_PREFIX, errors);
  const proxyMetadata = parseProxyMetadata(raw.proxyMetadata, raw.proxyMetadataJson, errors);

  const workersSetting = get<number | string>('workers', DEFAULTS.workers as number | string);
  // Every worker binds the same ports (SO_REUSEPORT); a port 0 is resolved once, by the first worker,
  // which cannot be done for inbound listeners that come and go with the workloads.
  const portZeroProblem = inboundBind === 'workloads' && (ports.hbone === 0 || ports.inboundPlaintext === 0)
    ? `${ports.hbone === 0 ? origin('portHbone') : origin('portInboundPlaintext')}=0 with ${origin('inboundBind')}=workloads (port 0 is not supported there with several workers)`
    : undefined;
  let workers: number;
  let workersChoice: WorkersChoice;
  if (workersSetting === 'auto') {
    const facts = host ?? hostFacts();
    const cpus = facts.cpuSource ?? `${facts.cpus} CPU${facts.cpus === 1 ? '' : 's'}`;
    const rule = autoWorkers(facts.cpus);
    const given = raw.values.has('workers') ? `${origin('workers')}=auto` : 'auto (default)';
    // `auto` never turns a working config into an error: where several workers cannot run, it is one.
    workers = rule > 1 && portZeroProblem !== undefined ? 1 : rule;
    const reason = rule === 1
      ? `${given}: ${cpus}; ${DEFAULTS.workersAutoMax} workers from ${DEFAULTS.workersAutoMinCpus} CPUs, one event loop below`
      : workers === 1
        ? `${given}: ${cpus} would give ${rule} workers, but ${portZeroProblem}: one event loop`
        : `${given}: ${cpus}, at least ${DEFAULTS.workersAutoMinCpus}: ${rule} workers, as ztunnel`;
    workersChoice = { setting: 'auto', reason };
  } else {
    workers = workersSetting as number;
    workersChoice = { setting: workers, reason: `${origin('workers')}=${workers}` };
    if (workers > 1 && portZeroProblem !== undefined) {
      errors.push(`${origin('workers')}=${workers}: several workers need fixed inbound ports with ${origin('inboundBind')}=workloads (port 0 is not supported there)`);
    }
  }
  // INPOD_UDS alone means zds (ztunnel's variable: a ztunnel deployment sets just that); an explicit
  // own-rules beside it is a contradiction, refused rather than one of the two ignored.
  const udsSet = raw.values.has('inpodUds');
  const inpodMode = (parsed.get('inpodMode') as InpodMode | undefined) ?? (udsSet ? 'zds' : (DEFAULTS.inpodMode as InpodMode));
  if (udsSet && inpodMode !== 'zds') {
    errors.push(`${origin('inpodUds')}: only used with ${origin('inpodMode')}=zds (istio-cni hands pods over on it), but ${origin('inpodMode')}=${inpodMode}; unset one of them`);
  }
  if (inpodMode === 'zds' && proxyMode === 'dedicated') {
    const why = raw.values.has('inpodMode') ? `${origin('inpodMode')}=zds` : `${origin('inpodUds')} (zds mode)`;
    errors.push(`${why}: in-pod capture is shared mode only (PROXY_MODE=dedicated serves one workload)`);
  }
  const pingIntervalMs = get('http2PingInterval', DEFAULTS.http2PingIntervalMs as number);
  const secretTtlMs = get('secretTtl', DEFAULTS.secretTtlSeconds * 1000);
  if (errors.length > 0) {
    const n = errors.length;
    throw new MeshError('CONFIG_INVALID', `invalid configuration: ${n} problem${n === 1 ? '' : 's'}:\n${errors.map((e) => `  - ${e}`).join('\n')}`);
  }
  const config: Config = {
    proxyMode,
    proxyWorkloadInfo,
    nodeName: get<string>('nodeName', DEFAULTS.nodeName),
    clusterId: get<string>('clusterId', DEFAULTS.clusterId),
    clusterDomain: get<string>('clusterDomain', DEFAULTS.clusterDomain),
    trustDomain: get<string>('trustDomain', DEFAULTS.trustDomain),
    network: get<string>('network', DEFAULTS.network),
    localXdsPath: parsed.get('localXdsPath') as string | undefined,
    localXds: parsed.get('localXds') as string | undefined,
    ipv6Enabled: ipv6,
    bindAddress,
    adminBindAddress: get<string>('adminBindAddress', DEFAULTS.adminBindAddress),
    inboundBind,
    ports,
    socks5Enabled,
    ca: {
      provider: get<string>('caProvider', DEFAULTS.caProvider) as CaProviderName,
      stateDir: get<string>('caStateDir', DEFAULTS.caStateDir),
      pluginCertsDir: get<string>('caPluginCertsDir', DEFAULTS.caPluginCertsDir),
      address: caAddress,
      rootCa: get<string>('caRootCa', DEFAULTS.caRootCa),
      altHostname: altCaHostname,
      authToken,
      clusterId: get<string>('clusterId', DEFAULTS.clusterId),
      headers: caHeaders,
      secretTtlSeconds: Math.floor(secretTtlMs / 1000),
    },
    pool: {
      maxStreamsPerConnection: get('poolMaxStreamsPerConnection', DEFAULTS.poolMaxStreamsPerConnection as number),
      unusedReleaseTimeoutMs: get('poolUnusedReleaseTimeout', DEFAULTS.poolUnusedReleaseTimeoutMs as number),
    },
    http2: {
      streamWindowBytes: get('http2StreamWindow', DEFAULTS.http2StreamWindowBytes as number),
      connectionWindowBytes: get('http2ConnectionWindow', DEFAULTS.http2ConnectionWindowBytes as number),
      frameSizeBytes: get('http2FrameSize', DEFAULTS.http2FrameSizeBytes as number),
      pingIntervalMs,
      pingTimeoutMs: get('http2PingTimeout', DEFAULTS.http2PingTimeoutMs as number),
    },
    connectTimeoutMs: get('connectTimeout', DEFAULTS.connectTimeoutMs as number),
    drainDeadlineMs: get('drainDeadline', DEFAULTS.drainDeadlineMs as number),
    heapTrimIntervalMs: get('heapTrimInterval', DEFAULTS.heapTrimIntervalMs as number),
    workers,
    workersChoice,
    enableResponseBaggage: get('enableResponseBaggage', DEFAULTS.enableResponseBaggage as boolean),
    inpod: { mode: inpodMode, uds: get<string>('inpodUds', DEFAULTS.inpodUds) },
    logLevel: get<string>('logLevel', DEFAULTS.logLevel) as LogLevel,
    logFormat: get<string>('logFormat', DEFAULTS.logFormat) as 'json' | 'plain',
    istioVersion: get<string>('istioVersion', DEFAULTS.istioVersion),
    xds: {
      address: xdsAddress,
      rootCa: get<string>('xdsRootCa', DEFAULTS.xdsRootCa),
      altHostname: altXdsHostname,
      authToken,
      clusterId: get<string>('clusterId', DEFAULTS.clusterId),
      headers: xdsHeaders,
    },
    proxyPod: {
      name: get<string>('podName', ''),
      namespace: get<string>('podNamespace', ''),
      instanceIp: parsed.get('instanceIp') as string | undefined,
    },
    proxyMetadata,
  };
  return deepFreeze(config);
}

/** A DNS name or an IP address (ALT_CA_HOSTNAME, ALT_XDS_HOSTNAME). */
export function isHostName(text: string): boolean {
  return isIP(text) !== 0 || /^(?=.{1,253}$)[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?(\.[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?)*\.?$/.test(text);
}

/** Transport headers gRPC itself sets, and the two this agent sets from AUTH_TOKEN / CLUSTER_ID. */
const RESERVED_HEADERS = new Set(['authorization', 'clusterid', 'content-type', 'te', 'host', 'user-agent', 'connection']);

/** CA_HEADER_<name> / XDS_HEADER_<name>: lower-cased name must be a legal non-binary gRPC metadata key; value printable ASCII. */
export function parseHeaders(raw: readonly RawPrefixed[], prefix: string, errors: string[]): Readonly<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const h of raw) {
    const name = h.name.toLowerCase();
    const problem = !/^[0-9a-z_.-]+$/.test(name)
      ? `the header name (after ${prefix}) must be letters, digits, "_", "-" or "."`
      : name.endsWith('-bin')
        ? 'binary (-bin) metadata is not supported'
        : name.startsWith('grpc-') || RESERVED_HEADERS.has(name)
          ? `"${name}" is reserved (set by gRPC or by AUTH_TOKEN / CLUSTER_ID)`
          : !/^[\x20-\x7e]*$/.test(h.value)
            ? 'the value must be printable ASCII'
            : undefined;
    if (problem !== undefined) errors.push(`${h.origin}=${JSON.stringify(h.value)}: ${problem}`);
    else out[name] = h.value;
  }
  return out;
}

/**
 * The xDS node metadata: ISTIO_META_<K> as strings, then ISTIO_METAJSON_<K> parsed as JSON (a bad
 * JSON value is a config error here; ztunnel only logs it and leaves the key out).
 */
export function parseProxyMetadata(strings: readonly RawPrefixed[], json: readonly RawPrefixed[], errors: string[]): Readonly<Record<string, MetadataValue>> {
  // Object.create(null): a key such as "__proto__" must be an ordinary entry.
  const out = Object.create(null) as Record<string, MetadataValue>;
  for (const m of strings) {
    if (m.name === '') errors.push(`${m.origin}: the metadata key after ISTIO_META_ must not be empty`);
    else out[m.name] = m.value;
  }
  for (const m of json) {
    if (m.name === '') {
      errors.push(`${m.origin}: the metadata key after ISTIO_METAJSON_ must not be empty`);
      continue;
    }
    try {
      out[m.name] = JSON.parse(m.value) as MetadataValue;
    } catch (err) {
      errors.push(`${m.origin}=${JSON.stringify(m.value)}: not valid JSON (${(err as Error).message})`);
    }
  }
  return { ...out };
}

/** AUTH_TOKEN: an existing file, else a literal token; unset: the default file if it exists, else none. */
export function authTokenSource(value: string | undefined): AuthTokenSource {
  if (value === undefined) {
    return existsSync(DEFAULTS.authTokenPath) ? { kind: 'file', path: DEFAULTS.authTokenPath } : { kind: 'none' };
  }
  if (existsSync(value)) return { kind: 'file', path: value };
  return { kind: 'literal', token: value, toJSON: () => ({ kind: 'literal', token: '<redacted>' }) };
}

/** Two listeners on one port cannot both bind; 0 (ephemeral) never clashes. */
function checkPortClashes(ports: Config['ports'], socks5Enabled: boolean, errors: string[], origin: (k: string) => string): void {
  const keys: Record<keyof Config['ports'], string> = {
    hbone: 'portHbone', inboundPlaintext: 'portInboundPlaintext', outbound: 'portOutbound', socks5: 'portSocks5',
    admin: 'portAdmin', stats: 'portStats', readiness: 'portReadiness',
  };
  const seen = new Map<number, string>();
  for (const [name, port] of Object.entries(ports) as [keyof Config['ports'], number][]) {
    if (port === 0 || (name === 'socks5' && !socks5Enabled)) continue;
    const other = seen.get(port);
    if (other !== undefined) errors.push(`${origin(keys[name])}=${port}: port already used by ${origin(other)}`);
    else seen.set(port, keys[name]);
  }
}
