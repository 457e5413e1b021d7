// The server pod's application for HTTP measurements: a minimal HTTP/1.1 server on raw sockets that
// answers every request with one fixed body (1 KB by default), kept lean so it is never the bottleneck.

import * as net from 'node:net';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { spawnTool, runHere, type RunIn, type ToolProcess } from './run-in.js';

export interface BenchHttpServerOptions {
  /** Bind address (default 127.0.0.1; "::" or "0.0.0.0" in a pod). */
  readonly host?: string;
  /** 0 = any free port. */
  readonly port?: number;
  /** Response body size in bytes (default 1024). */
  readonly bodyBytes?: number;
}

const CRLFCRLF = Buffer.from('\r\n\r\n');
const REQ_CONTENT_LENGTH = /\r\ncontent-length:[ \t]*(\d+)/i;
const REQ_CLOSE = /\r\nconnection:[ \t]*close/i;
const REQ_KEEPALIVE = /\r\nconnection:[ \t]*keep-alive/i;
/** A request head larger than this is refused (closes the connection): no legitimate bench client sends one. */
const MAX_HEAD = 16 * 1024;

/**
 * Answers `GET <anything>` with 200 and the fixed body. Keep-alive by default, `Connection: close`
 * (or HTTP/1.0 without keep-alive) ends the connection after the response, server first, so that
 * TIME_WAIT lands on the server and connection-rate clients do not run out of ephemeral ports.
 * Request bodies with Content-Length are skipped; pipelined requests are answered in order.
 */
export class BenchHttpServer {
  readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private readonly watchers = new Set<() => void>();
  private readonly keepAliveResponse: Buffer;
  private readonly closeResponse: Buffer;
  /** Requests answered since start. */
  requests = 0;
  /** Connections accepted since start. */
  accepted = 0;

  constructor(private readonly opts: BenchHttpServerOptions = {}) {
    const body = Buffer.alloc(opts.bodyBytes ?? 1024, 'x');
    const head = (extra: string): Buffer =>
      Buffer.from(`HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: ${body.length}\r\n${extra}\r\n`);
    this.keepAliveResponse = Buffer.concat([head(''), body]);
    this.closeResponse = Buffer.concat([head('Connection: close\r\n'), body]);
    this.server = net.createServer({ noDelay: true }, (s) => this.onConnection(s));
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  get host(): string {
    return (this.server.address() as net.AddressInfo).address;
  }

  /** Open client connections right now. */
  get openConnections(): number {
    return this.sockets.size;
  }

  /** Resolves once exactly `n` client connections are open (e.g. all idle connections arrived, or all left). */
  waitForConnections(n: number): Promise<void> {
    return new Promise((resolve) => {
      const check = (): void => {
        if (this.sockets.size !== n) return;
        this.watchers.delete(check);
        resolve();
      };
      this.watchers.add(check);
      check();
    });
  }

  async start(): Promise<void> {
    // A large backlog: connection-rate runs open thousands of connections per second.
    this.server.listen({ host: this.opts.host ?? '127.0.0.1', port: this.opts.port ?? 0, backlog: 4096 });
    await once(this.server, 'listening');
  }

  /** Stops accepting and ends every connection (each is idle between requests: answers are synchronous). */
  async close(): Promise<void> {
    const closed = new Promise<void>((r) => this.server.close(() => r()));
    for (const s of this.sockets) s.end();
    await closed;
  }

  destroy(): void {
    this.server.close();
    for (const s of this.sockets) s.destroy();
  }

  private notify(): void {
    for (const w of [...this.watchers]) w();
  }

  private onConnection(s: net.Socket): void {
    this.accepted++;
    this.sockets.add(s);
    this.notify();
    s.on('close', () => {
      this.sockets.delete(s);
      this.notify();
    });
    s.on('error', () => undefined);
    let pending: Buffer | null = null;
    let skipBody = 0;
    s.on('data', (chunk: Buffer) => {
      let buf = pending === null ? chunk : Buffer.concat([pending, chunk]);
      pending = null;
      let answered = 0;
      let close = false;
      for (;;) {
        if (skipBody > 0) {
          const n = Math.min(skipBody, buf.length);
          skipBody -= n;
          buf = buf.subarray(n);
          if (skipBody > 0) break;
        }
        const idx = buf.indexOf(CRLFCRLF);
        if (idx < 0) {
          if (buf.length > MAX_HEAD) return void s.destroy();
          if (buf.length > 0) pending = Buffer.from(buf); // copy: never retain a slice of a big chunk
          break;
        }
        const head = buf.toString('latin1', 0, idx);
        const cl = REQ_CONTENT_LENGTH.exec(head);
        skipBody = cl === null ? 0 : Number(cl[1]);
        buf = buf.subarray(idx + 4);
        answered++;
        close = REQ_CLOSE.test(head) || (/^[^\r]* HTTP\/1\.0\r/.test(head) && !REQ_KEEPALIVE.test(head));
        if (close) break;
      }
      if (answered === 0) return;
      this.requests += answered;
      if (answered > 1) s.cork();
      for (let i = 0; i < answered - 1; i++) s.write(this.keepAliveResponse);
      if (close) s.end(this.closeResponse);
      else s.write(this.keepAliveResponse);
      if (answered > 1) s.uncork();
    });
  }
}

/** Starts a server in this process. */
export async function startBenchHttpServer(opts: BenchHttpServerOptions = {}): Promise<BenchHttpServer> {
  const srv = new BenchHttpServer(opts);
  await srv.start();
  return srv;
}

/** The compiled CLI next to this file. */
export const HTTP_SERVER_CLI = fileURLToPath(new URL('./http-server-cli.js', import.meta.url));

export interface RemoteHttpServer {
  readonly process: ToolProcess;
  /** The port it listens on (the one asked for, or the one it picked for 0). */
  readonly port: number;
}

/** Starts the server as a child process (e.g. in the server pod's netns); resolves once it listens. */
export async function startBenchHttpServerIn(runIn: RunIn = runHere, opts: BenchHttpServerOptions = {}): Promise<RemoteHttpServer> {
  const argv = [process.execPath, HTTP_SERVER_CLI, '--host', opts.host ?? '0.0.0.0', '--port', String(opts.port ?? 0)];
  if (opts.bodyBytes !== undefined) argv.push('--body-bytes', String(opts.bodyBytes));
  const proc = spawnTool(runIn, argv);
  try {
    await proc.waitFor(/^listening \S+ (\d+)$/m);
  } catch (e) {
    await proc.stop();
    throw e;
  }
  const port = Number(/^listening \S+ (\d+)$/m.exec(proc.output())![1]);
  return { process: proc, port };
}
