// Runs one command inside a pod network namespace (`nsenter --net=<path> <argv...>`), never through
// a shell: argv goes to execve as is, so netns paths and rule text cannot inject commands.

import { spawn } from 'node:child_process';
import { access } from 'node:fs/promises';

export interface NetnsCommandResult {
  readonly stdout: string;
  readonly stderr: string;
  /** Exit status; -1 when the command could not be started or was killed (see stderr). */
  readonly code: number;
}

/** Upper bound for one command; iptables-restore waits up to 10 s for the xtables lock itself. */
const COMMAND_TIMEOUT_MS = 20_000;

/**
 * Runs `argv` in the network namespace at `netnsPath` (a /var/run/netns/<name> bind mount or a
 * /proc/<pid>/ns/net file), writing `input` to its stdin. Never rejects: failures come back as a
 * non-zero `code` with the reason in `stderr`, so callers decide what is fatal.
 */
export function runInNetns(netnsPath: string, argv: readonly string[], input?: string): Promise<NetnsCommandResult> {
  return new Promise((resolve) => {
    const child = spawn('nsenter', [`--net=${netnsPath}`, '--', ...argv], {
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: COMMAND_TIMEOUT_MS,
      killSignal: 'SIGKILL',
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let settled = false;
    const finish = (code: number, extra = ''): void => {
      if (settled) return;
      settled = true;
      const stderr = Buffer.concat(err).toString('utf8') + extra;
      resolve({ stdout: Buffer.concat(out).toString('utf8'), stderr, code });
    };
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', (e) => finish(-1, `cannot run nsenter: ${e.message}`));
    child.on('close', (code, signal) => finish(code ?? -1, signal ? `killed by ${signal}` : ''));
    // EPIPE when the command exits before reading stdin is reported through its exit status.
    child.stdin.on('error', () => undefined);
    child.stdin.end(input ?? '');
  });
}

/** True while the netns file still exists (a vanished pod makes removal a no-op, not an error). */
export async function netnsExists(netnsPath: string): Promise<boolean> {
  try {
    await access(netnsPath);
    return true;
  } catch {
    return false;
  }
}
