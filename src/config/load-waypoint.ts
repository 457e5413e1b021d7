// Builds the `ambit waypoint` configuration: raw settings (env.ts, WAYPOINT_SETTINGS) → typed values
// → cross-field checks → one deep-frozen WaypointProcessConfig. Every problem goes into one CONFIG_INVALID.
// The CA and xDS pieces are built by the node agent's own helpers, so both processes read them alike.

import { MeshError } from '../common/errors.js';
import { caAddressProblem } from './ca-address.js';
import { deepFreeze } from './deep-freeze.js';
import { DEFAULTS, WAYPOINT_DEFAULTS as W } from './defaults.js';
import { readSettings } from './env.js';
import { authTokenSource, isHostName, parseHeaders, parseProxyMetadata, parseSettingValue, withScheme, type SettingValue } from './load.js';
import { CA_HEADER_ENV_PREFIX, XDS_HEADER_ENV_PREFIX } from './settings.js';
import type { CaConfig, CaProviderName, Http2Config, LogLevel, MetadataValue, PoolConfig, ProxyPod, XdsConfig } from './types.js';
import { WAYPOINT_SETTINGS } from './waypoint-settings.js';
import { xdsAddressProblem } from './xds-address.js';

/** Where the waypoint's mesh state and WaypointConfig come from. */
export type WaypointSource =
  /** `ambit control` (or istiod-compatible) over delta ADS at `xds.address`. */
  | { readonly kind: 'xds' }
  /** A manifests folder translated in this process (no control plane). */
  | { readonly kind: 'manifests'; readonly dir: string };

export interface WaypointProcessConfig {
  /** The waypoint's Gateway; its WaypointConfig resource name is `<namespace>/<name>`. */
  readonly waypoint: { readonly namespace: string; readonly name: string; readonly serviceAccount: string };
  /** `spiffe://<trustDomain>/ns/<namespace>/sa/<serviceAccount>`: the certificate it serves HBONE with. */
  readonly identity: string;
  readonly source: WaypointSource;
  readonly clusterId: string;
  readonly clusterDomain: string;
  readonly trustDomain: string;
  /** Manifests mode: the translation's root namespace. */
  readonly rootNamespace: string;
  /** `address` is undefined in manifests mode. */
  readonly xds: XdsConfig;
  readonly ca: CaConfig;
  readonly bindAddress: string;
  readonly adminBindAddress: string;
  /** 0 = any free port (tests). */
  readonly ports: { readonly hbone: number; readonly admin: number; readonly stats: number; readonly readiness: number };
  readonly pool: PoolConfig;
  readonly http2: Http2Config;
  readonly connectTimeoutMs: number;
  readonly drainDeadlineMs: number;
  readonly logLevel: LogLevel;
  readonly logFormat: 'json' | 'plain';
  readonly istioVersion: string;
  /** For the xDS node id and metadata. */
  readonly proxyPod: ProxyPod;
  readonly nodeName: string;
  /** ISTIO_META_* / ISTIO_METAJSON_* (prefix stripped), as the agent's. */
  readonly proxyMetadata: Readonly<Record<string, MetadataValue>>;
}

/** RFC 1123 label (namespaces). */
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** RFC 1123 subdomain (Gateway and ServiceAccount names). */
const DNS_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/**
 * Loads `ambit waypoint`'s configuration from flags (`argv`, after the subcommand) and `env`. Flags
 * override env; env overrides the defaults. Throws MeshError CONFIG_INVALID naming every bad
 * variable or flag, its value and the reason.
 */
