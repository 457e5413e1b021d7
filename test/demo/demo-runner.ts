// What both demos do around their steps: check the machine first (root, tools, the native addon,
// each missing piece with what to do), then run with a narrator, and clean up on success, failure or Ctrl-C.

import { spawnSync } from 'node:child_process';
import { loadNativeSockets } from '../../src/sockets/index.js';
import { Narrator, bold } from './narration.js';

export interface DemoPrerequisites {
  /** Why the demo needs root and what to run instead (shown when not root). */
  readonly rootReason: string;
  /** Commands that must be on PATH. */
  readonly tools: readonly string[];
  /** The Debian packages that provide them, for the hint. */
  readonly aptPackages: string;
}

/** Every reason the demo cannot run here, each with what to do about it. */
export function missingPrerequisites(p: DemoPrerequisites): string[] {
  const missing: string[] = [];
  if (typeof process.getuid === 'function' && process.getuid() !== 0) missing.push(p.rootReason);
  for (const tool of p.tools) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) {
      missing.push(`${tool}: not installed (Debian: apt-get install ${p.aptPackages})`);
    }
  }
  const native = loadNativeSockets();
  if (!native.ok) missing.push(`native socket addon: ${native.reason}`);
  return missing;
}

export interface DemoSpec {
  /** How users start it, e.g. `npm run demo`. */
  readonly command: string;
  /** What failures are called, e.g. `demo`. */
  readonly name: string;
  readonly prerequisites: DemoPrerequisites;
  /** Numbered steps the narrator announces. */
  readonly steps: number;
  run(n: Narrator): Promise<void>;
  /** Stops whatever `run` started so far (processes, namespaces, files); safe at any point. */
  close(): Promise<void>;
  /** The last line on success, after `<title> in <elapsed>`. */
  readonly doneTitle: string;
  readonly doneDetail: string;
}

/** Runs a demo; the exit code: 0 done, 1 missing prerequisites or a failed step; 130 after Ctrl-C. */
export async function runDemo(spec: DemoSpec): Promise<number> {
  const missing = missingPrerequisites(spec.prerequisites);
  if (missing.length > 0) {
    console.error(`${spec.command} cannot run on this machine yet:`);
    for (const m of missing) console.error(`  - ${m}`);
    return 1;
  }
  const n = new Narrator(spec.steps);
  // Ctrl-C: stop the processes gracefully and remove the topology before exiting.
  let interrupted = false;
  const onSignal = (sig: NodeJS.Signals): void => {
    if (interrupted) return;
    interrupted = true;
    console.error(`\n${sig}: cleaning up`);
    void spec.close().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    await spec.run(n);
    console.log(`\n${bold(spec.doneTitle)} in ${n.elapsed()}: ${spec.doneDetail}`);
    return 0;
  } catch (err) {
    // After Ctrl-C the steps fail as their processes go away: only the cleanup matters then.
    if (!interrupted) console.error(`\n${spec.name} failed: ${(err as Error).message}`);
    return 1;
  } finally {
    if (!interrupted) await spec.close();
  }
}
