// Fortio-style fixed-rate HTTP/1.1 load: N keep-alive connections, a total rate R spread evenly over
// them, for D seconds; latency per request from its scheduled send time (coordinated omission avoided).

import * as net from 'node:net';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { MeshError } from '../../src/common/errors.js';
import { summarizeMicros, type LatencySummary } from './latency-stats.js';
import { runHere, runTool, type RunIn } from './run-in.js';

export interface HttpTarget {
  readonly host: string;
  readonly port: number;
  /** Request path, starting with '/'. */
  readonly path: string;
}

export interface LoadOptions extends HttpTarget {
  /** Total requests per second over all connections. */
  readonly rate: number;
  readonly connections: number;
  readonly durationS: number;
  /** A request without a complete response after this long is an error (default 5000 ms). */
  readonly timeoutMs?: number;
  /**
   * Unmeasured requests sent back to back on each connection before the clock starts (default 50):
   * they warm the JIT of both ends and the path's pools, which otherwise inflate the first second's p99.
   */
  readonly warmupRequests?: number;
}

export interface LoadResult {
  readonly target: HttpTarget & { readonly rate: number; readonly connections: number; readonly durationS: number };
  /** Requests answered 2xx. */
  readonly count: number;
  /** Failed requests: non-2xx, connection errors, protocol errors, timeouts. */
  readonly errors: number;
  readonly errorKinds: Record<string, number>;
  /** count / durationS. */
  readonly achievedRate: number;
  /**
   * The latency figure to report. Measured from the actual send, except when the request was due
   * while the previous response on its connection was still outstanding: then from the scheduled
   * time, so a stalled server is charged for the wait (the coordinated-omission correction) while
   * the generator's own timer granularity (libuv timers are 1 ms) is not.
   */
  readonly latencyMs: LatencySummary;
  /** Strictly from the scheduled send time (wrk2's definition): includes timer lateness (≤ ~1 ms). */
  readonly latencyFromScheduleMs: LatencySummary;
  /**
   * How late the measured sends left relative to schedule (warm-up excluded; count = sends): the
   * generator's health (high = generator-bound).
   */
  readonly sendLagMs: LatencySummary;
  /** Requests that became due while their connection still waited for the previous response. */
  readonly late: number;
}

const CRLFCRLF = Buffer.from('\r\n\r\n');
const CONTENT_LENGTH = /\r\ncontent-length:[ \t]*(\d+)/i;
const CONNECTION_CLOSE = /\r\nconnection:[ \t]*close/i;

