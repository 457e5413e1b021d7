// A network namespace `ambit-<id>-<label>` with only loopback up: fixed ports (an agent's 15000/15080...)
// without colliding with tests in the host netns. destroy() (also on exit/SIGINT/SIGTERM) removes it all.

import { execFile, spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { killGroup, killQuietly, netnsPids, requireRoot, teardownOnExit, type ExecResult } from './netns-topology.js';

export interface LoopbackNetns {
  /** Random per-run id: `assertNoLeftovers(id)` checks the namespace is gone. */
  readonly id: string;
  /** `ambit-<id>-<label>`, as listed by `ip netns list`. */
  readonly name: string;
  /** Runs `ip netns exec <name> cmd...` (default timeout 30 s, then code -1); never rejects on a non-zero exit. */
  exec(cmd: readonly string[], opts?: { timeoutMs?: number; cwd?: string }): Promise<ExecResult>;
  /** Starts `cmd` in the namespace in its own process group (as a terminal's foreground job is); destroy() kills the group. */
  spawn(cmd: readonly string[], opts?: SpawnOptions): ChildProcess;
  /** Kills every process in the namespace and deletes it. Idempotent. */
  destroy(): Promise<void>;
}

const LABEL = /^[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?$/;

/** Creates the namespace and brings `lo` up (127.0.0.0/8 and ::1 are then all local addresses). */
export async function createLoopbackNetns(label: string): Promise<LoopbackNetns> {
  requireRoot('createLoopbackNetns');
  if (!LABEL.test(label)) throw new Error(`loopback netns: label ${JSON.stringify(label)} must match ${LABEL}`);
  const id = randomBytes(3).toString('hex');
  const name = `ambit-${id}-${label}`;
  const children = new Set<ChildProcess>();
  let destroyed = false;

  // Synchronous so it can also run from process 'exit'. The spawned process groups first, then
  // whatever else still runs in the namespace (a shell's background jobs), then the namespace.
  const teardownSync = (): void => {
    destroyed = true;
    forget();
    for (const c of children) if (c.pid !== undefined && c.exitCode === null && c.signalCode === null) killGroup(c.pid);
    for (const pid of netnsPids(name)) killQuietly(pid, 'SIGKILL');
    spawnSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
  };
  const forget = teardownOnExit(id, teardownSync);

  const created = spawnSync('ip', ['netns', 'add', name], { encoding: 'utf8' });
  const up = created.status === 0 ? spawnSync('ip', ['-n', name, 'link', 'set', 'lo', 'up'], { encoding: 'utf8' }) : created;
  if (up.status !== 0) {
    teardownSync();
    throw new Error(`loopback netns ${name}: ${up === created ? 'ip netns add' : 'ip link set lo up'} failed (${up.status}): ${up.stderr.trim()}`);
  }

  return {
    id,
    name,
    exec: (cmd, opts = {}) =>
      new Promise((resolve) => {
        const child = execFile('ip', ['netns', 'exec', name, ...cmd], { cwd: opts.cwd, timeout: opts.timeoutMs ?? 30_000, killSignal: 'SIGKILL', maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
          const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
          resolve({ stdout: String(stdout), stderr: String(stderr) + (err && code === -1 ? err.message : ''), code });
        });
        child.stdin?.end();
      }),
    spawn: (cmd, opts = {}) => {
      if (destroyed) throw new Error(`loopback netns ${name}: spawn after destroy`);
      const child = spawn('ip', ['netns', 'exec', name, ...cmd], { stdio: 'pipe', ...opts, detached: true });
      children.add(child);
      child.on('exit', () => children.delete(child));
      return child;
    },
    destroy: async () => {
      if (destroyed) return;
      teardownSync();
      await Promise.resolve();
    },
  };
}
