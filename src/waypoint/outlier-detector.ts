// Envoy's outlier detection for one cluster (source/common/upstream/outlier_detection_impl.cc) as
// Istio configures it: consecutive 5xx / gateway-error ejection, ejection backoff, max ejection
// percent, un-ejection by the interval sweep. Success-rate ejection is off (Istio disables it).

import type { OutlierDetection } from './model/route-model.js';

export type EjectionType = 'consecutive_5xx' | 'consecutive_gateway_failure';

/** Envoy's default max_ejection_time: no ejection lasts longer (unless the base time is longer). */
export const DEFAULT_MAX_EJECTION_TIME_MS = 300_000;

/** What one attempt against an endpoint tells the detector: its HTTP status. */
export const RESULT_CONNECT_FAILURE = 503;
export const RESULT_TIMEOUT = 504;

export interface OutlierEvents {
  ejected(type: EjectionType): void;
  /** An ejection refused by maxEjectionPercent (Envoy ejections_overflow). */
  overflow(): void;
}

interface HostMonitor {
  consecutive5xx: number;
  consecutiveGateway: number;
  ejected: boolean;
  lastEjectedAt: number | undefined;
  lastUnejectedAt: number | undefined;
  /** Envoy's eject_time_backoff: this ejection lasts base × backoff. */
  backoff: number;
  numEjections: number;
  lastType: EjectionType | undefined;
}

function isGatewayError(status: number): boolean {
  return status === 502 || status === 503 || status === 504;
}

/**
 * Invariants: one monitor per endpoint of the cluster (`setHosts`), so maxEjectionPercent is over
 * all of them, healthy or not, as Envoy counts host_monitors_; `active` = monitors ejected.
 */
export class OutlierDetector {
  private readonly monitors = new Map<string, HostMonitor>();
  private active = 0;
  private timer: NodeJS.Timeout | undefined;

  private settings: OutlierDetection;

  constructor(
    readonly cluster: string,
    settings: OutlierDetection,
    private readonly events: OutlierEvents,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.settings = sane(settings);
  }

  /** Starts the interval sweep (un-ejections, backoff decay). */
  start(): void {
    this.stopTimer();
    this.timer = setInterval(() => this.sweep(), this.settings.intervalMs);
    this.timer.unref();
  }

  update(next: OutlierDetection): void {
    const settings = sane(next);
    const restart = settings.intervalMs !== this.settings.intervalMs && this.timer !== undefined;
    this.settings = settings;
    if (restart) this.start();
  }

  close(): void {
    this.destroy();
  }

  destroy(): void {
    this.stopTimer();
  }

  private stopTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /**
   * 0 or absent ⇒ 5xx ejection off. The control plane writes Envoy's default 5 when the
   * DestinationRule leaves consecutive5xxErrors unset (Istio enforces it at 100 %).
   */
  private get consecutive5xx(): number {
    return this.settings.consecutive5xxErrors ?? 0;
  }

  /** 0 or absent ⇒ gateway-error ejection off (Istio leaves enforcing_consecutive_gateway_failure at 0). */
  private get consecutiveGateway(): number {
    return this.settings.consecutiveGatewayErrors ?? 0;
  }

  /** The cluster's endpoints now: new ones get a monitor, departed ones lose theirs (and their ejection). */
  setHosts(keys: Iterable<string>): void {
    const keep = new Set(keys);
    for (const [k, m] of this.monitors) {
      if (keep.has(k)) continue;
      if (m.ejected) this.active--;
      this.monitors.delete(k);
    }
    for (const k of keep) if (!this.monitors.has(k)) this.monitors.set(k, newMonitor());
  }

  isEjected(key: string): boolean {
    return this.monitors.get(key)?.ejected ?? false;
  }

  get activeEjections(): number {
    return this.active;
  }

  /**
   * One attempt's outcome (Envoy putHttpResponseCode, local-origin errors mapped to HTTP codes as
   * when split_external_local_origin_errors is off: connect failure/reset 503, timeout 504).
   * A 5xx bumps the 5xx counter and, for 502/503/504, the gateway counter (another 5xx resets
   * it); anything else resets both. Reaching a threshold exactly triggers an ejection attempt.
   */
  report(key: string, status: number): void {
    let m = this.monitors.get(key);
    if (!m) this.monitors.set(key, (m = newMonitor()));
    if (status < 500 || status > 599) {
      m.consecutive5xx = 0;
      m.consecutiveGateway = 0;
      return;
    }
    if (isGatewayError(status)) {
      m.consecutiveGateway++;
      if (this.consecutiveGateway > 0 && m.consecutiveGateway === this.consecutiveGateway) this.onConsecutive(m, 'consecutive_gateway_failure');
    } else m.consecutiveGateway = 0;
    m.consecutive5xx++;
    if (this.consecutive5xx > 0 && m.consecutive5xx === this.consecutive5xx) this.onConsecutive(m, 'consecutive_5xx');
  }

