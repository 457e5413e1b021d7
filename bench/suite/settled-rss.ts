// Each proxy's RSS right after the iperf3 steps and again SETTLE_MS later: what a node keeps after a
// burst (the peak-RSS rows of the latency steps that follow start from it), not the burst's peak.

import { readMemory } from '../lib/index.js';
import type { ProxyProcess } from '../paths/index.js';

/**
 * How long after the burst the RSS is read again, ms: longer than two of the agent's default
 * heap-trim check periods (AMBIT_HEAP_TRIM_INTERVAL, 2 s) plus a trim: the check whose interval
 * holds the burst's end is not quiet, the next one trims.
 */
export const SETTLE_MS = 8_000;

export interface SettledProxyRss {
  readonly role: string;
  readonly label: string;
  /** RSS when the last iperf3 step ended, bytes. */
  readonly rssEndBytes: number;
  /** RSS settleS later, no traffic in between, bytes. */
  readonly rssSettledBytes: number;
}

export interface SettledRss {
  readonly settleS: number;
  readonly proxies: readonly SettledProxyRss[];
}

/** Reads every proxy's RSS now and after `settleMs`; undefined for a path without proxies. */
export async function settledRss(proxies: readonly ProxyProcess[], settleMs = SETTLE_MS): Promise<SettledRss | undefined> {
  if (proxies.length === 0) return undefined;
  const end = proxies.map((p) => readMemory(p.pid).rssBytes);
  await new Promise((r) => setTimeout(r, settleMs));
  return {
    settleS: settleMs / 1000,
    proxies: proxies.map((p, i) => ({ role: p.role, label: p.label, rssEndBytes: end[i]!, rssSettledBytes: readMemory(p.pid).rssBytes })),
  };
}
