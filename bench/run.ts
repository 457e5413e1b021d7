// `npm run bench`: builds the two-node pod topology, sets up every path (direct, Ambit L4, stunnel,
// node-relay, nginx, waypoint), runs each measurement on each path in turn for N rounds (order rotated), then reports.

import { MeshError } from '../src/common/errors.js';
import { requireRoot } from '../test/helpers/netns-topology.js';
import { formatDuration, machineInfo, Progress, type BenchResultFile } from './lib/index.js';
import { parseBenchArgs, USAGE, type BenchSettings } from './options.js';
import { assertAgentAcceptsWorkers, benchPaths, createBenchEnv, podsOf, type BenchEnv, type BenchPath } from './paths/index.js';
import { benchSteps, describeOutcome, type BenchStep } from './suite/steps.js';
import { Summary, type RunRecord } from './summary.js';
import { writeOutputs } from './output.js';
import { connRateNote, pathConfig, reportNotes, rpsNotes } from './report-notes.js';
import { checkL7Targets } from './l7-targets.js';
import { reportText } from './report-text.js';

const log = (line: string): void => void process.stderr.write(`${line}\n`);

/** Round r visits the paths starting at index r: every path takes every position over the rounds. */
function rotated<T>(items: readonly T[], round: number): T[] {
  const k = round % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}

function selectPaths(settings: BenchSettings): BenchPath[] {
  const all = benchPaths({ ambitWorkers: settings.ambitWorkers });
  if (settings.paths === null) return all;
  const unknown = settings.paths.filter((n) => !all.some((p) => p.name === n));
  if (unknown.length > 0) throw new MeshError('CONFIG_INVALID', `unknown path(s) ${unknown.join(', ')}; known: ${all.map((p) => p.name).join(', ')}`);
  return all.filter((p) => settings.paths!.includes(p.name));
}

/** While the signal handler tears down and exits, the main flow must not exit first. */
function untilSignalExit(): Promise<number> {
  return new Promise(() => undefined);
}

function commandLine(argv: readonly string[]): string {
  const args = argv.join(' ');
  if (process.env.npm_lifecycle_event === 'bench') return `npm run bench${args ? ` -- ${args}` : ''}`;
  return `node dist/bench/run.js${args ? ` ${args}` : ''}`;
}

/**
 * The measurement loop: each round runs every step on every path in turn (path order rotated per
 * round); steps that need fresh proxies follow in a phase of their own, each preceded by a new
 * setup of its path. Every failure of one run is recorded and the loop goes on.
 */
async function measure(
  settings: BenchSettings,
  env: BenchEnv,
  paths: readonly BenchPath[],
  steps: readonly BenchStep[],
  isInterrupted: () => boolean,
): Promise<RunRecord[]> {
  const plan: Array<{ round: number; order: number; path: BenchPath; step: BenchStep }> = [];
  const runs: RunRecord[] = [];
  for (const fresh of [false, true]) {
    for (let round = 0; round < settings.rounds; round++) {
      for (const step of steps.filter((s) => (s.freshPath ?? false) === fresh)) {
        rotated(paths, round).forEach((path, order) => {
          if (!step.appliesTo(path)) return;
          // Recorded, not run: the table then says `n/a: <why>` in the path's cell.
          const skipped = step.notApplicable?.(path);
          if (skipped === undefined) plan.push({ round, order, path, step });
          else runs.push({ round: round + 1, order, path: path.name, step: step.id, startedAt: new Date().toISOString(), seconds: 0, skipped });
        });
      }
    }
  }
  for (const r of runs.filter((x) => x.round === 1)) log(`${r.path} · ${r.step}: n/a (${r.skipped}), not measured`);
  const progress = new Progress(
    plan.reduce((a, p) => a + p.step.estimateS, 0),
    plan.length,
  );
  for (const { round, order, path, step } of plan) {
    if (isInterrupted()) break;
    progress.step(`round ${round + 1}/${settings.rounds} · ${path.name} · ${step.label}${step.freshPath ? ' (fresh proxies)' : ''}`, step.estimateS);
    const t0 = Date.now();
    const base = { round: round + 1, order, path: path.name, step: step.id, startedAt: new Date(t0).toISOString() };
    try {
      if (step.freshPath) {
        await path.teardown();
        await path.setup(env);
      }
      const outcome = await step.run(path);
      runs.push({ ...base, seconds: (Date.now() - t0) / 1000, outcome });
      progress.note(describeOutcome(outcome));
    } catch (e) {
      if (isInterrupted()) break;
      const error = (e as Error).message;
      runs.push({ ...base, seconds: (Date.now() - t0) / 1000, error });
      progress.note(`FAILED: ${error}`);
    }
  }
  if (!isInterrupted()) progress.finish('measurements done');
  return runs;
}

