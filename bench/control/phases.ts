// One round's runs against one control plane process each: the in-memory cluster at one debounce
// setting (translation, full sync, changes, memory), and `ambit control --manifests` end to end.

import { setTimeout as sleep } from 'node:timers/promises';
import { resetPeakRss } from '../lib/index.js';
import { AmbitControlProcess, type AmbitControlStart } from './ambit-control-process.js';
import { ClientFleet, type FleetSync } from './client-fleet.js';
import { ChangeGenerator, type ChangeKind, type ClusterChange } from './cluster-changes.js';
import type { PipelineFigures } from './control-process-cli.js';
import { ControlProcess } from './control-process.js';
import type { ManifestsFolder } from './manifests-folder.js';
import type { ControlBenchSettings } from './options.js';
import type { SyntheticCluster } from './synthetic-cluster.js';

/** istiod's CLUSTER_ID default, which the control plane runs with here. */
const CLUSTER_ID = 'Kubernetes';

export interface ChangeSample {
  readonly seq: number;
  readonly kind: ChangeKind;
  /** Change handed over → the push carrying it arrived at the last client, ms. */
  readonly allMs: number;
  /** … at the first client, ms. */
  readonly firstMs: number;
  /** The control plane's own time for the translation the change caused, ms. */
  readonly pipelineMs: number;
  readonly phasesMs?: Readonly<Record<string, number>>;
}

/** Memory figures of the control plane process, bytes. */
export interface ProcessMemory {
  /** RSS once serving, before any client. */
  readonly rssStarted: number;
  /** Peak RSS from exec until serving (VmHWM). */
  readonly peakStartup: number;
  /** RSS with every client connected and synced. */
  readonly rssSynced: number;
  /** Peak RSS from serving on: full sync of every client, then the changes. */
  readonly peakServing: number;
  /** Whether peakServing is exact (the kernel's high-water mark reset when serving began). */
  readonly peakServingExact: boolean;
  readonly rssEnd: number;
}

export interface MemoryRun {
  readonly debounceMs: number;
  readonly startMs: number;
  readonly cold: PipelineFigures;
  readonly warm: readonly PipelineFigures[];
  readonly resources: { readonly workloads: number; readonly services: number; readonly policies: number };
  readonly encodedBytes: { readonly address: number; readonly authorization: number };
  readonly sync: FleetSync;
  readonly changes: readonly ChangeSample[];
  readonly memory: ProcessMemory;
  /** process.memoryUsage() of the control plane: serving, clients synced, after the changes. */
  readonly heap: { readonly started: NodeJS.MemoryUsage; readonly synced: NodeJS.MemoryUsage; readonly end: NodeJS.MemoryUsage };
  /** CPU seconds of the control plane process during the full sync and during the changes. */
  readonly cpuSeconds: { readonly sync: number; readonly changes: number };
}

export interface ManifestsRun {
  readonly debounceMs: number;
  readonly start: AmbitControlStart;
  readonly sync: FleetSync;
  readonly changes: readonly ChangeSample[];
  readonly memory: ProcessMemory;
}

type Note = (line: string) => void;

/** Times `count` changes one at a time: each must reach every client before the next is made. */
async function timeChanges(
  gen: ChangeGenerator,
  fleet: ClientFleet,
  count: number,
  gapMs: number,
  timeoutMs: number,
  /** Makes the change; returns how to read the control plane's figures for it once it arrived. */
  apply: (c: ClusterChange) => () => Promise<PipelineFigures | undefined>,
): Promise<ChangeSample[]> {
  const out: ChangeSample[] = [];
  for (let i = 0; i < count; i++) {
    const c = gen.next();
    const arrival = fleet.expect(c.resource, c.removal, timeoutMs);
    const t0 = performance.now();
    const figures = apply(c);
    const a = await arrival;
    const p = await figures();
    out.push({ seq: c.seq, kind: c.kind, allMs: a.lastAt - t0, firstMs: a.firstAt - t0, pipelineMs: p?.totalMs ?? NaN, ...(p?.phasesMs ? { phasesMs: p.phasesMs } : {}) });
    await sleep(gapMs);
  }
  return out;
}

function memoryNow(pid: number, read: () => { rssBytes: number; peakRssBytes: number }): { rss: number; peak: number; reset: boolean } {
  const m = read();
  return { rss: m.rssBytes, peak: m.peakRssBytes, reset: resetPeakRss(pid) };
}

