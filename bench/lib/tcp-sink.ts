// Exact byte accounting through a path: a sink that counts what each connection delivers until EOF
// and answers the count, and a sender that pushes N bytes, half-closes and compares the answer.

import * as net from 'node:net';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { MeshError } from '../../src/common/errors.js';
import { runHere, runTool, spawnTool, type RunIn, type ToolProcess } from './run-in.js';

/** Counts bytes per connection; at the client's EOF writes `<count>\n` and closes. */
export class TcpSink {
  readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  /** Bytes received over all connections that reached EOF. */
  totalBytes = 0;

  constructor(private readonly opts: { readonly host?: string; readonly port?: number } = {}) {
    this.server = net.createServer({ allowHalfOpen: true }, (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
      s.on('error', () => undefined);
      let n = 0;
      s.on('data', (c: Buffer) => {
        n += c.length;
      });
      s.on('end', () => {
        this.totalBytes += n;
        s.end(`${n}\n`);
      });
    });
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  async start(): Promise<void> {
    this.server.listen({ host: this.opts.host ?? '127.0.0.1', port: this.opts.port ?? 0 });
    await once(this.server, 'listening');
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((r) => this.server.close(() => r()));
    for (const s of this.sockets) s.end();
    await closed;
  }

  destroy(): void {
    this.server.close();
    for (const s of this.sockets) s.destroy();
  }
}

export interface CountedTransfer {
  readonly bytesSent: number;
  /** What the sink says it read before our EOF reached it. */
  readonly bytesReceived: number;
  /** bytesSent − bytesReceived; 0 when the path delivered every byte (and the half-close). */
  readonly unaccountedBytes: number;
  readonly seconds: number;
  readonly bitsPerSecond: number;
}

/** Sends `bytes` to a TcpSink (directly or through a proxy path), half-closes, reads its count. */
export async function sendCounted(opts: { readonly host: string; readonly port: number; readonly bytes: number }): Promise<CountedTransfer> {
  const chunk = randomBytes(Math.min(1 << 20, Math.max(1, opts.bytes)));
  const s = net.connect({ host: opts.host, port: opts.port, allowHalfOpen: true });
  s.on('error', () => undefined);
  await once(s, 'connect');
  const t0 = process.hrtime.bigint();
  const reply: Buffer[] = [];
  s.on('data', (c: Buffer) => reply.push(c));
  const ended = once(s, 'end');
  let left = opts.bytes;
  while (left > 0) {
    const piece = left >= chunk.length ? chunk : chunk.subarray(0, left);
    left -= piece.length;
    if (!s.write(piece)) await once(s, 'drain');
  }
  s.end();
  await ended;
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  s.destroy();
  const text = Buffer.concat(reply).toString().trim();
  if (!/^\d+$/.test(text)) throw new MeshError('BENCH_TOOL', `tcp sink answered ${JSON.stringify(text.slice(0, 80))}`);
  const bytesReceived = Number(text);
  return { bytesSent: opts.bytes, bytesReceived, unaccountedBytes: opts.bytes - bytesReceived, seconds, bitsPerSecond: (opts.bytes * 8) / seconds };
}

/** The compiled CLI next to this file. */
export const TCP_SINK_CLI = fileURLToPath(new URL('./tcp-sink-cli.js', import.meta.url));

/** Starts a sink as a child process (e.g. in the server netns); resolves with its port once listening. */
export async function startTcpSinkIn(runIn: RunIn = runHere, opts: { host?: string; port?: number } = {}): Promise<{ process: ToolProcess; port: number }> {
  const proc = spawnTool(runIn, [process.execPath, TCP_SINK_CLI, 'serve', '--host', opts.host ?? '0.0.0.0', '--port', String(opts.port ?? 0)]);
  try {
    await proc.waitFor(/^listening \S+ (\d+)$/m);
  } catch (e) {
    await proc.stop();
    throw e;
  }
  return { process: proc, port: Number(/^listening \S+ (\d+)$/m.exec(proc.output())![1]) };
}

/** Runs the sender as a child process (e.g. in the client netns). */
export async function sendCountedIn(runIn: RunIn = runHere, opts: { host: string; port: number; bytes: number }): Promise<CountedTransfer> {
  const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  const res = await runTool(runIn, [process.execPath, TCP_SINK_CLI, 'send', '--url', `${host}:${opts.port}`, '--bytes', String(opts.bytes)], {
    timeoutMs: 300_000,
  });
  try {
    return JSON.parse(res.stdout) as CountedTransfer;
  } catch (e) {
    throw new MeshError('BENCH_TOOL', `tcp-sink send printed no JSON: ${res.stdout.slice(0, 200)}`, { cause: e });
  }
}
