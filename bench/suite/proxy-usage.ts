// CPU seconds and peak RSS of a path's proxy processes over one measurement: one ProcessSampler per
// pid (peak from the kernel's VmHWM, reset at the start), reported with each proxy's role.

import { ProcessSampler, type ProcessUsage } from '../lib/index.js';
import type { ProxyProcess } from '../paths/index.js';

export interface ProxyUsage extends ProcessUsage {
  readonly role: string;
  readonly label: string;
}

/** Runs `work` while sampling every proxy; the samplers stop as soon as the work ends. */
export async function sampleProxies<T>(
  proxies: readonly ProxyProcess[],
  work: () => Promise<T>,
  intervalMs = 100,
): Promise<{ result: T; usage: ProxyUsage[] }> {
  const samplers = proxies.map((p) => ({ p, s: new ProcessSampler(p.pid, intervalMs) }));
  for (const { s } of samplers) s.start();
  let result: T;
  try {
    result = await work();
  } catch (e) {
    for (const { s } of samplers) {
      try {
        s.stop();
      } catch {
        // the process is gone: the work's error is the one to report
      }
    }
    throw e;
  }
  const usage = samplers.map(({ p, s }) => ({ role: p.role, label: p.label, ...s.stop() }));
  return { result, usage };
}