export function loadWaypointConfig(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): WaypointProcessConfig {
  const raw = readSettings(argv, env, WAYPOINT_SETTINGS);
  const errors = [...raw.errors];
  const parsed = new Map<string, SettingValue>();
  for (const [key, setting] of raw.values) {
    const v = parseSettingValue(setting);
    if (typeof v === 'object') errors.push(`${setting.origin}=${JSON.stringify(setting.value)}: ${v.error}`);
    else parsed.set(key, v);
  }
  const get = <T extends SettingValue>(key: string, fallback: T): T => (parsed.get(key) as T | undefined) ?? fallback;
  const opt = (key: string): string | undefined => parsed.get(key) as string | undefined;
  const spec = (key: string): string => WAYPOINT_SETTINGS.find((x) => x.key === key)?.env.join(' / ') ?? key;
  const origin = (key: string): string => raw.values.get(key)?.origin ?? spec(key);

  const namespace = opt('namespace');
  const name = opt('name');
  if (!raw.values.has('namespace')) errors.push(`${spec('namespace')}: required (the namespace of the waypoint's Gateway)`);
  else if (namespace !== undefined && !DNS_LABEL.test(namespace)) errors.push(`${origin('namespace')}=${JSON.stringify(namespace)}: not a valid namespace name (RFC 1123 label)`);
  if (!raw.values.has('name')) errors.push(`${spec('name')}: required (the name of the waypoint's Gateway)`);
  else if (name !== undefined && !DNS_SUBDOMAIN.test(name)) errors.push(`${origin('name')}=${JSON.stringify(name)}: not a valid Gateway name (RFC 1123 subdomain)`);
  const serviceAccount = opt('serviceAccount') ?? name ?? '';
  if (raw.values.has('serviceAccount') && !DNS_SUBDOMAIN.test(serviceAccount)) {
    errors.push(`${origin('serviceAccount')}=${JSON.stringify(serviceAccount)}: not a valid service account name (RFC 1123 subdomain)`);
  }

  const manifests = opt('manifests');
  const xdsText = opt('xdsAddress');
  if (manifests !== undefined && xdsText !== undefined) {
    errors.push(`${origin('manifests')} and ${origin('xdsAddress')}: set one or the other, not both`);
  } else if (manifests === undefined && xdsText === undefined && !raw.values.has('manifests') && !raw.values.has('xdsAddress')) {
    errors.push(`${spec('xdsAddress')} or ${spec('manifests')}: one is required (the control plane, or a manifests folder to translate here)`);
  }
  const xdsAddress = xdsText === undefined ? undefined : withScheme(xdsText);
  const xdsProblem = xdsAddress === undefined ? undefined : xdsAddressProblem(xdsAddress);
  if (xdsProblem !== undefined) errors.push(`${origin('xdsAddress')}=${JSON.stringify(xdsText)}: ${xdsProblem}`);
  const altXdsHostname = opt('altXdsHostname');
  if (altXdsHostname !== undefined && !isHostName(altXdsHostname)) errors.push(`${origin('altXdsHostname')}=${JSON.stringify(altXdsHostname)}: expected a DNS name or IP address`);

  const caAddress = withScheme(get<string>('caAddress', raw.inKubernetes ? DEFAULTS.caAddressInCluster : DEFAULTS.caAddressLocal));
  const caProblem = caAddressProblem(caAddress);
  if (caProblem !== undefined) errors.push(`${origin('caAddress')}=${JSON.stringify(caAddress)}: ${caProblem}`);
  const altCaHostname = opt('altCaHostname');
  if (altCaHostname !== undefined && !isHostName(altCaHostname)) errors.push(`${origin('altCaHostname')}=${JSON.stringify(altCaHostname)}: expected a DNS name or IP address`);
  const caHeaders = parseHeaders(raw.caHeaders, CA_HEADER_ENV_PREFIX, errors);
  const xdsHeaders = parseHeaders(raw.xdsHeaders, XDS_HEADER_ENV_PREFIX, errors);
  const proxyMetadata = parseProxyMetadata(raw.proxyMetadata, raw.proxyMetadataJson, errors);
  const authToken = authTokenSource(opt('authToken'));

  const ports = {
    hbone: get('portHbone', W.portHbone as number),
    admin: get('portAdmin', W.portAdmin as number),
    stats: get('portStats', W.portStats as number),
    readiness: get('portReadiness', W.portReadiness as number),
  };
  const portKeys = { hbone: 'portHbone', admin: 'portAdmin', stats: 'portStats', readiness: 'portReadiness' } as const;
  const seen = new Map<number, string>();
  for (const [which, p] of Object.entries(ports) as [keyof typeof ports, number][]) {
    if (p === 0) continue; // ephemeral ports never clash
    const other = seen.get(p);
    if (other !== undefined) errors.push(`${origin(portKeys[which])}=${p}: port already used by ${origin(other)}`);
    else seen.set(p, portKeys[which]);
  }

  if (errors.length > 0) {
    const n = errors.length;
    throw new MeshError('CONFIG_INVALID', `invalid configuration: ${n} problem${n === 1 ? '' : 's'}:\n${errors.map((e) => `  - ${e}`).join('\n')}`);
  }
  const clusterId = get<string>('clusterId', DEFAULTS.clusterId);
  const trustDomain = get<string>('trustDomain', DEFAULTS.trustDomain);
  const secretTtlMs = get('secretTtl', DEFAULTS.secretTtlSeconds * 1000);
  const config: WaypointProcessConfig = {
    waypoint: { namespace: namespace as string, name: name as string, serviceAccount },
    identity: `spiffe://${trustDomain}/ns/${namespace as string}/sa/${serviceAccount}`,
    source: manifests !== undefined ? { kind: 'manifests', dir: manifests } : { kind: 'xds' },
    clusterId,
    clusterDomain: get<string>('clusterDomain', DEFAULTS.clusterDomain),
    trustDomain,
    rootNamespace: get<string>('rootNamespace', W.rootNamespace),
    xds: { address: xdsAddress, rootCa: get<string>('xdsRootCa', DEFAULTS.xdsRootCa), altHostname: altXdsHostname, authToken, clusterId, headers: xdsHeaders },
    ca: {
      provider: get<string>('caProvider', DEFAULTS.caProvider) as CaProviderName,
      stateDir: get<string>('caStateDir', DEFAULTS.caStateDir),
      pluginCertsDir: get<string>('caPluginCertsDir', DEFAULTS.caPluginCertsDir),
      address: caAddress,
      rootCa: get<string>('caRootCa', DEFAULTS.caRootCa),
      altHostname: altCaHostname,
      authToken,
      clusterId,
      headers: caHeaders,
      secretTtlSeconds: Math.floor(secretTtlMs / 1000),
    },
    bindAddress: get<string>('bindAddress', W.bindAddress),
    adminBindAddress: get<string>('adminBindAddress', W.adminBindAddress),
    ports,
    pool: {
      maxStreamsPerConnection: get('poolMaxStreamsPerConnection', DEFAULTS.poolMaxStreamsPerConnection as number),
      unusedReleaseTimeoutMs: get('poolUnusedReleaseTimeout', DEFAULTS.poolUnusedReleaseTimeoutMs as number),
    },
    http2: {
      streamWindowBytes: get('http2StreamWindow', DEFAULTS.http2StreamWindowBytes as number),
      connectionWindowBytes: get('http2ConnectionWindow', DEFAULTS.http2ConnectionWindowBytes as number),
      frameSizeBytes: get('http2FrameSize', DEFAULTS.http2FrameSizeBytes as number),
      pingIntervalMs: get('http2PingInterval', DEFAULTS.http2PingIntervalMs as number),
      pingTimeoutMs: get('http2PingTimeout', DEFAULTS.http2PingTimeoutMs as number),
    },
    connectTimeoutMs: get('connectTimeout', DEFAULTS.connectTimeoutMs as number),
    drainDeadlineMs: get('drainDeadline', DEFAULTS.drainDeadlineMs as number),
    logLevel: get<string>('logLevel', DEFAULTS.logLevel) as LogLevel,
    logFormat: get<string>('logFormat', DEFAULTS.logFormat) as 'json' | 'plain',
    istioVersion: get<string>('istioVersion', DEFAULTS.istioVersion),
    proxyPod: { name: get<string>('podName', ''), namespace: namespace as string, instanceIp: opt('instanceIp') },
    nodeName: get<string>('nodeName', ''),
    proxyMetadata,
  };
  return deepFreeze(config);
}
