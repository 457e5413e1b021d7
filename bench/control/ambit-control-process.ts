// `ambit control --manifests DIR` as a child process, exactly as deployed (the binary, the image's Node
// flags, JSON logs): its ports and each translation's time are read from its log lines.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { readCpuSeconds, readMemory, type MemoryStats } from '../lib/index.js';
import { CONTROL_NODE_FLAGS } from './control-process.js';

export const AMBIT_CLI = new URL('../../src/bin/ambit.js', import.meta.url).pathname;

/** One `mesh translated` log line. */
export interface LoggedTranslation {
  readonly ms: number;
  readonly phasesMs: Readonly<Record<string, number>> | undefined;
  readonly objectsVersion: number;
  /** performance.now() of this process when the line was read. */
  readonly at: number;
}

export interface AmbitControlStart {
  readonly xdsPort: number;
  /** Spawn → `ambit control started` logged, ms (folder read and validated, first translation, listeners up). */
  readonly readyMs: number;
  /** The first translation's time as the pipeline logged it, ms. */
  readonly firstTranslationMs: number;
}

export class AmbitControlProcess {
  readonly #child: ChildProcess;
  readonly #stateDir: string;
  readonly translations: LoggedTranslation[] = [];
  readonly #tail: string[] = [];
  #started: ((port: number) => void) | undefined;
  #exited = false;

  private constructor(dir: string, debounceMs: number) {
    this.#stateDir = mkdtempSync(join(tmpdir(), 'ambit-cpbench-state-'));
    const args = [
      ...CONTROL_NODE_FLAGS, AMBIT_CLI, 'control',
      '--manifests', dir,
      '--bind-address', '127.0.0.1',
      '--port-xds', '0', '--port-xds-tls', '0', '--port-monitoring', '0',
      '--state-dir', this.#stateDir,
      '--root-namespace', 'istio-system',
      '--debounce-after', `${debounceMs}ms`,
      '--log-level', 'info', '--log-format', 'json',
    ];
    this.#child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const lines = createInterface({ input: this.#child.stdout! });
    lines.on('line', (line) => this.#onLine(line));
    this.#child.stderr!.setEncoding('utf8');
    this.#child.stderr!.on('data', (s: string) => this.#keep(s));
    this.#child.on('exit', () => (this.#exited = true));
  }

  /** Starts it on `dir`; resolves once it logs that it is serving. */
  static async start(dir: string, debounceMs: number, timeoutMs = 600_000): Promise<{ proc: AmbitControlProcess; start: AmbitControlStart }> {
    const t0 = performance.now();
    const proc = new AmbitControlProcess(dir, debounceMs);
    let timer: NodeJS.Timeout | undefined;
    try {
      const port = await new Promise<number>((resolve, reject) => {
        proc.#started = resolve;
        proc.#child.once('exit', (code, signal) => reject(new Error(`ambit control exited (${signal ?? code}) before serving: ${proc.#tail.join('\n').slice(-2000)}`)));
        timer = setTimeout(() => reject(new Error(`ambit control not serving within ${timeoutMs} ms`)), timeoutMs);
      });
      return { proc, start: { xdsPort: port, readyMs: performance.now() - t0, firstTranslationMs: proc.translations[0]?.ms ?? NaN } };
    } catch (err) {
      proc.kill();
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  get pid(): number {
    return this.#child.pid!;
  }

  memory(): MemoryStats {
    return readMemory(this.pid);
  }

  cpuSeconds(): number {
    return readCpuSeconds(this.pid);
  }

  /** SIGTERM (graceful: streams end, bounded by its drain deadline), SIGKILL after 15 s. */
  async stop(): Promise<void> {
    if (!this.#exited) {
      const exited = new Promise<void>((resolve) => this.#child.once('exit', () => resolve()));
      this.#child.kill('SIGTERM');
      const timer = setTimeout(() => this.kill(), 15_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(this.#stateDir, { recursive: true, force: true });
  }

  kill(): void {
    if (!this.#exited) this.#child.kill('SIGKILL');
    rmSync(this.#stateDir, { recursive: true, force: true });
  }

  #keep(s: string): void {
    this.#tail.push(s);
    if (this.#tail.length > 50) this.#tail.shift();
  }

  #onLine(line: string): void {
    let entry: Record<string, unknown>;
    try {
      entry = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return this.#keep(line);
    }
    if (typeof entry['level'] === 'number' && entry['level'] >= 40) this.#keep(line);
    if (entry['msg'] === 'mesh translated') {
      const phases = entry['phasesMs'];
      this.translations.push({
        ms: Number(entry['ms']),
        phasesMs: typeof phases === 'object' && phases !== null ? (phases as Record<string, number>) : undefined,
        objectsVersion: Number(entry['objectsVersion']),
        at: performance.now(),
      });
    } else if (entry['msg'] === 'ambit control started') {
      const ports = entry['ports'] as { plaintext?: number } | undefined;
      if (ports?.plaintext !== undefined) this.#started?.(ports.plaintext);
    }
  }
}
