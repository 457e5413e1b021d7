// What the main thread and a data-plane worker thread exchange: the worker's start-up data, the
// method names of their RpcChannel, and the payloads. Both sides import the names from here.

import type { Config } from '../config/index.js';
import type { CertPriority } from '../identity/index.js';
import type { SharedPodSpec } from '../inpod/index.js';
import type { ProxyAddresses, ServerAddresses } from '../proxy/index.js';
import type { StateLink } from './state-channel.js';

/** Levels the worker's loggers follow (main's /logging changes them at run time). */
export interface LogLevelsPayload {
  readonly root: string;
  readonly access: string;
}

/** workerData of a data-plane worker. Structured-cloneable: no functions, no secrets. */
export interface WorkerInit {
  /** Slot 1..N; a restarted worker keeps its slot's id (metrics and logs name it). */
  readonly id: number;
  readonly config: Config;
  /** The main thread's admin / stats / readiness servers: destinations the proxy refuses (SELF_CALL). */
  readonly servers: ServerAddresses;
  readonly state: StateLink;
  readonly logLevels: LogLevelsPayload;
}

/** Requests main → worker, and what they answer. */
export const TO_WORKER = {
  /** Bind the host listeners; answers the bound addresses. */
  start: 'start',
  /** SharedPodSpec → listen in the pod's netns (its rules are in place). */
  podAdd: 'pod-add',
  /** PodRemovePayload → let go of the pod: drained when a deadline is given, cut otherwise. */
  podRemove: 'pod-remove',
  /** DrainPayload → stop accepting, drain the host proxy up to the deadline, then cut; flush logs. */
  drain: 'drain',
  /** → the worker registry's getMetricsAsJSON() (no process metrics: those are main's). */
  metrics: 'metrics',
  /** LogLevelsPayload → applied (answered once the worker's loggers use the new levels). */
  logLevels: 'log-levels',
  /** → the worker's tracked connections (ConnectionListing[]), for admin /debug/connections. */
  connections: 'connections',
} as const;

/** Notes main → worker. */
export const TO_WORKER_NOTE = {
  /** WorkloadCertificate: main's CertManager installed (issued or rotated) it. */
  cert: 'cert',
} as const;

/** Requests worker → main. */
export const TO_MAIN = {
  /** CertRequestPayload → a WorkloadCertificate from main's CertManager. */
  cert: 'cert',
} as const;

/** Notes worker → main. */
export const TO_MAIN_NOTE = {
  /** Log text (whole lines) to write to the agent's log destination. */
  log: 'log',
  /** LoadPayload, every LOAD_REPORT_MS. */
  load: 'load',
} as const;

export const LOAD_REPORT_MS = 1_000;

export interface PodRemovePayload {
  readonly uid: string;
  readonly deadlineMs?: number;
}

export interface DrainPayload {
  readonly deadlineMs: number;
}

export interface CertRequestPayload {
  readonly identity: string;
  readonly priority: CertPriority;
}

export interface LoadPayload {
  /** Connections this worker is carrying (host proxy and pods). */
  readonly open: number;
  /** The state version it has applied. */
  readonly stateVersion: number;
}

export type { SharedPodSpec };

/**
 * The config a worker gets: everything but the credentials for the CA and the control plane, which
 * only the main thread uses (a worker never talks to either), so no secret is copied into workers.
 * The literal-token form carries a toJSON function, which structured clone could not copy anyway.
 */
export function configForWorker(config: Config): Config {
  return {
    ...config,
    ca: { ...config.ca, authToken: { kind: 'none' }, headers: {} },
    xds: { ...config.xds, authToken: { kind: 'none' }, headers: {} },
  };
}

/**
 * Ports configured as 0 (any free port, as tests use) must still be ONE port for all workers, or
 * SO_REUSEPORT would not group them: the first worker binds, and the others get the ports it got.
 * (load.ts refuses port 0 for per-workload inbound listeners with several workers.)
 */
export function needsBoundPorts(config: Config): boolean {
  const p = config.ports;
  return p.outbound === 0 || (config.socks5Enabled && p.socks5 === 0) || p.hbone === 0 || p.inboundPlaintext === 0;
}

export function withBoundPorts(config: Config, bound: ProxyAddresses): Config {
  const p = config.ports;
  const pick = (configured: number, got: number | undefined): number => (configured === 0 && got !== undefined ? got : configured);
  return {
    ...config,
    ports: {
      ...p,
      outbound: pick(p.outbound, bound.outbound?.port),
      socks5: pick(p.socks5, bound.socks5?.port),
      hbone: pick(p.hbone, bound.hbone[0]?.port),
      inboundPlaintext: pick(p.inboundPlaintext, bound.inboundPlaintext[0]?.port),
    },
  };
}
