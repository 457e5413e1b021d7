// A TCP listener that tracks its accepted sockets, so the proxy can stop accepting (close) and,
// at the drain deadline, cut whatever is left (destroy). The listening socket is either bound here
// (agent namespace) or made elsewhere and handed over (a socket created inside a pod's netns).

import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { MeshError } from '../common/errors.js';
import { resetTcp } from '../hbone/index.js';
import type { Logger } from '../common/log.js';

export interface ListenerOptions {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly logger: Logger;
  onConnection(socket: Socket): void;
  /** Supplies an already-listening server (in-pod); default: bind host:port in this namespace. */
  readonly open?: () => Promise<Server>;
}

export class Listener {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private bound: AddressInfo | undefined;

  get name(): string {
    return this.options.name;
  }

  get address(): AddressInfo | undefined {
    return this.bound;
  }

  get connections(): number {
    return this.sockets.size;
  }

  /** Shared by every accepted socket (`this` is the socket): no closures per connection. */
  private readonly onSocketClose: (this: Socket) => void;
  private readonly onSocketError: (err: Error) => void;

  constructor(private readonly options: ListenerOptions) {
    const sockets = this.sockets;
    // 'close' is emitted once: `on` spares the once-wrapper and its removal.
    this.onSocketClose = function (this: Socket) {
      sockets.delete(this);
    };
    // Errors on an accepted socket belong to that one connection; never let them escape.
    this.onSocketError = (err) => {
      if (options.logger.isLevelEnabled('debug')) options.logger.debug({ err: err.message, listener: options.name }, 'socket error');
    };
  }

  private accept(socket: Socket): void {
    const { logger, name } = this.options;
    this.sockets.add(socket);
    socket.on('close', this.onSocketClose);
    socket.on('error', this.onSocketError);
    try {
      this.options.onConnection(socket);
    } catch (err) {
      logger.error({ err, listener: name }, 'connection handler threw');
      socket.destroy();
    }
  }

  async start(): Promise<AddressInfo> {
    const server = this.options.open ? await this.options.open() : await this.bindHere();
    this.server = server;
    server.on('connection', (s: Socket) => this.accept(s));
    server.on('error', (err) => this.options.logger.error({ err, listener: this.options.name }, 'listener error'));
    this.bound = server.address() as AddressInfo;
    return this.bound;
  }

  private bindHere(): Promise<Server> {
    const server = createServer({ allowHalfOpen: true, pauseOnConnect: true, noDelay: true });
    return new Promise((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) => {
        reject(
          new MeshError('CONFIG_INVALID', `${this.options.name}: cannot listen on ${this.options.host}:${this.options.port}: ${err.code ?? err.message}`, {
            cause: err,
          }),
        );
      });
      server.listen({ host: this.options.host, port: this.options.port, backlog: 1024 }, () => {
        server.removeAllListeners('error');
        resolve(server);
      });
    });
  }

  /** Stops accepting; accepted connections carry on. */
  close(): void {
    if (this.server?.listening) this.server.close();
  }

  /**
   * Stops accepting and aborts every accepted socket with RST: a connection cut at the drain
   * deadline must not look to its app like one that ended cleanly.
   */
  destroy(): void {
    this.close();
    for (const s of this.sockets) resetTcp(s);
    this.sockets.clear();
  }
}
