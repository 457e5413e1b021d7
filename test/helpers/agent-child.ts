// An `ambit node` run as its own OS process (the way kubelet runs it), for tests of signals, exit
// codes and drains: spawn with an environment, wait for log text, probe readiness, check ports.

import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { AGENT_NODE_FLAGS } from '../../src/bin/node-flags.js';
import { AMBIT_CLI } from './agent-readiness.js';

export interface AgentChild {
  readonly child: ChildProcess;
  /** Everything the process printed on stdout so far. */
  output(): string;
  /** Resolves once stdout contains `text`; rejects if the process exits first or after `timeoutMs`. */
  waitForOutput(text: string, timeoutMs?: number): Promise<void>;
  /** Settles with the exit code and signal once the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
}

const live = new Set<ChildProcess>();

/**
 * Starts `ambit node` with `env` (plus PATH) and the agents' Node flags. `prefix` runs it through
 * another command that then execs it (e.g. `ip netns exec NAME`), so the child's pid is the agent's.
 */
export function spawnAgentChild(env: Record<string, string>, args: string[] = [], prefix: string[] = []): AgentChild {
  const argv = [...prefix, process.execPath, ...AGENT_NODE_FLAGS, AMBIT_CLI, 'node', ...args];
  const child = spawn(argv[0]!, argv.slice(1), {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) => {
    child.once('exit', (code, signal) => {
      live.delete(child);
      resolve({ code, signal, at: Date.now() });
    });
  });
  return {
    child,
    output: () => out,
    exited,
    waitForOutput(text, timeoutMs = 15_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`no "${text}" within ${timeoutMs} ms; output: ${out.slice(-2000)}`));
        }, timeoutMs);
        const check = (): void => {
          if (!out.includes(text)) return;
          cleanup();
          resolve();
        };
        const onExit = (): void => {
          cleanup();
          if (out.includes(text)) resolve();
          else reject(new Error(`exited before "${text}": ${out.slice(-2000)}`));
        };
        const cleanup = (): void => {
          clearTimeout(timer);
          child.stdout?.off('data', check);
          child.stderr?.off('data', check);
          child.off('exit', onExit);
        };
        child.stdout?.on('data', check);
        child.stderr?.on('data', check);
        child.once('exit', onExit);
        check();
      });
    },
  };
}

/** SIGKILLs every agent child still running (call from `after`). */
export function killAgentChildren(): void {
  for (const c of live) c.kill('SIGKILL');
}

/** GET /healthz/ready on host:port: status and body, or undefined when nothing answers. */
export async function readinessOf(host: string, port = 15021): Promise<{ status: number; body: string } | undefined> {
  try {
    const res = await fetch(`http://${host}:${port}/healthz/ready`, { signal: AbortSignal.timeout(1000) });
    return { status: res.status, body: await res.text() };
  } catch {
    return undefined;
  }
}

/** True if host:port can be bound now (nothing holds it). */
export function portFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen({ host, port, exclusive: true }, () => s.close(() => resolve(true)));
  });
}
