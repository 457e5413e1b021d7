// Builds the `ambit control` configuration: raw settings (env.ts, CONTROL_SETTINGS) → typed values →
// cross-field checks → one deep-frozen ControlConfig. Every problem goes into one CONFIG_INVALID.

import { isIP } from 'node:net';
import { MeshError } from '../common/errors.js';
import { CONTROL_SETTINGS } from './control-settings.js';
import { deepFreeze } from './deep-freeze.js';
import { CONTROL_DEFAULTS as D } from './defaults.js';
import { readSettings } from './env.js';
import { parseSettingValue, type SettingValue } from './load.js';
import type { LogLevel } from './types.js';

export interface ControlConfig {
  /** Where objects come from: a manifests folder, or a cluster's API server. */
  readonly source: { readonly kind: 'manifests'; readonly dir: string } | { readonly kind: 'cluster'; readonly kubeconfig: string | undefined };
  readonly clusterId: string;
  readonly clusterDomain: string;
  readonly trustDomain: string;
  readonly network: string;
  readonly rootNamespace: string;
  /** meshConfig.outboundTrafficPolicy.mode, carried to node agents on every pod Workload. */
  readonly outboundTrafficPolicy: 'ALLOW_ANY' | 'REGISTRY_ONLY';
  readonly bindAddress: string;
  /** 0 = any free port (tests). */
  readonly ports: { readonly xds: number; readonly xdsTls: number; readonly monitoring: number };
  /** DNS names and IPs of the TLS port's serving certificate. */
  readonly tlsSans: { readonly dns: readonly string[]; readonly ips: readonly string[] };
  readonly ca: {
    readonly provider: 'builtin' | 'file';
    readonly stateDir: string;
    readonly pluginCertsDir: string;
    readonly defaultTtlMs: number;
    readonly maxTtlMs: number;
    /** `namespace/serviceaccount` of node agents that may impersonate the pods of their node. */
    readonly trustedNodeAccounts: readonly string[];
    /** Static bearer tokens (manifests mode); undefined: TokenReview against the cluster. */
    readonly tokenFile: string | undefined;
  };
  readonly debounce: { readonly afterMs: number; readonly maxMs: number };
  readonly drainDeadlineMs: number;
  readonly logLevel: LogLevel;
  readonly logFormat: 'json' | 'plain';
}

const ACCOUNT = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?\/[a-z0-9]([-.a-z0-9]*[a-z0-9])?$/;
const DNS_NAME = /^(?=.{1,253}$)[A-Za-z0-9*]([A-Za-z0-9_-]*[A-Za-z0-9])?(\.[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9])?)*$/;

function list(text: string): string[] {
  return text.split(',').map((x) => x.trim()).filter((x) => x !== '');
}

/**
 * Loads `ambit control`'s configuration from flags (`argv`, after the subcommand) and `env`. Flags
 * override env; env overrides CONTROL_DEFAULTS. Throws MeshError CONFIG_INVALID naming every bad
 * variable or flag, its value and the reason.
 */
export function loadControlConfig(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): ControlConfig {
  const raw = readSettings(argv, env, CONTROL_SETTINGS);
  const errors = [...raw.errors];
  const parsed = new Map<string, SettingValue>();
  for (const [key, setting] of raw.values) {
    const v = parseSettingValue(setting);
    if (typeof v === 'object') errors.push(`${setting.origin}=${JSON.stringify(setting.value)}: ${v.error}`);
    else parsed.set(key, v);
  }
  const get = <T extends SettingValue>(key: string, fallback: T): T => (parsed.get(key) as T | undefined) ?? fallback;
  const origin = (key: string): string => raw.values.get(key)?.origin ?? CONTROL_SETTINGS.find((x) => x.key === key)?.env[0] ?? key;

  const manifests = parsed.get('manifests') as string | undefined;
  const kubeconfig = parsed.get('kubeconfig') as string | undefined;
  const source: ControlConfig['source'] = manifests !== undefined ? { kind: 'manifests', dir: manifests } : { kind: 'cluster', kubeconfig };

  const ports = { xds: get('portXds', D.portXds as number), xdsTls: get('portXdsTls', D.portXdsTls as number), monitoring: get('portMonitoring', D.portMonitoring as number) };
  if (ports.xds !== 0 && ports.xds === ports.xdsTls) errors.push(`${origin('portXdsTls')}=${ports.xdsTls}: the same port as ${origin('portXds')}`);
  if (ports.monitoring !== 0 && (ports.monitoring === ports.xds || ports.monitoring === ports.xdsTls)) {
    errors.push(`${origin('portMonitoring')}=${ports.monitoring}: the same port as a gRPC listener`);
  }

  const sans = list(get<string>('tlsSans', D.tlsSans));
  const tlsSans = { dns: sans.filter((x) => isIP(x) === 0), ips: sans.filter((x) => isIP(x) !== 0) };
  for (const name of tlsSans.dns) if (!DNS_NAME.test(name)) errors.push(`${origin('tlsSans')}: ${JSON.stringify(name)} is neither a DNS name nor an IP address`);

  const trustedNodeAccounts = list(get<string>('trustedNodeAccounts', D.trustedNodeAccounts));
  for (const a of trustedNodeAccounts) if (!ACCOUNT.test(a)) errors.push(`${origin('trustedNodeAccounts')}: ${JSON.stringify(a)} is not namespace/serviceaccount`);

  const defaultTtlMs = get('defaultCertTtl', D.defaultCertTtlMs as number);
  const maxTtlMs = get('maxCertTtl', D.maxCertTtlMs as number);
  if (defaultTtlMs > maxTtlMs) errors.push(`${origin('defaultCertTtl')}: longer than ${origin('maxCertTtl')}`);
  const debounce = { afterMs: get('debounceAfter', D.debounceAfterMs as number), maxMs: get('debounceMax', D.debounceMaxMs as number) };
  if (debounce.afterMs > debounce.maxMs) errors.push(`${origin('debounceAfter')}: longer than ${origin('debounceMax')}`);

  if (errors.length > 0) {
    const n = errors.length;
    throw new MeshError('CONFIG_INVALID', `invalid configuration: ${n} problem${n === 1 ? '' : 's'}:\n${errors.map((e) => `  - ${e}`).join('\n')}`);
  }
  const config: ControlConfig = {
    source,
    clusterId: get<string>('clusterId', D.clusterId),
    clusterDomain: get<string>('clusterDomain', D.clusterDomain),
    trustDomain: get<string>('trustDomain', D.trustDomain),
    network: get<string>('network', D.network),
    rootNamespace: get<string>('rootNamespace', D.rootNamespace),
    outboundTrafficPolicy: get<string>('outboundTrafficPolicy', D.outboundTrafficPolicy) as 'ALLOW_ANY' | 'REGISTRY_ONLY',
    bindAddress: get<string>('bindAddress', D.bindAddress),
    ports,
    tlsSans,
    ca: {
      provider: get<string>('caProvider', D.caProvider) as 'builtin' | 'file',
      stateDir: get<string>('caStateDir', D.caStateDir),
      pluginCertsDir: get<string>('caPluginCertsDir', D.caPluginCertsDir),
      defaultTtlMs,
      maxTtlMs,
      trustedNodeAccounts,
      tokenFile: parsed.get('caTokenFile') as string | undefined,
    },
    debounce,
    drainDeadlineMs: get('drainDeadline', D.drainDeadlineMs as number),
    logLevel: get<string>('logLevel', D.logLevel) as LogLevel,
    logFormat: get<string>('logFormat', D.logFormat) as 'json' | 'plain',
  };
  return deepFreeze(config);
}
