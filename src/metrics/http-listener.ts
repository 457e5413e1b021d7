// A minimal HTTP/1 listener with the house lifecycle (start / graceful close / destroy), shared by
// the stats, readiness and admin servers. Handlers are sync or async; a throw becomes a 500.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MeshError } from '../common/errors.js';
import type { Logger } from '../common/log.js';

export type HttpHandler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

export interface HttpListenerOptions {
  /** Used in errors and logs, e.g. `stats`, `admin`, `readiness`. */
  readonly name: string;
  readonly host: string;
  /** 0 picks a free port (tests). */
  readonly port: number;
  readonly handler: HttpHandler;
  readonly logger?: Logger;
}

/** Writes a complete plain response; the one way our servers answer. */
export function reply(res: ServerResponse, status: number, body: string, contentType = 'text/plain; charset=utf-8'): void {
  const buf = Buffer.from(body, 'utf8');
  res.writeHead(status, { 'content-type': contentType, 'content-length': buf.length });
  res.end(res.req.method === 'HEAD' ? undefined : buf);
}

/** Path without the query string. */
export function pathOf(req: IncomingMessage): string {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

export class HttpListener {
  private readonly server: Server;
  private state: 'idle' | 'listening' | 'closed' = 'idle';

  constructor(private readonly options: HttpListenerOptions) {
    this.server = createServer((req, res) => this.dispatch(req, res));
    // Admin-style endpoints are tiny; keep-alive sockets must not hold close() open for long.
    this.server.keepAliveTimeout = 5_000;
  }

  private dispatch(req: IncomingMessage, res: ServerResponse): void {
    const fail = (err: unknown): void => {
      this.options.logger?.warn({ err, server: this.options.name, url: req.url }, 'http handler failed');
      if (!res.headersSent) reply(res, 500, 'internal error\n');
      else res.destroy();
    };
    try {
      const p = this.options.handler(req, res);
      if (p !== undefined) p.catch(fail);
    } catch (err) {
      fail(err);
    }
  }

  /** Binds host:port; resolves with the bound address. */
  start(): Promise<AddressInfo> {
    if (this.state !== 'idle') return Promise.reject(new MeshError('INTERNAL', `${this.options.name} server already started`));
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => {
        reject(
          new MeshError('INTERNAL', `${this.options.name} server could not listen on ${this.options.host}:${this.options.port}: ${(err as NodeJS.ErrnoException).code ?? err.message}`, {
            cause: err,
          }),
        );
      };
      this.server.once('error', onError);
      this.server.listen({ host: this.options.host, port: this.options.port }, () => {
        this.server.off('error', onError);
        this.state = 'listening';
        resolve(this.server.address() as AddressInfo);
      });
    });
  }

  address(): AddressInfo | undefined {
    const a = this.server.address();
    return a === null || typeof a === 'string' ? undefined : a;
  }

  /** Graceful: stop accepting, drop idle keep-alive sockets, resolve when in-flight requests end. */
  close(): Promise<void> {
    if (this.state !== 'listening') {
      this.state = 'closed';
      return Promise.resolve();
    }
    this.state = 'closed';
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeIdleConnections();
    });
  }

  /** Immediate: closes every socket, in-flight or not. */
  destroy(): void {
    const wasListening = this.state === 'listening';
    this.state = 'closed';
    if (wasListening) this.server.close();
    this.server.closeAllConnections();
  }
}

/**
 * Base of the stats, readiness and admin servers: one HttpListener whose lifecycle they expose,
 * and a `handle` each implements. The listener calls `handle` only after construction completes.
 */
export abstract class HttpEndpoint {
  protected readonly listener: HttpListener;

  protected constructor(options: Omit<HttpListenerOptions, 'handler'>) {
    this.listener = new HttpListener({ ...options, handler: (req, res) => this.handle(req, res) });
  }

  protected abstract handle(req: IncomingMessage, res: ServerResponse): void | Promise<void>;

  start(): Promise<AddressInfo> {
    return this.listener.start();
  }

  address(): AddressInfo | undefined {
    return this.listener.address();
  }

  close(): Promise<void> {
    return this.listener.close();
  }

  destroy(): void {
    this.listener.destroy();
  }
}
