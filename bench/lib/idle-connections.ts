// Memory per idle connection: open K connections to a target, each makes one small HTTP request (so
// the whole proxy path is established end to end) and then stays idle; hold them, sample, close.

import * as net from 'node:net';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { MeshError } from '../../src/common/errors.js';
import { runHere, spawnTool, withNofile, type RunIn } from './run-in.js';
import type { HttpTarget } from './load-generator.js';

export interface IdleOptions extends HttpTarget {
  /** Connections to open and hold (e.g. 5000). Each needs one file descriptor here (see nofile). */
  readonly count: number;
  /** Connections being opened at once (default 100): a burst of thousands of SYNs would overflow backlogs. */
  readonly connectConcurrency?: number;
  /** Per connection: connect + first response within this long (default 10000 ms). */
  readonly timeoutMs?: number;
}

export interface IdleSummary {
  /** Connections established and answered, now idle. */
  readonly open: number;
  readonly failed: number;
  readonly errorKinds: Record<string, number>;
  /** Held connections the far side closed while they should have stayed idle. */
  readonly droppedWhileHeld: number;
  /** Seconds it took to open them all. */
  readonly openSeconds: number;
}

const CRLFCRLF = Buffer.from('\r\n\r\n');
const CONTENT_LENGTH = /\r\ncontent-length:[ \t]*(\d+)/i;

/** The soft/hard RLIMIT_NOFILE of a process, from /proc/<pid>/limits (Node has no getrlimit). */
export function nofileLimit(pid: number | 'self' = 'self'): { soft: number; hard: number } {
  const m = /^Max open files\s+(\S+)\s+(\S+)/m.exec(readFileSync(`/proc/${pid}/limits`, 'utf8'));
  const n = (v: string | undefined): number => (v === undefined || v === 'unlimited' ? Infinity : Number(v));
  return { soft: n(m?.[1]), hard: n(m?.[2]) };
}

/** A set of held idle connections; start() opens them, close() ends them gracefully. */
export class IdleConnections {
  private readonly sockets = new Set<net.Socket>();
  private readonly errorKinds: Record<string, number> = {};
  private failed = 0;
  private dropped = 0;
  private closing = false;
  private openSeconds = 0;

  constructor(private readonly opts: IdleOptions) {}

  summary(): IdleSummary {
    return { open: this.sockets.size, failed: this.failed, errorKinds: { ...this.errorKinds }, droppedWhileHeld: this.dropped, openSeconds: this.openSeconds };
  }

