// Drives test/helpers/zds_cni.py, the independent istio-cni side of ZDS (Python: its own protobuf
// encoding, SCM_RIGHTS with socket.send_fds, istio-cni's redirect rules): commands with answers,
// and the events it reports (the agent's hello, a replayed snapshot, the agent closing).

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export type CniLine = Record<string, unknown> & { event?: string; id?: number };

/** The repository root (the .py file is not compiled into dist/). */
function scriptPath(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('package root not found');
    dir = up;
  }
  return join(dir, 'test', 'helpers', 'zds_cni.py');
}

export interface PodSpec {
  readonly uid: string;
  /** The pod's netns file; absent: istio-cni has no netns for it (Keep on replay). */
  readonly netns?: string;
  readonly name: string;
  readonly namespace: string;
  readonly sa: string;
}

export class FakeCni {
  readonly events: CniLine[] = [];
  private readonly child: ChildProcess;
  private nextId = 1;
  private readonly pending = new Map<number, (line: CniLine) => void>();
  private readonly waiters: Array<{ pred: (l: CniLine) => boolean; resolve: (l: CniLine) => void }> = [];
  private stderr = '';

  private constructor(readonly path: string) {
    this.child = spawn('python3', [scriptPath(), '--socket', path], { stdio: ['pipe', 'pipe', 'pipe'] });
    let partial = '';
    this.child.stdout!.on('data', (d: Buffer) => {
      const parts = (partial + d.toString()).split('\n');
      partial = parts.pop()!;
      for (const p of parts) if (p.trim()) this.onLine(JSON.parse(p) as CniLine);
    });
    this.child.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
  }

  /** Starts the Python CNI listening on `path`; resolves once it listens. */
  static async start(path: string): Promise<FakeCni> {
    const cni = new FakeCni(path);
    await cni.waitEvent((e) => e.event === 'listening', 10_000);
    return cni;
  }

  private onLine(line: CniLine): void {
    if (typeof line.id === 'number' && line.event === undefined) {
      const r = this.pending.get(line.id);
      this.pending.delete(line.id);
      r?.(line);
      return;
    }
    this.events.push(line);
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      if (this.waiters[i]!.pred(line)) this.waiters.splice(i, 1)[0]!.resolve(line);
    }
  }

  /** Sends a command; resolves with its answer (`error` set when the command itself failed). */
  command(op: string, args: Record<string, unknown> = {}, timeoutMs = 20_000): Promise<CniLine> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`fake CNI: no answer to ${op} within ${timeoutMs} ms; stderr: ${this.stderr.slice(-1000)}`));
      }, timeoutMs);
      this.pending.set(id, (line) => {
        clearTimeout(timer);
        resolve(line);
      });
      this.child.stdin!.write(`${JSON.stringify({ id, op, ...args })}\n`);
    });
  }

  /** A command that must succeed (no `error`, no `closed`). */
  async must(op: string, args: Record<string, unknown> = {}): Promise<CniLine> {
    const r = await this.command(op, args);
    if (r.error !== undefined || r.closed) throw new Error(`fake CNI ${op} failed: ${JSON.stringify(r)}`);
    return r;
  }

  /** First event (seen or future) matching `pred` after the `from`-th event. */
  waitEvent(pred: (l: CniLine) => boolean, timeoutMs = 15_000, from = 0): Promise<CniLine> {
    const hit = this.events.slice(from).find(pred);
    if (hit) return Promise.resolve(hit);
    return new Promise((resolve, reject) => {
      const waiter = {
        pred,
        resolve: (l: CniLine) => {
          clearTimeout(timer);
          resolve(l);
        },
      };
      const timer = setTimeout(() => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(new Error(`fake CNI: no matching event within ${timeoutMs} ms; events: ${JSON.stringify(this.events.slice(-10))}; stderr: ${this.stderr.slice(-1000)}`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  /** Adds (or re-adds) a pod: istio-cni sends AddWorkload with its netns fd once connected. */
  add(pod: PodSpec): Promise<CniLine> {
    return this.command('add', { ...pod });
  }

  /** Installs istio-cni's in-pod redirect rules in `netns`. */
  async rules(netns: string): Promise<void> {
    await this.must('rules', { netns });
  }

  stop(): void {
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}