async function main(argv: readonly string[]): Promise<number> {
  const settings = parseBenchArgs(argv);
  if (settings === null) {
    process.stdout.write(USAGE);
    return 0;
  }
  // Before root and setup: a flag the agent does not take is a usage error, not a failed run.
  if (settings.ambitWorkers !== null) await assertAgentAcceptsWorkers(settings.ambitWorkers);
  requireRoot('npm run bench');
  const started = new Date();
  const paths = selectPaths(settings);
  const steps = benchSteps(settings);
  let env: BenchEnv | null = null;
  let interrupted = false;
  /** Paths whose setup() began: teardown() is idempotent and safe on a half-made path. */
  const begun: BenchPath[] = [];

  const teardown = async (): Promise<void> => {
    for (const p of begun.splice(0).reverse()) await p.teardown();
    await env?.destroy();
  };
  // Ctrl-C: tear everything down (agents, stunnel, apps, namespaces) and exit 130; a second
  // Ctrl-C skips the graceful part (the topology's and the registry's exit hooks still SIGKILL).
  const onSignal = (sig: NodeJS.Signals): void => {
    if (interrupted) {
      log(`${sig} again: exiting now`);
      process.exit(sig === 'SIGINT' ? 130 : 143);
    }
    interrupted = true;
    log(`\n${sig}: stopping the agents and stunnel, removing the namespaces...`);
    const force = setTimeout(() => process.exit(sig === 'SIGINT' ? 130 : 143), 15_000);
    force.unref();
    void teardown().finally(() => process.exit(sig === 'SIGINT' ? 130 : 143));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  log(
    `ambit bench: ${paths.map((p) => p.name).join(', ')}; suites ${settings.suites.join(', ')}; ` +
      `${settings.rounds} round(s)${settings.quick ? ' (quick)' : ''}; output ${settings.outDir}`,
  );
  let runs: RunRecord[];
  let setupInfo: Record<string, unknown>;
  try {
    const t0 = Date.now();
    env = await createBenchEnv(podsOf(paths));
    log(`topology ${env.topology.id}: pods ${[...env.topology.pods.values()].map((p) => `${p.name}=${p.ip}`).join(' ')}`);
    for (const p of paths) {
      if (interrupted) return untilSignalExit();
      log(`setting up ${p.name}: ${p.description}`);
      begun.push(p);
      await p.setup(env);
      const proxies = p.proxies();
      if (proxies.length > 0) log(`  proxies: ${proxies.map((x) => `${x.label} (pid ${x.pid})`).join(', ')}`);
    }
    log(`setup done in ${formatDuration((Date.now() - t0) / 1000)}`);
    const topologyId = env.topology.id;
    const pods = Object.fromEntries([...env.topology.pods.values()].map((p) => [p.name, p.ip]));
    const proxies = Object.fromEntries(paths.map((p) => [p.name, p.proxies()]));
    runs = await measure(settings, env, paths, steps, () => interrupted);
    if (interrupted) return untilSignalExit();
    // Recorded after teardown: the smoke test checks that none of these processes survived.
    await teardown();
    setupInfo = { topologyId, workDir: env.workDir, pods, proxies, processes: env.processes.history() };
  } catch (e) {
    if (interrupted) return untilSignalExit();
    log(`bench failed: ${(e as Error).message}`);
    await teardown();
    return 1;
  }

  const summary = new Summary(paths.map((p) => p.name), settings.rates, runs, { connrate: connRateNote(paths) });
  const measurements = summary.measurements();
  const notes = reportNotes(paths, settings.rounds);
  const l7Targets = checkL7Targets(measurements, paths.map((p) => p.name));
  const durationS = (Date.now() - started.getTime()) / 1000;
  const result: BenchResultFile = {
    version: 1,
    date: started.toISOString(),
    command: commandLine(argv),
    machine: machineInfo(),
    paths: paths.map((p) => p.name),
    pathConfig: pathConfig(paths),
    measurements,
    notes,
    l7Targets,
    raw: {
      settings,
      durationS,
      descriptions: Object.fromEntries(paths.map((p) => [p.name, p.description])),
      setup: setupInfo,
      runs,
    },
  };
  const files = writeOutputs(settings.outDir, result, summary);
  const m = result.machine;
  process.stdout.write(
    `\nAmbit benchmark, ${result.date} (${m.cores} cores, ${m.cpuModel}, kernel ${m.kernel}, Node ${m.node}); ` +
      `medians of ${settings.rounds} round(s)${settings.rounds > 1 ? ' (min–max across rounds)' : ''}\n\n` +
      reportText({ paths: result.paths, measurements, notes, rpsNotes: rpsNotes(settings), targets: l7Targets }) +
      `\ntotal ${formatDuration(durationS)}; results: ${files.json} (copy ${files.datedJson}), chart: ${files.svg}\n`,
  );
  const failed = runs.filter((r) => r.error !== undefined);
  if (failed.length > 0) {
    log(`${failed.length} run(s) failed:`);
    for (const r of failed) log(`  round ${r.round} ${r.path} ${r.step}: ${r.error}`);
    return 1;
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    log(`bench: ${(e as Error).message ?? String(e)}`);
    process.exit(e !== null && typeof e === 'object' && (e as { code?: string }).code === 'CONFIG_INVALID' ? 2 : 1);
  },
);