  /** Opens all connections (bounded concurrency); resolves when each is answered or failed. */
  async start(): Promise<void> {
    const { soft } = nofileLimit();
    if (soft < this.opts.count + 64) {
      throw new MeshError('CONFIG_INVALID', `RLIMIT_NOFILE ${soft} is too low for ${this.opts.count} connections: run through withNofile()`);
    }
    const host = this.opts.host.includes(':') ? `[${this.opts.host}]` : this.opts.host;
    const req = Buffer.from(`GET ${this.opts.path} HTTP/1.1\r\nHost: ${host}:${this.opts.port}\r\n\r\n`, 'latin1');
    const t0 = process.hrtime.bigint();
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < this.opts.count && !this.closing) {
        next++;
        const err = await this.openOne(req);
        if (err !== null) {
          this.failed++;
          this.errorKinds[err] = (this.errorKinds[err] ?? 0) + 1;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.opts.count, this.opts.connectConcurrency ?? 100) }, worker));
    this.openSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
  }

  private openOne(req: Buffer): Promise<string | null> {
    return new Promise((resolve) => {
      const s = net.connect({ host: this.opts.host, port: this.opts.port, noDelay: true });
      let head: Buffer | null = null;
      let bodyLeft = -1;
      let answered = false;
      const settle = (err: string | null): void => {
        clearTimeout(timer);
        if (err !== null) s.destroy();
        else {
          answered = true;
          this.sockets.add(s);
        }
        resolve(err);
      };
      const timer = setTimeout(() => settle('timeout'), this.opts.timeoutMs ?? 10_000);
      s.on('connect', () => s.write(req));
      s.on('error', (e: NodeJS.ErrnoException) => {
        if (!answered) settle(e.code ?? 'error');
      });
      s.on('close', () => {
        if (!answered) return settle('closed');
        this.sockets.delete(s);
        if (!this.closing) this.dropped++;
      });
      s.on('data', (chunk: Buffer) => {
        if (answered) return; // idle from here on: nothing more is expected
        if (bodyLeft < 0) {
          const buf = head === null ? chunk : Buffer.concat([head, chunk]);
          const idx = buf.indexOf(CRLFCRLF);
          if (idx < 0) {
            head = buf;
            return;
          }
          const text = buf.toString('latin1', 0, idx);
          const m = CONTENT_LENGTH.exec(text);
          if (m === null || !/^HTTP\/1\.[01] 2/.test(text)) return settle('bad-response');
          head = null;
          bodyLeft = Number(m[1]) - (buf.length - idx - 4);
        } else bodyLeft -= chunk.length;
        if (bodyLeft <= 0) settle(null);
      });
    });
  }

  /** Ends every held connection (FIN) and resolves once all are closed. */
  async close(): Promise<void> {
    this.closing = true;
    const all = [...this.sockets];
    await Promise.all(
      all.map(
        (s) =>
          new Promise<void>((r) => {
            if (s.destroyed) return r();
            s.once('close', () => r());
            s.end();
            // The far side may never answer our FIN (a stuck proxy): do not wait forever.
            setTimeout(() => s.destroy(), 5000).unref();
          }),
      ),
    );
  }

  destroy(): void {
    this.closing = true;
    for (const s of this.sockets) s.destroy();
  }
}

/** Opens the connections in this process, runs `whileHeld`, then closes them. */
export async function holdIdleConnections<T>(opts: IdleOptions, whileHeld: (s: IdleSummary) => Promise<T>): Promise<{ held: IdleSummary; sample: T }> {
  const idle = new IdleConnections(opts);
  try {
    await idle.start();
    const held = idle.summary();
    const sample = await whileHeld(held);
    await idle.close();
    return { held: { ...held, droppedWhileHeld: idle.summary().droppedWhileHeld }, sample };
  } finally {
    idle.destroy();
  }
}

/** The compiled CLI next to this file. */
export const IDLE_CONNECTIONS_CLI = fileURLToPath(new URL('./idle-connections-cli.js', import.meta.url));

/**
 * Runs the holder as a child process (e.g. in the client pod's netns) under a raised RLIMIT_NOFILE
 * (count + 1024, applied inside runIn), calls `whileHeld` once every connection is open (sample
 * the agents' memory there), then releases them through the child's stdin.
 */
export async function holdIdleConnectionsIn<T>(
  runIn: RunIn = runHere,
  opts: IdleOptions,
  whileHeld: (s: IdleSummary) => Promise<T>,
): Promise<{ held: IdleSummary; sample: T }> {
  const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  const cmd = [process.execPath, IDLE_CONNECTIONS_CLI, '--url', `${host}:${opts.port}${opts.path}`, '--count', String(opts.count)];
  if (opts.connectConcurrency !== undefined) cmd.push('--concurrency', String(opts.connectConcurrency));
  if (opts.timeoutMs !== undefined) cmd.push('--timeout-ms', String(opts.timeoutMs));
  const proc = spawnTool(withNofile(Math.max(4096, opts.count + 1024), runIn), cmd);
  const line = (event: string): IdleSummary => {
    const m = new RegExp(`^(\\{"event":"${event}".*\\})$`, 'm').exec(proc.output());
    const { event: _event, ...summary } = JSON.parse(m![1]!) as IdleSummary & { event: string };
    return summary;
  };
  try {
    await proc.waitFor(/^\{"event":"held"/m, 60_000 + opts.count * 20);
    const sample = await whileHeld(line('held'));
    proc.child.stdin!.end('release\n');
    await proc.waitFor(/^\{"event":"closed"/m, 30_000);
    return { held: { ...line('held'), droppedWhileHeld: line('closed').droppedWhileHeld }, sample };
  } finally {
    await proc.stop();
  }
}