/** The in-memory cluster at one debounce setting, in a fresh control plane process. */
export async function memoryRun(s: ControlBenchSettings, cluster: SyntheticCluster, debounceMs: number, warm: boolean, note: Note): Promise<MemoryRun> {
  const { proc, ready } = await ControlProcess.start(s.shape, debounceMs, s.controlFlags);
  let fleet: ClientFleet | undefined;
  try {
    note(`control plane pid ${proc.pid} serving after ${ready.startMs.toFixed(0)} ms; cold translation ${ready.cold.totalMs.toFixed(0)} ms`);
    const warmRuns = warm ? await proc.warm(s.warmRuns) : [];
    if (warm) note(`warm translations: ${warmRuns.map((r) => r.totalMs.toFixed(0)).join(', ')} ms`);
    const heapStarted = await proc.heap();
    const started = memoryNow(proc.pid, () => proc.memory());
    const cpu0 = proc.cpuSeconds();
    const connected = await ClientFleet.connect(`127.0.0.1:${ready.xdsPort}`, s.clients, 600_000);
    fleet = connected.fleet;
    const synced = proc.memory();
    const cpu1 = proc.cpuSeconds();
    const heapSynced = await proc.heap();
    const mb = (n: number): string => (n / 2 ** 20).toFixed(0);
    note(`heap used ${mb(heapSynced.heapUsed)} MB of ${mb(heapSynced.heapTotal)} MB, external ${mb(heapSynced.external)} MB (array buffers ${mb(heapSynced.arrayBuffers)} MB)`);
    note(`${s.clients} clients synced in ${connected.sync.allMs.toFixed(0)} ms; RSS ${(synced.rssBytes / 2 ** 20).toFixed(0)} MB`);
    const gen = new ChangeGenerator(cluster, CLUSTER_ID);
    const changes = await timeChanges(gen, fleet, s.changes, s.gapMs, 30_000, (c) => {
      const applied = proc.change(c.seq, c.change);
      return async () => (await applied).pipeline;
    });
    const end = proc.memory();
    const cpu2 = proc.cpuSeconds();
    const heapEnd = await proc.heap();
    return {
      debounceMs,
      startMs: ready.startMs,
      cold: ready.cold,
      warm: warmRuns,
      resources: ready.resources,
      encodedBytes: ready.encodedBytes,
      sync: connected.sync,
      changes,
      memory: { rssStarted: started.rss, peakStartup: started.peak, rssSynced: synced.rssBytes, peakServing: end.peakRssBytes, peakServingExact: started.reset, rssEnd: end.rssBytes },
      heap: { started: heapStarted, synced: heapSynced, end: heapEnd },
      cpuSeconds: { sync: cpu1 - cpu0, changes: cpu2 - cpu1 },
    };
  } finally {
    fleet?.close();
    await proc.stop();
  }
}

/** `ambit control --manifests DIR` on the folder: start-up, full sync, changes as file rewrites. */
export async function manifestsRun(s: ControlBenchSettings, cluster: SyntheticCluster, folder: ManifestsFolder, debounceMs: number, note: Note): Promise<ManifestsRun> {
  const { proc, start } = await AmbitControlProcess.start(folder.dir, debounceMs);
  let fleet: ClientFleet | undefined;
  try {
    note(`ambit control pid ${proc.pid} serving after ${start.readyMs.toFixed(0)} ms; first translation ${start.firstTranslationMs.toFixed(0)} ms`);
    const started = memoryNow(proc.pid, () => proc.memory());
    const connected = await ClientFleet.connect(`127.0.0.1:${start.xdsPort}`, s.clients, 600_000);
    fleet = connected.fleet;
    const synced = proc.memory();
    note(`${s.clients} clients synced in ${connected.sync.allMs.toFixed(0)} ms; RSS ${(synced.rssBytes / 2 ** 20).toFixed(0)} MB`);
    // Changes continue from where the folder is: a generator of its own, on the folder's objects.
    const gen = new ChangeGenerator(cluster, CLUSTER_ID);
    const changes = await timeChanges(gen, fleet, s.manifestsChanges, s.gapMs, 120_000, (c) => {
      const before = proc.translations.length;
      folder.apply(c);
      return async () => {
        // The translation's log line is written before its push goes out; give the pipe a moment.
        await sleep(20);
        const t = proc.translations.slice(before).at(-1);
        return t === undefined ? undefined : { totalMs: t.ms, phasesMs: t.phasesMs };
      };
    });
    const end = proc.memory();
    return {
      debounceMs,
      start,
      sync: connected.sync,
      changes,
      memory: { rssStarted: started.rss, peakStartup: started.peak, rssSynced: synced.rssBytes, peakServing: end.peakRssBytes, peakServingExact: started.reset, rssEnd: end.rssBytes },
    };
  } finally {
    fleet?.close();
    await proc.stop();
  }
}
