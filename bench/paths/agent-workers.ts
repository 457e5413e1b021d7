// Whether the agent under test takes `--workers N` (the coming worker model), read from its own
// `ambit node --help`: the bench's --ambit-workers refuses to start, with the reason, when it does not.

import { MeshError } from '../../src/common/errors.js';
import { AGENT_NODE_FLAGS } from '../../src/bin/node-flags.js';
import { AMBIT_CLI } from '../../test/helpers/agent-readiness.js';
import { runHere, runTool } from '../lib/index.js';

export const WORKERS_FLAG = '--workers';

/** Whether a `--help` text lists `flag` as an option of its own (a line starting with it). */
export function helpListsFlag(helpText: string, flag: string): boolean {
  const escaped = flag.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^\\s*${escaped}(?=[\\s=,]|$)`, 'm').test(helpText);
}

/** `node dist/src/bin/ambit.js node --help`, run the way the bench runs the agent (same Node flags). */
export async function agentNodeHelp(): Promise<string> {
  const res = await runTool(runHere, [process.execPath, ...AGENT_NODE_FLAGS, AMBIT_CLI, 'node', '--help'], { timeoutMs: 30_000 });
  return res.stdout + res.stderr;
}

/** The error for --ambit-workers when the agent's help text lacks --workers; null when it has it. */
export function workersSupportError(helpText: string, counts: readonly number[]): MeshError | null {
  if (helpListsFlag(helpText, WORKERS_FLAG)) return null;
  return new MeshError(
    'CONFIG_INVALID',
    `--ambit-workers ${counts.join(',')}: this agent does not accept ${WORKERS_FLAG} N ` +
      `(\`node dist/src/bin/ambit.js node --help\` does not list it; the worker model is not built yet). ` +
      'Run the bench without --ambit-workers to measure the single-process agent.',
  );
}

/** Throws CONFIG_INVALID unless the built agent accepts --workers; checked before any setup. */
export async function assertAgentAcceptsWorkers(counts: readonly number[]): Promise<void> {
  const err = workersSupportError(await agentNodeHelp(), counts);
  if (err !== null) throw err;
}
