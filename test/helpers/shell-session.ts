// A shell session driven like a terminal: one bash reads the commands one at a time, so a command's
// background jobs (`cmd &`) stay that shell's jobs and `kill %1` reaches them, as in a user's terminal.

import { createInterface } from 'node:readline';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { killGroup } from './netns-topology.js';

export interface ShellResult {
  /** What the command (and any job it put in the background) wrote so far. */
  readonly stdout: string;
  readonly stderr: string;
  /** Its exit status (`$?`), 0 for a command ending with `&`. */
  readonly code: number;
}

export interface ShellSession {
  /** Runs one command line as typed (comments allowed); rejects after `timeoutMs` (default 20 s). */
  run(line: string, timeoutMs?: number): Promise<ShellResult>;
  /** Exits the shell (SIGKILL to its process group if it does not exit within 2 s). Idempotent. */
  close(): Promise<void>;
}

/** The session's shell: `bash` reading commands on stdin, started by `spawnShell` (e.g. in a netns). */
export const SHELL_ARGV: readonly string[] = ['bash', '--noprofile', '--norc', '-s'];

/**
 * Starts a session; `spawnShell(SHELL_ARGV)` must start the shell with piped stdio (its own process
 * group, cwd and environment are the caller's choice). Each command's stdin is /dev/null and its
 * stdout/stderr go to files of their own, so the output of background jobs never mixes with a later
 * command's output; stdout of the shell itself carries only the `done <n> <status>` lines.
 */
export function startShellSession(spawnShell: (argv: readonly string[]) => ChildProcess): ShellSession {
  const dir = mkdtempSync(join(tmpdir(), 'ambit-shell-'));
  const shell = spawnShell(SHELL_ARGV);
  let shellErr = '';
  shell.stderr!.on('data', (d: Buffer) => (shellErr += d.toString()));
  const done = new Map<number, number>();
  let wake: (() => void) | undefined;
  createInterface({ input: shell.stdout! }).on('line', (line) => {
    const m = /^done (\d+) (\d+)$/.exec(line);
    if (m) done.set(Number(m[1]), Number(m[2]));
    wake?.();
  });
  let exited = false;
  shell.on('exit', () => {
    exited = true;
    wake?.();
  });
  shell.stdin!.on('error', () => undefined);
  let n = 0;
  let busy = false;
  let closed = false;

  const read = (file: string): string => {
    try {
      return readFileSync(file, 'utf8');
    } catch {
      return '';
    }
  };

  return {
    run: async (line, timeoutMs = 20_000) => {
      if (busy) throw new Error('shell session: one command at a time');
      if (exited || closed) throw new Error(`shell session: the shell is gone (stderr: ${shellErr.trim()})`);
      busy = true;
      const i = ++n;
      const out = join(dir, `${i}.out`);
      const err = join(dir, `${i}.err`);
      // The line goes in a brace group on its own line, so a trailing `&` or `# comment` keeps its meaning.
      shell.stdin!.write(`{ ${line}\n} </dev/null >'${out}' 2>'${err}'\nprintf 'done %d %d\\n' ${i} "$?"\n`);
      const deadline = Date.now() + timeoutMs;
      try {
        while (!done.has(i)) {
          if (exited) throw new Error(`shell session: the shell exited during \`${line}\` (stderr: ${shellErr.trim()})`);
          const left = deadline - Date.now();
          if (left <= 0) throw new Error(`shell session: \`${line}\` did not finish within ${timeoutMs} ms; stdout: ${read(out)}; stderr: ${read(err)}`);
          await new Promise<void>((resolve) => {
            const t = setTimeout(resolve, left);
            wake = () => {
              clearTimeout(t);
              resolve();
            };
          });
        }
      } finally {
        wake = undefined;
        busy = false;
      }
      return { stdout: read(out), stderr: read(err), code: done.get(i)! };
    },
    close: async () => {
      if (closed) return;
      closed = true;
      if (!exited) {
        shell.stdin!.end('exit\n');
        await new Promise<void>((resolve) => {
          const t = setTimeout(() => {
            if (shell.pid !== undefined) killGroup(shell.pid);
            resolve();
          }, 2000);
          shell.once('exit', () => {
            clearTimeout(t);
            resolve();
          });
        });
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
