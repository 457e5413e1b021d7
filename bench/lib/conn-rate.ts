// New connections per second: C concurrent loops, each connects, sends one HTTP/1.1 request with
// `Connection: close`, reads the whole response and closes, for D seconds. Runs in-process or as a CLI.

import * as net from 'node:net';
import { fileURLToPath } from 'node:url';
import { MeshError } from '../../src/common/errors.js';
import { summarizeMicros, type LatencySummary } from './latency-stats.js';
import { runHere, runTool, type RunIn } from './run-in.js';
import type { HttpTarget } from './load-generator.js';

export interface ConnRateOptions extends HttpTarget {
  /** Concurrent connect loops. */
  readonly concurrency: number;
  readonly durationS: number;
  /** A connection not answered and closed within this long is an error (default 5000 ms). */
  readonly timeoutMs?: number;
  /**
   * Paced: new connections per second over all loops (each loop starts one every
   * concurrency/rate s, later if its previous one is still open); absent: as fast as answered.
   */
  readonly rate?: number;
}

export interface ConnRateResult {
  readonly target: HttpTarget & { readonly concurrency: number; readonly durationS: number };
  /** Connections that completed one 2xx request and a clean close. */
  readonly connections: number;
  readonly errors: number;
  readonly errorKinds: Record<string, number>;
  /** connections / elapsed seconds (the elapsed time includes the last in-flight connections). */
  readonly connectionsPerSecond: number;
  /** Connect + request + response + close, per connection. */
  readonly latencyMs: LatencySummary;
}

const CRLFCRLF = Buffer.from('\r\n\r\n');
const CONTENT_LENGTH = /\r\ncontent-length:[ \t]*(\d+)/i;

/** One connection's life; resolves with an error kind, or null on success. */
function oneConnection(opts: ConnRateOptions, req: Buffer, timeoutMs: number): Promise<string | null> {
  return new Promise((resolve) => {
    let head: Buffer | null = null;
    let status = 0;
    let bodyExpected = -1;
    let bodySeen = 0;
    let settled = false;
    // The server closes first (we asked for Connection: close), so TIME_WAIT stays on the server
    // and the client's ephemeral ports are not exhausted at thousands of connections per second.
    const s = net.connect({ host: opts.host, port: opts.port, noDelay: true });
    const finish = (err: string | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      s.destroy();
      resolve(err);
    };
    const timer = setTimeout(() => finish('timeout'), timeoutMs);
    s.on('connect', () => s.write(req));
    s.on('error', (e: NodeJS.ErrnoException) => finish(e.code ?? 'error'));
    s.on('data', (chunk: Buffer) => {
      if (bodyExpected >= 0) {
        bodySeen += chunk.length;
        return;
      }
      const buf = head === null ? chunk : Buffer.concat([head, chunk]);
      const idx = buf.indexOf(CRLFCRLF);
      if (idx < 0) {
        head = buf;
        return;
      }
      const text = buf.toString('latin1', 0, idx);
      status = Number(text.slice(9, 12));
      const m = CONTENT_LENGTH.exec(text);
      bodyExpected = m === null ? 0 : Number(m[1]);
      bodySeen = buf.length - idx - 4;
    });
    s.on('close', () => finish('closed'));
    s.on('end', () => {
      if (bodyExpected < 0) finish('no-response');
      else if (status < 200 || status >= 300) finish(`status-${status}`);
      else if (bodySeen < bodyExpected) finish('short-body');
      else finish(null);
    });
  });
}

/** Runs the connection loops in this process. */
export async function runConnRate(opts: ConnRateOptions): Promise<ConnRateResult> {
  if (!(opts.concurrency >= 1) || !(opts.durationS > 0)) {
    throw new MeshError('CONFIG_INVALID', `concurrency and duration must be positive: ${JSON.stringify(opts)}`);
  }
  if (opts.rate !== undefined && !(opts.rate > 0)) throw new MeshError('CONFIG_INVALID', `rate must be positive: ${opts.rate}`);
  const hostHeader = opts.host.includes(':') ? `[${opts.host}]:${opts.port}` : `${opts.host}:${opts.port}`;
  const req = Buffer.from(`GET ${opts.path} HTTP/1.1\r\nHost: ${hostHeader}\r\nConnection: close\r\n\r\n`, 'latin1');
  const timeoutMs = opts.timeoutMs ?? 5000;
  const lat: number[] = [];
  const errorKinds: Record<string, number> = {};
  let errors = 0;
  const t0 = process.hrtime.bigint();
  const endNs = BigInt(Math.round(opts.durationS * 1e9));
  const stepNs = opts.rate === undefined ? 0n : BigInt(Math.round((opts.concurrency / opts.rate) * 1e9));
  const loop = async (_: unknown, i: number): Promise<void> => {
    // Paced loops start staggered so the connections spread evenly over each step.
    let next = t0 + (stepNs * BigInt(i)) / BigInt(opts.concurrency);
    while (process.hrtime.bigint() - t0 < endNs) {
      if (stepNs > 0n) {
        const waitMs = Number(next - process.hrtime.bigint()) / 1e6;
        if (waitMs > 0) await new Promise((r) => setTimeout(r, waitMs));
        next += stepNs;
      }
      const start = process.hrtime.bigint();
      const err = await oneConnection(opts, req, timeoutMs);
      if (err === null) lat.push(Number(process.hrtime.bigint() - start) / 1000);
      else {
        errors++;
        errorKinds[err] = (errorKinds[err] ?? 0) + 1;
      }
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, loop));
  const elapsedS = Number(process.hrtime.bigint() - t0) / 1e9;
  return {
    target: { host: opts.host, port: opts.port, path: opts.path, concurrency: opts.concurrency, durationS: opts.durationS },
    connections: lat.length,
    errors,
    errorKinds,
    connectionsPerSecond: lat.length / elapsedS,
    latencyMs: summarizeMicros(lat),
  };
}

/** The compiled CLI next to this file. */
export const CONN_RATE_CLI = fileURLToPath(new URL('./conn-rate-cli.js', import.meta.url));

/** Runs the loops as a child process (e.g. inside the client pod's netns) and parses its JSON. */
export async function runConnRateIn(runIn: RunIn = runHere, opts: ConnRateOptions): Promise<ConnRateResult> {
  const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  const cmd = [process.execPath, CONN_RATE_CLI, '--url', `${host}:${opts.port}${opts.path}`];
  cmd.push('--concurrency', String(opts.concurrency), '--duration', String(opts.durationS));
  if (opts.timeoutMs !== undefined) cmd.push('--timeout-ms', String(opts.timeoutMs));
  if (opts.rate !== undefined) cmd.push('--rate', String(opts.rate));
  cmd.push('--json');
  const res = await runTool(runIn, cmd, { timeoutMs: opts.durationS * 1000 + 30_000 });
  try {
    return JSON.parse(res.stdout) as ConnRateResult;
  } catch (e) {
    throw new MeshError('BENCH_TOOL', `conn-rate printed no JSON: ${res.stdout.slice(0, 300)}`, { cause: e });
  }
}
