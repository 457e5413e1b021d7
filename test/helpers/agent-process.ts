// A node agent run as its own OS process (`ambit node`), as the demo and the netns tests need it:
// its JSON log lines are parsed as they arrive, and start() resolves once /healthz/ready says 200.

import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import type { Readable } from 'node:stream';
import { AGENT_NODE_FLAGS } from '../../src/bin/node-flags.js';
import { AMBIT_CLI, waitAgentReady } from './agent-readiness.js';

export interface AgentProcessSpec {
  readonly nodeName: string;
  /** Loopback address of the agent's host listeners (admin 15000, stats 15020, readiness 15021). */
  readonly bind: string;
  /** ztunnel local config file (LOCAL_XDS_PATH); omit when the state comes from XDS_ADDRESS (in `env`). */
  readonly configPath?: string;
  /** Shared by agents that must trust each other: the built-in CA keeps its root here. */
  readonly stateDir: string;
  readonly env?: Record<string, string>;
  /** Extra Node.js options before the script, e.g. `--cpu-prof` (not allowed in NODE_OPTIONS). */
  readonly nodeArgs?: readonly string[];
  /** A command the agent runs under, e.g. `setpriv --bounding-set ... --` to limit its capabilities. */
  readonly wrapper?: readonly string[];
}

export type LogLine = { readonly level: number; readonly msg: string } & Record<string, unknown>;

/** Appends every JSON line of `stream` to `into` (pino's output); other lines are ignored. */
export function collectJsonLines(stream: Readable, into: LogLine[]): void {
  let partial = '';
  stream.on('data', (d: Buffer) => {
    const parts = (partial + d.toString()).split('\n');
    partial = parts.pop()!;
    for (const p of parts) {
      try {
        into.push(JSON.parse(p) as LogLine);
      } catch {
        // not a JSON log line (never expected from pino); ignored
      }
    }
  });
}

/** SIGTERM (graceful drain), then SIGKILL if `child` is still running after `graceMs`. */
export async function stopChild(child: ChildProcess | undefined, graceMs: number): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

export class AgentProcess {
  readonly lines: LogLine[] = [];
  private child: ChildProcess | undefined;
  private stderrTail = '';

  constructor(readonly spec: AgentProcessSpec) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  url(port: number, path: string): string {
    return `http://${this.spec.bind}:${port}${path}`;
  }

  /** Spawns the agent and waits (up to `timeoutMs`) until it reports ready. */
  async start(timeoutMs = 30_000): Promise<void> {
    const argv = [process.execPath, ...AGENT_NODE_FLAGS, ...(this.spec.nodeArgs ?? []), AMBIT_CLI, 'node'];
    const [file, ...args] = [...(this.spec.wrapper ?? []), ...argv] as [string, ...string[]];
    const child = spawn(file, args, {
      env: {
        ...process.env,
        NODE_NAME: this.spec.nodeName,
        ...(this.spec.configPath !== undefined ? { LOCAL_XDS_PATH: this.spec.configPath } : {}),
        AMBIT_BIND_ADDRESS: this.spec.bind,
        AMBIT_ADMIN_BIND_ADDRESS: this.spec.bind,
        AMBIT_INBOUND_BIND: 'any',
        AMBIT_STATE_DIR: this.spec.stateDir,
        ...this.spec.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    collectJsonLines(child.stdout!, this.lines);
    child.stderr!.on('data', (d: Buffer) => (this.stderrTail = (this.stderrTail + d.toString()).slice(-2000)));
    await waitAgentReady({
      name: this.spec.nodeName,
      host: this.spec.bind,
      timeoutMs,
      exited: () => child.exitCode !== null || child.signalCode !== null,
      describe: () => this.stderrTail || this.lastError(),
    });
  }

  private lastError(): string {
    const e = [...this.lines].reverse().find((l) => l.level >= 50);
    return e ? JSON.stringify(e) : '(no error logged)';
  }

  async metrics(): Promise<string> {
    const r = await fetch(this.url(15020, '/metrics'));
    return r.text();
  }

  async configDump(): Promise<Record<string, unknown>> {
    const r = await fetch(this.url(15000, '/config_dump'));
    return (await r.json()) as Record<string, unknown>;
  }

  /** SIGTERM (graceful drain), then SIGKILL if still running after `graceMs`. */
  stop(graceMs = 7_000): Promise<void> {
    return stopChild(this.child, graceMs);
  }

  /** Synchronous last resort for exit handlers. */
  kill(): void {
    if (this.child && this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}