  /** Envoy onConsecutiveErrorWorker: eject unless already ejected, then reset that counter. */
  private onConsecutive(m: HostMonitor, type: EjectionType): void {
    if (m.ejected) return;
    this.eject(m, type);
    if (type === 'consecutive_5xx') m.consecutive5xx = 0;
    else m.consecutiveGateway = 0;
  }

  /**
   * Envoy ejectHost: allowed while (active + 1) / hosts ≤ maxEjectionPercent, and always for the
   * first one (Envoy ejects at least one host whatever the percentage; a model value of 0 means
   * none — Istio never sends 0, an unset maxEjectionPercent being Envoy's 10 %).
   */
  private eject(m: HostMonitor, type: EjectionType): void {
    const max = Math.min(100, this.settings.maxEjectionPercent);
    const percent = (100 * (this.active + 1)) / Math.max(1, this.monitors.size);
    if (max <= 0 || (percent > max && this.active > 0)) {
      this.events.overflow();
      return;
    }
    m.ejected = true;
    m.lastEjectedAt = this.now();
    m.numEjections++;
    m.lastType = type;
    const base = this.settings.baseEjectionTimeMs;
    if (m.backoff * base < this.maxEjectionTimeMs + base) m.backoff++;
    this.active++;
    this.events.ejected(type);
  }

  private get maxEjectionTimeMs(): number {
    return Math.max(this.settings.baseEjectionTimeMs, DEFAULT_MAX_EJECTION_TIME_MS);
  }

  /** How long the current (or next) ejection of `m` lasts: base × backoff, capped. */
  private ejectionMs(m: HostMonitor): number {
    return Math.min(this.settings.baseEjectionTimeMs * m.backoff, this.maxEjectionTimeMs);
  }

  /**
   * Envoy's interval timer (checkHostForUneject): an ejected endpoint returns once its ejection
   * time has passed, counters reset; an endpoint healthy for a base ejection time since its last
   * return has its backoff lowered by one per sweep.
   */
  sweep(): void {
    const now = this.now();
    const base = this.settings.baseEjectionTimeMs;
    for (const m of this.monitors.values()) {
      if (!m.ejected) {
        if (m.lastUnejectedAt !== undefined && now - m.lastUnejectedAt >= base && m.backoff > 0) m.backoff--;
        continue;
      }
      if (now - (m.lastEjectedAt ?? now) >= this.ejectionMs(m)) {
        m.ejected = false;
        m.consecutive5xx = 0;
        m.consecutiveGateway = 0;
        m.lastUnejectedAt = now;
        this.active--;
      }
    }
  }

  /** Per endpoint, for /config_dump (times in ms relative to now). */
  dump(key: string): Record<string, unknown> | undefined {
    const m = this.monitors.get(key);
    if (!m) return undefined;
    const now = this.now();
    return {
      ejected: m.ejected,
      ...(m.ejected ? { ejectedForMs: Math.round(now - (m.lastEjectedAt ?? now)), ejectionTimeMs: this.ejectionMs(m), type: m.lastType } : {}),
      numEjections: m.numEjections,
      ejectTimeBackoff: m.backoff,
      consecutive5xx: m.consecutive5xx,
      consecutiveGatewayErrors: m.consecutiveGateway,
    };
  }
}

/**
 * The settings with Envoy's defaults in place of values it would refuse (the config check NACKs
 * them; this keeps a bad value from reaching a timer): interval 10 s, base ejection time 30 s,
 * max ejection percent 10.
 */
function sane(s: OutlierDetection): OutlierDetection {
  const positive = (v: number, d: number): number => (Number.isFinite(v) && v >= 1 ? v : d);
  return {
    ...s,
    intervalMs: positive(s.intervalMs, 10_000),
    baseEjectionTimeMs: positive(s.baseEjectionTimeMs, 30_000),
    maxEjectionPercent: Number.isFinite(s.maxEjectionPercent) && s.maxEjectionPercent >= 0 ? s.maxEjectionPercent : 10,
  };
}

function newMonitor(): HostMonitor {
  return { consecutive5xx: 0, consecutiveGateway: 0, ejected: false, lastEjectedAt: undefined, lastUnejectedAt: undefined, backoff: 0, numEjections: 0, lastType: undefined };
}