/** Parses `host:port/path`, `http://host:port/path` or `[v6]:port/path`. */
export function parseTarget(url: string): HttpTarget {
  const u = new URL(/^[a-z]+:\/\//i.test(url) ? url : `http://${url}`);
  if (u.protocol !== 'http:') throw new MeshError('CONFIG_INVALID', `only http:// targets are supported: ${url}`);
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  return { host, port: u.port === '' ? 80 : Number(u.port), path: (u.pathname || '/') + u.search };
}

/** Builds the request bytes once; every request on every connection reuses them. */
function requestBytes(t: HttpTarget): Buffer {
  const hostHeader = t.host.includes(':') ? `[${t.host}]:${t.port}` : `${t.host}:${t.port}`;
  return Buffer.from(`GET ${t.path} HTTP/1.1\r\nHost: ${hostHeader}\r\nUser-Agent: ambit-bench\r\n\r\n`, 'latin1');
}

/** Runs the load in this process. */
export async function runLoad(opts: LoadOptions): Promise<LoadResult> {
  if (!(opts.rate > 0) || !(opts.connections >= 1) || !(opts.durationS > 0)) {
    throw new MeshError('CONFIG_INVALID', `rate, connections and duration must be positive: ${JSON.stringify(opts)}`);
  }
  const timeoutNs = (opts.timeoutMs ?? 5000) * 1e6;
  const req = requestBytes(opts);
  const lat: number[] = [];
  const latSched: number[] = [];
  const lag: number[] = [];
  const errorKinds: Record<string, number> = {};
  let errors = 0;
  let late = 0;
  let t0 = process.hrtime.bigint();
  /** Nanoseconds since t0, as a double (exact well beyond any run length). */
  const now = (): number => Number(process.hrtime.bigint() - t0);
  const intervalNs = (opts.connections * 1e9) / opts.rate;
  const endNs = opts.durationS * 1e9;
  let running = opts.connections;
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));

  const fail = (kind: string): void => {
    errors++;
    errorKinds[kind] = (errorKinds[kind] ?? 0) + 1;
  };

  /** One keep-alive connection and its request schedule. */
  class Conn {
    socket: net.Socket | null = null;
    due = 0;
    sentAt = 0;
    inflight = false;
    blocked = false;
    finished = false;
    pending: Buffer | null = null;
    bodyLeft = -1;
    closeAfter = false;
    status = 0;
    timer: NodeJS.Timeout | null = null;
    warmLeft = 0;
    warmDone: ((err?: Error) => void) | null = null;

    /** Sends `n` requests back to back, unmeasured; rejects on the first failure. */
    warm(n: number): Promise<void> {
      if (n <= 0) return Promise.resolve();
      return new Promise((resolve, reject) => {
        this.warmLeft = n;
        this.warmDone = (err) => {
          this.warmDone = null;
          this.warmLeft = 0;
          if (err) reject(err);
          else resolve();
        };
        this.send();
      });
    }

    async connect(): Promise<void> {
      const s = net.connect({ host: opts.host, port: opts.port, noDelay: true });
      this.socket = s;
      s.on('data', (c: Buffer) => this.onData(c));
      s.on('error', () => undefined);
      s.on('close', () => this.onClose(s));
      await once(s, 'connect');
    }

    schedule(): void {
      // Slots still overdue when the run's time is up are never sent: a path slower than the
      // asked rate shows as achievedRate < rate (and as queueing in latencyMs), not as a longer run.
      if (this.due >= endNs || now() >= endNs) return this.finish();
      const waitNs = this.due - now();
      // Below 1 ms a timer cannot do better than "now": send (at most 1 ms early; the schedule
      // advances from `due`, not from the send, so the rate is unaffected).
      if (waitNs < 1e6) this.send();
      else this.timer = setTimeout(() => this.send(), Math.floor(waitNs / 1e6));
    }

    send(): void {
      this.timer = null;
      const s = this.socket;
      if (s === null || s.destroyed) {
        // Reconnect on demand after the server closed or an error; the connect time is charged.
        this.socket = null;
        this.connect().then(
          () => this.send(),
          () => {
            fail('connect');
            this.advance();
          },
        );
        return;
      }
      this.sentAt = now();
      // Warm-up requests go back to back, off the schedule (their `due` is 0 on a clock restarted
      // after them): their "lag" would only be time since the start, so they are not counted.
      if (this.warmDone === null) lag.push(Math.max(0, this.sentAt - this.due) / 1000);
      this.inflight = true;
      this.bodyLeft = -1;
      this.pending = null;
      s.write(req);
    }

    onData(chunk: Buffer): void {
      if (!this.inflight) return this.abort('unexpected-data');
      if (this.bodyLeft >= 0) {
        this.bodyLeft -= chunk.length;
        if (this.bodyLeft === 0) this.complete();
        else if (this.bodyLeft < 0) this.abort('protocol');
        return;
      }
      const buf = this.pending === null ? chunk : Buffer.concat([this.pending, chunk]);
      const idx = buf.indexOf(CRLFCRLF);
      if (idx < 0) {
        this.pending = buf;
        return;
      }
      this.pending = null;
      const head = buf.toString('latin1', 0, idx);
      const m = CONTENT_LENGTH.exec(head);
      if (m === null || !head.startsWith('HTTP/1.')) return this.abort('protocol');
      this.status = Number(head.slice(9, 12));
      this.closeAfter = CONNECTION_CLOSE.test(head);
      this.bodyLeft = Number(m[1]) - (buf.length - idx - 4);
      if (this.bodyLeft === 0) this.complete();
      else if (this.bodyLeft < 0) this.abort('protocol'); // bytes beyond the response: we never pipeline
    }

    complete(): void {
      const end = now();
      this.inflight = false;
      if (this.warmDone !== null) {
        if (this.status < 200 || this.status >= 300) return this.warmDone(new Error(`warm-up request answered ${this.status}`));
        if (this.closeAfter) this.socket?.destroy();
        if (--this.warmLeft > 0) this.send();
        else this.warmDone();
        return;
      }
      if (this.status >= 200 && this.status < 300) {
        lat.push((end - (this.blocked ? this.due : this.sentAt)) / 1000);
        latSched.push((end - Math.min(this.due, this.sentAt)) / 1000);
      } else fail(`status-${this.status}`);
      if (this.closeAfter) this.socket?.destroy();
      this.advance(end);
    }

    /** Moves to the next slot; `blocked` records whether it became due while we were busy. */
    advance(end = now()): void {
      this.due += intervalNs;
      this.blocked = end > this.due;
      if (this.blocked && this.due < endNs) late++;
      this.schedule();
    }

    abort(kind: string): void {
      if (this.warmDone !== null) {
        this.socket?.destroy();
        return this.warmDone(new Error(`warm-up request failed: ${kind}`));
      }
      fail(kind);
      this.inflight = false;
      const s = this.socket;
      this.socket = null;
      s?.destroy();
      this.advance();
    }

    onClose(s: net.Socket): void {
      if (s !== this.socket) return;
      this.socket = null;
      if (this.inflight) {
        this.inflight = false;
        if (this.warmDone !== null) return this.warmDone(new Error('connection closed during warm-up'));
        fail('closed');
        this.advance();
      }
    }

    finish(): void {
      if (this.finished) return;
      this.finished = true;
      if (--running === 0) resolveDone();
    }
  }

  const conns = Array.from({ length: opts.connections }, () => new Conn());
  try {
    await Promise.all(conns.map((c) => c.connect()));
    await Promise.all(conns.map((c) => c.warm(opts.warmupRequests ?? 50)));
  } catch (e) {
    for (const c of conns) c.socket?.destroy();
    throw new MeshError('BENCH_TOOL', `cannot connect to or warm up ${opts.host}:${opts.port}: ${(e as Error).message}`, { cause: e });
  }
  t0 = process.hrtime.bigint();
  // Stagger the connections evenly inside one interval so the total stream is evenly spaced.
  conns.forEach((c, i) => {
    c.due = (i * intervalNs) / opts.connections;
    c.schedule();
  });
  // One watchdog for all connections instead of a timer per request (cheap at thousands req/s).
  const watchdog = setInterval(() => {
    const t = now();
    for (const c of conns) if (c.inflight && t - c.sentAt > timeoutNs) c.abort('timeout');
  }, 50);
  try {
    await done;
  } finally {
    clearInterval(watchdog);
    for (const c of conns) {
      if (c.timer) clearTimeout(c.timer);
      c.socket?.destroy();
    }
  }
  return {
    target: { host: opts.host, port: opts.port, path: opts.path, rate: opts.rate, connections: opts.connections, durationS: opts.durationS },
    count: lat.length,
    errors,
    errorKinds,
    achievedRate: lat.length / opts.durationS,
    latencyMs: summarizeMicros(lat),
    latencyFromScheduleMs: summarizeMicros(latSched),
    sendLagMs: summarizeMicros(lag),
    late,
  };
}

