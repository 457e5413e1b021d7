// `npm run bench:control`: generates the synthetic cluster, then per round runs a fresh control plane
// process per debounce setting and `ambit control --manifests` end to end, and reports against targets.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatDuration, machineInfo, Progress } from '../lib/index.js';
import { ManifestsFolder } from './manifests-folder.js';
import { parseControlBenchArgs, USAGE, type ControlBenchSettings } from './options.js';
import { manifestsRun, memoryRun, type ManifestsRun, type MemoryRun } from './phases.js';
import { formatControlTable, writeControlOutputs, type ControlBenchResult } from './report.js';
import { summarize, type RoundRecord } from './summary.js';
import { generateCluster } from './synthetic-cluster.js';

const log = (line: string): void => void process.stderr.write(`${line}\n`);

function commandLine(argv: readonly string[]): string {
  const args = argv.join(' ');
  if (process.env.npm_lifecycle_event === 'bench:control') return `npm run bench:control${args ? ` -- ${args}` : ''}`;
  return `node dist/bench/control/run.js${args ? ` ${args}` : ''}`;
}

function notes(s: ControlBenchSettings, rounds: number): string[] {
  return [
    rounds > 1 ? `Each cell: the median of ${rounds} rounds, then (min–max) across them; status compares the median with the target.` : 'Each cell: the figure of the one round (no spread).',
    `Each round runs a fresh control plane process per debounce setting (the real ControlPlane: pipeline, cache, delta ADS, CA; node --single-threaded-gc as deployed) over the cluster held in memory (objects validated as the manifests source validates them), then \`ambit control --manifests DIR\` on the same cluster written as YAML. ${s.clients} delta-ADS clients (one connection each, wildcard Address + Authorization, every response ACKed) run in the bench process. RSS is the control plane process's own (/proc).`,
    `Cold: the control plane's first translation (translate, encode, cache update) in a fresh process. Warm: the same over the whole snapshot again (JIT warm, cache full), forced by a Namespace change no resource depends on. After one change: the pipeline's time for one of the timed changes.`,
    `Changes cycle through a pod label, a pod IP, a new pod and its deletion (${s.changes} per run; p99 is the nearest rank); each is timed from the bench handing it to the control plane process until the push carrying it arrived at the last client; the next one follows ${s.gapMs} ms later.`,
  ];
}

async function main(argv: readonly string[]): Promise<number> {
  const s = parseControlBenchArgs(argv);
  if (s === null) {
    process.stdout.write(USAGE);
    return 0;
  }
  const started = new Date();
  const cluster = generateCluster(s.shape);
  log(`ambit control-plane bench: ${s.shape.pods} pods, ${s.shape.services} services, ${s.shape.namespaces} namespaces, ${s.clients} clients; ` +
    `debounce ${s.debounceMs.join(', ')} ms; ${s.rounds} round(s)${s.quick ? ' (quick)' : ''}; output ${s.outDir}`);
  log(`cluster: ${Object.entries(cluster.counts).map(([k, v]) => `${v} ${k}`).join(', ')}`);

  let folder: ManifestsFolder | undefined;
  const tmp = mkdtempSync(join(tmpdir(), 'ambit-cpbench-'));
  const onSignal = (sig: NodeJS.Signals): void => {
    log(`\n${sig}: stopping (control plane processes are ended with the bench)`);
    rmSync(tmp, { recursive: true, force: true });
    process.exit(sig === 'SIGINT' ? 130 : 143);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const memoryEstimate = (d: number): number => 15 + s.changes * (d / 1000 + 0.08);
  const manifestsEstimate = 30 + s.manifestsChanges * 1.5;
  const perRound = s.debounceMs.reduce((a, d) => a + memoryEstimate(d), 0) + (s.manifestsChanges > 0 ? manifestsEstimate : 0);
  const progress = new Progress(perRound * s.rounds, s.rounds * (s.debounceMs.length + (s.manifestsChanges > 0 ? 1 : 0)));
  const rounds: RoundRecord[] = [];
  try {
    for (let round = 1; round <= s.rounds; round++) {
      const memory: MemoryRun[] = [];
      const errors: string[] = [];
      for (const [i, d] of s.debounceMs.entries()) {
        progress.step(`round ${round}/${s.rounds} · in-memory cluster · debounce ${d} ms${i === 0 ? ' · cold + warm translation' : ''}`, memoryEstimate(d));
        try {
          const m = await memoryRun(s, cluster, d, i === 0, (line) => progress.note(line));
          const all = m.changes.map((c) => c.allMs).sort((a, b) => a - b);
          progress.note(`${m.changes.length} changes → all clients: median ${all[all.length >> 1]?.toFixed(1)} ms, max ${all.at(-1)?.toFixed(1)} ms`);
          memory.push(m);
        } catch (err) {
          errors.push(`debounce ${d} ms: ${(err as Error).message}`);
          progress.note(`FAILED: ${(err as Error).message}`);
        }
      }
      let manifests: ManifestsRun | undefined;
      if (s.manifestsChanges > 0) {
        progress.step(`round ${round}/${s.rounds} · ambit control --manifests (end to end)`, manifestsEstimate);
        try {
          if (folder === undefined) folder = new ManifestsFolder(join(tmp, 'manifests'), cluster);
          folder.reset();
          manifests = await manifestsRun(s, cluster, folder, s.debounceMs[0]!, (line) => progress.note(line));
          const all = manifests.changes.map((c) => c.allMs).sort((a, b) => a - b);
          progress.note(`${manifests.changes.length} file changes → all clients: median ${all[all.length >> 1]?.toFixed(0)} ms, max ${all.at(-1)?.toFixed(0)} ms`);
        } catch (err) {
          errors.push(`manifests: ${(err as Error).message}`);
          progress.note(`FAILED: ${(err as Error).message}`);
        }
      }
      rounds.push({ round, memory, manifests, errors });
    }
    progress.finish('measurements done');
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }

  const measurements = summarize(s, rounds);
  const durationS = (Date.now() - started.getTime()) / 1000;
  const firstMemory = rounds.find((r) => r.memory.length > 0)?.memory[0];
  const result: ControlBenchResult = {
    version: 1,
    kind: 'control-plane',
    date: started.toISOString(),
    command: commandLine(argv),
    machine: machineInfo(),
    settings: s,
    cluster: { counts: cluster.counts, resources: firstMemory?.resources ?? null, manifestsBytes: folder?.totalBytes },
    measurements,
    notes: notes(s, s.rounds),
    raw: { durationS, rounds },
  };
  const files = writeControlOutputs(s.outDir, result, s.clients, s.debounceMs);
  const m = result.machine;
  process.stdout.write(
    `\nAmbit control plane at scale, ${result.date} (${m.cores} cores, ${m.cpuModel}, Node ${m.node}): ` +
      `${s.shape.pods} pods, ${s.shape.services} services, ${s.clients} clients; ${s.rounds} round(s)\n\n` +
      formatControlTable(measurements, result.notes) +
      `\ntotal ${formatDuration(durationS)}; results: ${files.json} (copy ${files.datedJson}), chart: ${files.svg}\n`,
  );
  const failed = rounds.flatMap((r) => r.errors.map((e) => `round ${r.round}: ${e}`));
  if (failed.length > 0) {
    log(`${failed.length} run(s) failed:`);
    for (const f of failed) log(`  ${f}`);
    return 1;
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    log(`bench:control: ${(e as Error).message ?? String(e)}`);
    process.exit(e !== null && typeof e === 'object' && (e as { code?: string }).code === 'CONFIG_INVALID' ? 2 : 1);
  },
);
