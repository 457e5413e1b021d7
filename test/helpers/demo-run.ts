// Test helper: runs a demo script (test/demo/*.js) as a child process the way a user does, and
// collects its output, exit code and duration; optionally sends SIGINT (Ctrl-C) at a given line.

import { spawn } from 'node:child_process';
import { once } from 'node:events';

export interface DemoRun {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export interface DemoRunOptions {
  /** Extra environment over this process's. */
  readonly env: Record<string, string>;
  /** SIGKILL after this long (a demo that hangs fails its test instead of the run). */
  readonly killAfterMs: number;
  /** When given, SIGINT as soon as stdout contains it. */
  readonly interruptAt?: string;
}

export async function runDemoScript(script: string, opts: DemoRunOptions): Promise<DemoRun> {
  const started = Date.now();
  const child = spawn(process.execPath, [script], { env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let interruptAt = opts.interruptAt;
  let stdout = '';
  let stderr = '';
  const killer = setTimeout(() => child.kill('SIGKILL'), opts.killAfterMs);
  child.stdout!.on('data', (d: Buffer) => {
    stdout += d.toString();
    if (interruptAt && stdout.includes(interruptAt)) {
      interruptAt = undefined;
      child.kill('SIGINT');
    }
  });
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(killer);
  return { code, stdout, stderr, ms: Date.now() - started };
}
