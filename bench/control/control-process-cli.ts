// The control plane under test, as its own process (forked by the bench, so its RSS is its own): the
// real ControlPlane (pipeline, cache, ADS server, CA) over the synthetic cluster held in memory.
//
// IPC protocol (process.send): init → ready{xdsPort, cold, ...}; warm{count} → warmed{runs};
// change{seq, change} → applied{seq, pipeline}; heap → heap{usage}; stop → exits. Errors → failed{message}.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ControlPlane } from '../../src/bin/control-plane.js';
import { createLogger } from '../../src/common/log.js';
import { loadControlConfig } from '../../src/config/index.js';
import { validateObject, type KubeObject, type ObjectChange } from '../../src/k8s/index.js';
import { MemorySource } from './memory-source.js';
import { generateCluster, ROOT_NAMESPACE, type ClusterShape } from './synthetic-cluster.js';

export const CONTROL_PROCESS_CLI = new URL('./control-process-cli.js', import.meta.url).pathname;

export type ToControl =
  | { readonly type: 'init'; readonly shape: ClusterShape; readonly debounceMs: number; readonly logLevel: string }
  | { readonly type: 'warm'; readonly count: number }
  | { readonly type: 'change'; readonly seq: number; readonly change: ObjectChange }
  | { readonly type: 'heap' }
  | { readonly type: 'stop' };

export interface PipelineFigures {
  /** ms of the pipeline's last run (translate + encode + cache update). */
  readonly totalMs: number;
  /** Its phases, when the pipeline reports them. */
  readonly phasesMs: Readonly<Record<string, number>> | undefined;
}

export type FromControl =
  | {
      readonly type: 'ready';
      readonly xdsPort: number;
      /** init → listening, ms (objects generated and validated, stored, first translation, listeners). */
      readonly startMs: number;
      /** The first (JIT-cold, cache-empty) translation of the whole snapshot. */
      readonly cold: PipelineFigures;
      readonly objects: number;
      readonly resources: { readonly workloads: number; readonly services: number; readonly policies: number };
      readonly encodedBytes: { readonly address: number; readonly authorization: number };
    }
  | { readonly type: 'warmed'; readonly runs: readonly PipelineFigures[] }
  | { readonly type: 'applied'; readonly seq: number; readonly pipeline: PipelineFigures; readonly changedKinds: readonly string[] }
  | { readonly type: 'heap'; readonly usage: NodeJS.MemoryUsage }
  | { readonly type: 'failed'; readonly message: string };

function send(m: FromControl): void {
  process.send!(m);
}

let plane: ControlPlane | undefined;
let source: MemorySource | undefined;
let stateDir: string | undefined;

function figures(p: ControlPlane): PipelineFigures {
  const s = p.pipeline.state() as { translationMs?: number; phasesMs?: Record<string, number> };
  return { totalMs: s.translationMs ?? NaN, phasesMs: s.phasesMs };
}

async function init(shape: ClusterShape, debounceMs: number, logLevel: string): Promise<void> {
  const t0 = performance.now();
  // The objects as a source would hold them: parsed from JSON (as a list or watch delivers them,
  // flat strings, nothing shared between objects), each validated as the manifests source does.
  const objects: KubeObject[] = [];
  for (const o of JSON.parse(JSON.stringify(generateCluster(shape).objects)) as KubeObject[]) {
    const v = validateObject(o);
    if (!v.ok) throw new Error(`synthetic ${o.kind} ${o.metadata.namespace}/${o.metadata.name} is invalid: ${JSON.stringify(v.problems)}`);
    objects.push(v.object);
  }
  stateDir = mkdtempSync(join(tmpdir(), 'ambit-cpbench-ca-'));
  const config = loadControlConfig([], {
    AMBIT_MANIFESTS: '/nonexistent', // not read: the memory source replaces it
    AMBIT_BIND_ADDRESS: '127.0.0.1',
    AMBIT_PORT_XDS: '0',
    AMBIT_PORT_XDS_TLS: '0',
    AMBIT_PORT_MONITORING: '0',
    AMBIT_STATE_DIR: stateDir,
    AMBIT_ROOT_NAMESPACE: ROOT_NAMESPACE,
    PILOT_DEBOUNCE_AFTER: `${debounceMs}ms`,
    AMBIT_LOG_LEVEL: logLevel,
  });
  source = new MemorySource(objects, createLogger({ level: 'warn' }));
  plane = new ControlPlane({ config, source, logDestination: process.stderr });
  await plane.start();
  const translation = plane.pipeline.state().translation!;
  const bytes = (typeUrl: string): number => {
    let n = 0;
    for (const e of plane!.cache.view(typeUrl).values()) n += e.encoded.length;
    return n;
  };
  send({
    type: 'ready',
    xdsPort: plane.addresses().xds!,
    startMs: performance.now() - t0,
    cold: figures(plane),
    objects: objects.length,
    resources: { workloads: translation.workloads.length, services: translation.services.length, policies: translation.policies.length },
    encodedBytes: {
      address: bytes('type.googleapis.com/istio.workload.Address'),
      authorization: bytes('type.googleapis.com/istio.security.Authorization'),
    },
  });
}

/**
 * Full re-translations with a warm JIT and a full cache: an annotation on the root namespace that
 * no resource depends on, toggled (a Namespace change, so nothing of the last translation is reused).
 */
function warm(count: number): void {
  const runs: PipelineFigures[] = [];
  for (let i = 0; i < count; i++) {
    const ns = source!.snapshot().get('Namespace', undefined, ROOT_NAMESPACE)!;
    source!.apply([{ type: 'upsert', object: { ...ns, metadata: { ...ns.metadata, annotations: { 'bench.ambit.dev/touch': String(Date.now() + i) } } } }]);
    runs.push(figures(plane!));
  }
  send({ type: 'warmed', runs });
}

function change(seq: number, c: ObjectChange): void {
  const changed = source!.apply([c]);
  send({ type: 'applied', seq, pipeline: figures(plane!), changedKinds: [...changed] });
}

async function stop(): Promise<void> {
  await plane?.close();
  if (stateDir !== undefined) rmSync(stateDir, { recursive: true, force: true });
  process.exit(0);
}

process.on('message', (m: ToControl) => {
  const run = async (): Promise<void> => {
    if (m.type === 'init') await init(m.shape, m.debounceMs, m.logLevel);
    else if (m.type === 'warm') warm(m.count);
    else if (m.type === 'change') change(m.seq, m.change);
    else if (m.type === 'heap') {
      // With --expose-gc (a diagnosis run), what is retained rather than what awaits collection.
      (globalThis as { gc?: () => void }).gc?.();
      send({ type: 'heap', usage: process.memoryUsage() });
    }
    else if (m.type === 'stop') await stop();
  };
  run().catch((err: unknown) => send({ type: 'failed', message: (err as Error).stack ?? String(err) }));
});
// The parent going away ends this process too.
process.on('disconnect', () => {
  plane?.destroy();
  if (stateDir !== undefined) rmSync(stateDir, { recursive: true, force: true });
  process.exit(0);
});
