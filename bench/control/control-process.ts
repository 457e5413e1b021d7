// The bench's handle on a forked control-plane process (control-process-cli.ts): start it over a
// synthetic cluster, ask for warm translations and one-object changes, read its memory and CPU.

import { fork, type ChildProcess } from 'node:child_process';
import type { ObjectChange } from '../../src/k8s/index.js';
import { readCpuSeconds, readMemory, type MemoryStats } from '../lib/index.js';
import { CONTROL_PROCESS_CLI, type FromControl, type PipelineFigures, type ToControl } from './control-process-cli.js';
import type { ClusterShape } from './synthetic-cluster.js';

/** Node flags of the control plane process: those of the deployed image (Dockerfile). */
export const CONTROL_NODE_FLAGS = ['--single-threaded-gc'];

type Ready = Extract<FromControl, { type: 'ready' }>;
type Applied = Extract<FromControl, { type: 'applied' }>;

export class ControlProcess {
  readonly #child: ChildProcess;
  #waiting: { readonly type: FromControl['type']; readonly resolve: (m: FromControl) => void; readonly reject: (e: Error) => void } | undefined;
  #exited: string | undefined;
  readonly #stderr: string[] = [];

  private constructor(extraFlags: readonly string[]) {
    this.#child = fork(CONTROL_PROCESS_CLI, [], { execArgv: [...CONTROL_NODE_FLAGS, ...extraFlags], stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    this.#child.stderr!.setEncoding('utf8');
    this.#child.stderr!.on('data', (s: string) => {
      this.#stderr.push(s);
      if (this.#stderr.length > 50) this.#stderr.shift();
    });
    this.#child.on('message', (m: FromControl) => {
      const w = this.#waiting;
      if (w === undefined) return;
      if (m.type === 'failed') {
        this.#waiting = undefined;
        w.reject(new Error(`control plane process: ${m.message}`));
      } else if (m.type === w.type) {
        this.#waiting = undefined;
        w.resolve(m);
      }
    });
    this.#child.on('exit', (code, signal) => {
      this.#exited = `exited (${signal ?? code})`;
      const w = this.#waiting;
      this.#waiting = undefined;
      w?.reject(new Error(`control plane process ${this.#exited}: ${this.#stderr.join('').slice(-2000)}`));
    });
  }

  /** Forks the process and starts the control plane in it; `extraFlags`: more Node flags (e.g. --cpu-prof). */
  static async start(shape: ClusterShape, debounceMs: number, extraFlags: readonly string[] = []): Promise<{ proc: ControlProcess; ready: Ready }> {
    const proc = new ControlProcess(extraFlags);
    try {
      const ready = (await proc.#request({ type: 'init', shape, debounceMs, logLevel: 'warn' }, 'ready', 600_000)) as Ready;
      return { proc, ready };
    } catch (err) {
      proc.kill();
      throw err;
    }
  }

  get pid(): number {
    return this.#child.pid!;
  }

  async warm(count: number): Promise<readonly PipelineFigures[]> {
    const m = await this.#request({ type: 'warm', count }, 'warmed', 600_000);
    return (m as Extract<FromControl, { type: 'warmed' }>).runs;
  }

  /** Hands one change to the process; resolves once it is applied (translated and in the cache). */
  change(seq: number, change: ObjectChange): Promise<Applied> {
    return this.#request({ type: 'change', seq, change }, 'applied', 120_000) as Promise<Applied>;
  }

  /** process.memoryUsage() inside the process: V8 heap, external and ArrayBuffer memory behind the RSS. */
  async heap(): Promise<NodeJS.MemoryUsage> {
    const m = await this.#request({ type: 'heap' }, 'heap', 30_000);
    return (m as Extract<FromControl, { type: 'heap' }>).usage;
  }

  memory(): MemoryStats {
    return readMemory(this.pid);
  }

  cpuSeconds(): number {
    return readCpuSeconds(this.pid);
  }

  /** Graceful stop (the control plane closes its streams), SIGKILL if it takes longer than 10 s. */
  async stop(): Promise<void> {
    if (this.#exited !== undefined) return;
    const exited = new Promise<void>((resolve) => this.#child.once('exit', () => resolve()));
    this.#child.send({ type: 'stop' } satisfies ToControl);
    const timer = setTimeout(() => this.kill(), 10_000);
    await exited;
    clearTimeout(timer);
  }

  kill(): void {
    if (this.#exited === undefined) this.#child.kill('SIGKILL');
  }

  #request(msg: ToControl, type: FromControl['type'], timeoutMs: number): Promise<FromControl> {
    if (this.#exited !== undefined) return Promise.reject(new Error(`control plane process ${this.#exited}`));
    if (this.#waiting !== undefined) return Promise.reject(new Error(`control plane process: a ${this.#waiting.type} answer is still awaited`));
    return new Promise<FromControl>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting = undefined;
        reject(new Error(`control plane process: no ${type} answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#waiting = {
        type,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      this.#child.send(msg);
    });
  }
}
