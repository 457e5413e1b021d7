// `ambit waypoint` run as its own OS process: every port 0 (the start-up log line says which were
// bound), JSON log lines parsed as they arrive, start() resolves once /healthz/ready answers 200.

import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { AMBIT_CLI } from './agent-readiness.js';
import { collectJsonLines, type LogLine } from './agent-process.js';

export interface WaypointProcessSpec {
  /** Flags after `ambit waypoint` (the ports are added: all 0). */
  readonly args: readonly string[];
  readonly env?: Record<string, string>;
  /** Loopback address of every listener. */
  readonly bind: string;
  /** Fixed ports instead of 0 (a waypoint in a pod netns listens on 15008 as node agents expect). */
  readonly ports?: Partial<Ports>;
  /** Starts the command (default: a child of this process), e.g. inside a pod netns. */
  readonly spawn?: (argv: readonly string[], env: Record<string, string>) => ChildProcess;
}

export interface Ports {
  readonly hbone: number;
  readonly admin: number;
  readonly stats: number;
  readonly readiness: number;
}

export class WaypointProcessHandle {
  readonly lines: LogLine[] = [];
  private child: ChildProcess | undefined;
  private stderrTail = '';
  private bound: Ports | undefined;

  constructor(readonly spec: WaypointProcessSpec) {}

  get ports(): Ports {
    if (!this.bound) throw new Error('not started');
    return this.bound;
  }

  /** The process id once spawned. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  url(port: number, path: string): string {
    return `http://${this.spec.bind}:${port}${path}`;
  }

  /**
   * Spawns it; resolves once ready (200) — or, with `waitReady` false, once it has started (synced
   * and listening) — and rejects if it exits first or takes longer than `timeoutMs`.
   */
  async start(timeoutMs = 30_000, waitReady = true): Promise<void> {
    const p = this.spec.ports ?? {};
    const ports = ['--port-hbone', p.hbone ?? 0, '--port-admin', p.admin ?? 0, '--port-stats', p.stats ?? 0, '--port-readiness', p.readiness ?? 0].map(String);
    const argv = [process.execPath, AMBIT_CLI, 'waypoint', '--bind-address', this.spec.bind, '--admin-bind-address', this.spec.bind, ...ports, ...this.spec.args];
    const env = { PATH: process.env.PATH ?? '', ...this.spec.env };
    const child = this.spec.spawn
      ? this.spec.spawn(argv, env)
      : spawn(argv[0]!, argv.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    collectJsonLines(child.stdout!, this.lines);
    child.stderr!.on('data', (d: Buffer) => (this.stderrTail = (this.stderrTail + d.toString()).slice(-2000)));
    const deadline = Date.now() + timeoutMs;
    let last = 'not started';
    while (Date.now() < deadline) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`ambit waypoint exited during start-up: ${this.describe()}`);
      const started = this.lines.find((l) => l.msg === 'ambit waypoint started');
      if (started && !this.bound) {
        const port = (k: string): number => (started[k] as { port: number }).port;
        this.bound = { hbone: port('hbone'), admin: port('admin'), stats: port('stats'), readiness: port('readiness') };
      }
      if (this.bound && !waitReady) return;
      if (this.bound) {
        const res = await fetch(this.url(this.bound.readiness, '/healthz/ready')).catch((e: Error) => e);
        last = res instanceof Error ? res.message : `${res.status} ${(await res.text()).trim()}`;
        if (!(res instanceof Error) && res.status === 200) return;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`ambit waypoint not ready within ${timeoutMs} ms (last: ${last}): ${this.describe()}`);
  }

  describe(): string {
    const e = [...this.lines].reverse().find((l) => l.level >= 50);
    return this.stderrTail || (e ? JSON.stringify(e) : '(no error logged)');
  }

  async configDump(): Promise<Record<string, any>> {
    const r = await fetch(this.url(this.ports.admin, '/config_dump'));
    return (await r.json()) as Record<string, any>;
  }

  async metrics(): Promise<string> {
    return (await fetch(this.url(this.ports.stats, '/metrics'))).text();
  }

  /** SIGTERM; resolves with the exit code and signal (SIGKILL after `graceMs`). */
  async stop(graceMs = 10_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    const child = this.child;
    if (!child) return { code: null, signal: null };
    if (child.exitCode !== null || child.signalCode !== null) return { code: child.exitCode, signal: child.signalCode };
    const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    const [code, signal] = await exited;
    clearTimeout(timer);
    return { code, signal };
  }

  kill(): void {
    if (this.child && this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}
