// A TCP listener that tracks its accepted sockets, so the proxy can stop accepting (close) and,
// at the drain deadline, cut whatever is left (destroy).

import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { MeshError } from '../common/errors.js';
import type { Logger } from '../common/log.js';

export interface ListenerOptions {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly logger: Logger;
  onConnection(socket: Socket): void;
}

export class Listener {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private bound: AddressInfo | undefined;

  constructor(private readonly options: ListenerOptions) {
    this.server = createServer({ allowHalfOpen: true, pauseOnConnect: true, noDelay: true }, (socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
      // Errors on an accepted socket belong to that one connection; never let them escape.
      socket.on('error', (err) => options.logger.debug({ err: err.message, listener: options.name }, 'socket error'));
      try {
        options.onConnection(socket);
      } catch (err) {
        options.logger.error({ err, listener: options.name }, 'connection handler threw');
        socket.destroy();
      }
    });
    this.server.on('error', (err) => options.logger.error({ err, listener: options.name }, 'listener error'));
  }

  get name(): string {
    return this.options.name;
  }

  get address(): AddressInfo | undefined {
    return this.bound;
  }

  get connections(): number {
    return this.sockets.size;
  }

  start(): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException): void => {
        reject(
          new MeshError('CONFIG_INVALID', `${this.options.name}: cannot listen on ${this.options.host}:${this.options.port}: ${err.code ?? err.message}`, {
            cause: err,
          }),
        );
      };
      this.server.once('error', onError);
      this.server.listen({ host: this.options.host, port: this.options.port, backlog: 1024 }, () => {
        this.server.off('error', onError);
        this.bound = this.server.address() as AddressInfo;
        resolve(this.bound);
      });
    });
  }

  /** Stops accepting; accepted connections carry on. */
  close(): void {
    if (this.server.listening) this.server.close();
  }

  /** Stops accepting and destroys every accepted socket. */
  destroy(): void {
    this.close();
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }
}
