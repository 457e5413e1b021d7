// `ambit control` run as its own OS process on a manifests folder, as the demo and the netns tests
// run it: flags on the command line, JSON log lines parsed as they arrive, start() waits for /ready.

import { spawn, type ChildProcess } from 'node:child_process';
import { AMBIT_CLI } from './agent-readiness.js';
import { collectJsonLines, stopChild, type LogLine } from './agent-process.js';

/** istiod's ports, the control plane's defaults: plaintext xDS + CA, TLS xDS + CA, monitoring. */
export const CONTROL_PORTS = { xds: 15010, xdsTls: 15012, monitoring: 15014 } as const;

export interface ControlPlaneProcessSpec {
  /** The manifests folder (`--manifests`). */
  readonly manifests: string;
  /** Address of every listener, also put in the TLS serving certificate (`--tls-sans`). */
  readonly bind: string;
  /** Where the built-in CA keeps the mesh root (`--state-dir`); root-cert.pem is what agents trust. */
  readonly stateDir: string;
  /** YAML map bearer token → caller (`--ca-token-file`). */
  readonly tokenFile?: string;
  readonly extraFlags?: readonly string[];
}

export class ControlPlaneProcess {
  readonly lines: LogLine[] = [];
  private child: ChildProcess | undefined;
  private stderrTail = '';

  constructor(readonly spec: ControlPlaneProcessSpec) {}

  /** The command line after `ambit`, as a user would type it. */
  get args(): string[] {
    const s = this.spec;
    return [
      'control',
      '--manifests', s.manifests,
      '--bind-address', s.bind,
      '--tls-sans', s.bind,
      '--state-dir', s.stateDir,
      ...(s.tokenFile !== undefined ? ['--ca-token-file', s.tokenFile] : []),
      ...(s.extraFlags ?? []),
    ];
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** `https://<bind>:15012`: xDS and the CA over TLS. */
  get tlsAddress(): string {
    return `https://${this.spec.bind}:${CONTROL_PORTS.xdsTls}`;
  }

  url(path: string): string {
    return `http://${this.spec.bind}:${CONTROL_PORTS.monitoring}${path}`;
  }

  /** Spawns it and waits (up to `timeoutMs`) until /ready answers 200. */
  async start(timeoutMs = 30_000): Promise<void> {
    const child = spawn(process.execPath, [AMBIT_CLI, ...this.args], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    collectJsonLines(child.stdout!, this.lines);
    child.stderr!.on('data', (d: Buffer) => (this.stderrTail = (this.stderrTail + d.toString()).slice(-2000)));
    const deadline = Date.now() + timeoutMs;
    let last = 'no answer';
    while (Date.now() < deadline) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`ambit control exited during start-up: ${this.describe()}`);
      try {
        const res = await fetch(this.url('/ready'), { signal: AbortSignal.timeout(1000) });
        last = `${res.status} ${(await res.text()).trim()}`;
        if (res.status === 200) return;
      } catch (e) {
        last = (e as Error).message;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`ambit control not ready within ${timeoutMs} ms (last: ${last}): ${this.describe()}`);
  }

  private describe(): string {
    const e = [...this.lines].reverse().find((l) => l.level >= 50);
    return this.stderrTail || (e ? JSON.stringify(e) : '(no error logged)');
  }

  /** GET a monitoring path as JSON (/debug/resources, /debug/adsz, /debug/ca, /debug/configz). */
  async debug<T = Record<string, unknown>>(path: string): Promise<T> {
    const r = await fetch(this.url(path));
    if (r.status !== 200) throw new Error(`GET ${path}: ${r.status}`);
    return (await r.json()) as T;
  }

  stop(graceMs = 7_000): Promise<void> {
    return stopChild(this.child, graceMs);
  }

  /** Synchronous last resort for exit handlers. */
  kill(): void {
    if (this.child && this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}
