// Where a benchmark tool runs: a RunIn prefixes a command (e.g. `ip netns exec <ns>`), and the two
// runners here execute a prefixed command to completion (runTool) or keep it alive (spawnTool).

import { spawn, type ChildProcess } from 'node:child_process';
import { MeshError } from '../../src/common/errors.js';

/**
 * Prefixes a command so that it runs "somewhere" (a network namespace, under a raised ulimit...).
 * Invariant: a wrapper must exec the command, not fork it, so that the pid of the spawned process is
 * the tool's own pid (process-stats reads /proc/<pid>); `ip netns exec` and `sh -c 'exec ...'` do.
 */
export type RunIn = (cmd: string[]) => string[];

/** Runs the command here, unchanged. */
export const runHere: RunIn = (cmd) => cmd;

/** Runs the command inside the named network namespace (needs root). */
export function inNetns(ns: string, outer: RunIn = runHere): RunIn {
  return (cmd) => outer(['ip', 'netns', 'exec', ns, ...cmd]);
}

/**
 * Raises RLIMIT_NOFILE (soft, and hard when root) to `limit` before exec'ing the command: Node has
 * no setrlimit, and 5,000 idle connections need more than the common 1024 default. Compose it inside
 * the namespace wrapper: `withNofile(65536, inNetns('client'))`.
 */
export function withNofile(limit: number, outer: RunIn = runHere): RunIn {
  // Only ever raises; sets soft+hard (root), else soft only; if both fail the tool still runs and
  // reports its own limit (IdleConnections.start checks it) rather than failing obscurely here.
  const script = 'cur=$(ulimit -n); [ "$cur" = unlimited ] || [ "$cur" -ge "$0" ] || ulimit -n "$0" 2>/dev/null || ulimit -Sn "$0" 2>/dev/null; exec "$@"';
  return (cmd) => outer(['sh', '-c', script, String(limit), ...cmd]);
}

export interface ToolResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface RunToolOptions {
  /** Kill the tool (SIGKILL) after this long; 0 = no limit. */
  readonly timeoutMs?: number;
  /** Reject when the exit code is not 0 (default true). */
  readonly check?: boolean;
  /** Written to stdin, which is then closed. */
  readonly input?: string;
}

/** Runs `runIn(cmd)` to completion and collects its output. */
export function runTool(runIn: RunIn, cmd: string[], opts: RunToolOptions = {}): Promise<ToolResult> {
  const argv = runIn(cmd);
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
    const timer =
      opts.timeoutMs !== undefined && opts.timeoutMs > 0 ? setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs) : undefined;
    child.on('error', (e) => {
      if (timer) clearTimeout(timer);
      reject(new MeshError('BENCH_TOOL', `cannot start ${argv.join(' ')}: ${e.message}`, { cause: e }));
    });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      const res = { stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString(), code, signal };
      if ((opts.check ?? true) && code !== 0) {
        reject(new MeshError('BENCH_TOOL', `${argv.join(' ')} exited with ${code ?? signal}: ${tail(res.stderr || res.stdout)}`));
      } else resolve(res);
    });
  });
}

/** A long-lived tool process (server side of a measurement). */
export interface ToolProcess {
  readonly child: ChildProcess;
  /** The tool's pid (see the RunIn invariant). */
  readonly pid: number;
  /** Everything written to stdout/stderr so far (kept for diagnostics and readiness checks). */
  output(): string;
  /** Resolves when the combined output matches `pattern`; rejects if the tool exits first or after timeoutMs. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<void>;
  /** Resolves with the exit code once the process has exited. */
  readonly exited: Promise<number | null>;
  /** SIGTERM, then SIGKILL after graceMs; resolves once exited. */
  stop(graceMs?: number): Promise<void>;
}

/** Spawns `runIn(cmd)` and keeps it running; output is buffered (bounded) for waitFor/output. */
export function spawnTool(runIn: RunIn, cmd: string[], maxOutputChars = 1 << 20): ToolProcess {
  const argv = runIn(cmd);
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
  let text = '';
  let done = false;
  const listeners = new Set<() => void>();
  const onData = (b: Buffer): void => {
    text += b.toString();
    // Keep the head (startup lines) and the most recent tail; the middle is never needed.
    if (text.length > maxOutputChars) text = text.slice(0, 4096) + text.slice(-(maxOutputChars - 4096));
    for (const l of [...listeners]) l();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  child.stdin!.on('error', () => undefined);
  const exited = new Promise<number | null>((resolve) => {
    child.on('error', (e) => {
      text += `\nspawn error: ${e.message}`;
      done = true;
      for (const l of [...listeners]) l();
      resolve(null);
    });
    child.on('close', (code) => {
      done = true;
      for (const l of [...listeners]) l();
      resolve(code);
    });
  });
  return {
    child,
    pid: child.pid ?? -1,
    output: () => text,
    exited,
    waitFor(pattern, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          if (pattern.test(text)) finish();
          else if (done) finish(new MeshError('BENCH_TOOL', `${argv.join(' ')} exited before ${pattern}: ${tail(text)}`));
        };
        const timer = setTimeout(
          () => finish(new MeshError('BENCH_TOOL', `${argv.join(' ')}: no ${pattern} within ${timeoutMs} ms: ${tail(text)}`)),
          timeoutMs,
        );
        const finish = (e?: Error): void => {
          clearTimeout(timer);
          listeners.delete(check);
          if (e) reject(e);
          else resolve();
        };
        listeners.add(check);
        check();
      });
    },
    async stop(graceMs = 3000) {
      if (done) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** The last lines of a tool's output, for error messages. */
export function tail(text: string, chars = 600): string {
  const t = text.trim();
  return t.length <= chars ? t : '…' + t.slice(-chars);
}
