// Memory per idle connection: hold N connections through the path (each answered once, then idle)
// and divide the growth of the proxies' RSS by N. Paths without proxies have nothing to measure.

import { holdIdleConnectionsIn, readMemory, type IdleSummary } from '../lib/index.js';
import { MeshError } from '../../src/common/errors.js';
import type { BenchPath } from '../paths/index.js';

export interface IdleSettings {
  readonly count: number;
  /**
   * Before each RSS reading (baseline and held): wait at least settleMs, then until the proxies'
   * total RSS stays within STABLE_BYTES for a whole STABLE_WINDOW_MS, at most maxSettleMs. A
   * garbage-collected proxy shrinks and grows after load; reading it mid-change is pure noise.
   */
  readonly settleMs: number;
  readonly maxSettleMs: number;
}

export interface IdleProxyMemory {
  readonly role: string;
  readonly label: string;
  readonly pid: number;
  readonly rssBeforeBytes: number;
  readonly rssHeldBytes: number;
  /** (held − before) / open connections / 1024. */
  readonly kbPerConnection: number;
}

export interface IdleRecord {
  readonly settings: IdleSettings;
  readonly held: IdleSummary;
  readonly proxies: readonly IdleProxyMemory[];
  /** Sum over the path's proxies: the table's figure, KB per idle connection. */
  readonly kbPerConnection: number;
  /** Whether each RSS reading settled, and after how long (ms). */
  readonly settle: { readonly baseline: { settled: boolean; waitedMs: number }; readonly held: { settled: boolean; waitedMs: number } };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const POLL_MS = 200;
const STABLE_WINDOW_MS = 1000;
/** Stable: total RSS moved less than this over the window (bytes). */
const STABLE_BYTES = 512 * 1024;

/** RSS of each pid once their total has settled (see IdleSettings); also whether it did settle. */
async function settledRss(pids: readonly number[], s: IdleSettings): Promise<{ rss: number[]; settled: boolean; waitedMs: number }> {
  const t0 = Date.now();
  await sleep(s.settleMs);
  const window: number[] = [];
  const need = Math.ceil(STABLE_WINDOW_MS / POLL_MS) + 1;
  for (;;) {
    const rss = pids.map((pid) => readMemory(pid).rssBytes);
    window.push(rss.reduce((a, b) => a + b, 0));
    if (window.length > need) window.shift();
    const settled = window.length === need && Math.max(...window) - Math.min(...window) < STABLE_BYTES;
    if (settled || Date.now() - t0 >= s.maxSettleMs) return { rss, settled, waitedMs: Date.now() - t0 };
    await sleep(POLL_MS);
  }
}

export async function measureIdleMemory(path: BenchPath, s: IdleSettings): Promise<IdleRecord> {
  const t = path.target();
  const proxies = path.proxies();
  const pids = proxies.map((p) => p.pid);
  // The baseline settles the same way as the held reading, so the previous measurement's garbage
  // is not counted as a negative cost of the connections.
  const baseline = await settledRss(pids, s);
  const before = baseline.rss;
  const { held, sample: heldRss } = await holdIdleConnectionsIn(
    t.client,
    { host: t.host, port: t.httpPort, path: '/idle', count: s.count, timeoutMs: 15_000 },
    () => settledRss(pids, s),
  );
  const sample = heldRss.rss;
  if (held.open === 0) throw new MeshError('BENCH_TOOL', `no idle connection could be opened: ${JSON.stringify(held.errorKinds)}`);
  const per = proxies.map((p, i) => ({
    role: p.role,
    label: p.label,
    pid: p.pid,
    rssBeforeBytes: before[i]!,
    rssHeldBytes: sample[i]!,
    kbPerConnection: (sample[i]! - before[i]!) / held.open / 1024,
  }));
  return {
    settings: s,
    held,
    proxies: per,
    kbPerConnection: per.reduce((a, p) => a + p.kbPerConnection, 0),
    settle: { baseline: { settled: baseline.settled, waitedMs: baseline.waitedMs }, held: { settled: heldRss.settled, waitedMs: heldRss.waitedMs } },
  };
}