/** The compiled CLI next to this file (dist/bench/lib/load-generator-cli.js). */
export const LOAD_GENERATOR_CLI = fileURLToPath(new URL('./load-generator-cli.js', import.meta.url));

/** The CLI argv for `opts` (node + script + flags), for running through a RunIn. */
export function loadGeneratorCommand(opts: LoadOptions): string[] {
  const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  const argv = [process.execPath, LOAD_GENERATOR_CLI, '--url', `${host}:${opts.port}${opts.path}`];
  argv.push('--rate', String(opts.rate), '--connections', String(opts.connections), '--duration', String(opts.durationS));
  if (opts.timeoutMs !== undefined) argv.push('--timeout-ms', String(opts.timeoutMs));
  if (opts.warmupRequests !== undefined) argv.push('--warmup-requests', String(opts.warmupRequests));
  return [...argv, '--json'];
}

/** Runs the load as a child process (e.g. inside the client pod's netns) and parses its JSON. */
export async function runLoadIn(runIn: RunIn = runHere, opts: LoadOptions): Promise<LoadResult> {
  const res = await runTool(runIn, loadGeneratorCommand(opts), { timeoutMs: opts.durationS * 1000 + 30_000 });
  try {
    return JSON.parse(res.stdout) as LoadResult;
  } catch (e) {
    throw new MeshError('BENCH_TOOL', `load generator printed no JSON: ${res.stdout.slice(0, 300)}`, { cause: e });
  }
}
