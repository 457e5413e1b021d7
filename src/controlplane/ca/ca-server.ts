// A standalone CA endpoint: a grpc-js TLS server carrying only the CA service, with a serving
// certificate from the mesh root. For tests and single-purpose deployments; the control plane
// mounts CaService on its own 15012 server instead.

import * as grpc from '@grpc/grpc-js';
import type { Logger } from '../../common/log.js';
import { MeshError } from '../../common/errors.js';
import type { CaService } from './ca-service.js';
import type { MeshSigner } from './mesh-signer.js';
import { caServerCredentials } from './server-credentials.js';

/** Serving certificate lifetime, seconds (capped by the CA's own lifetime). */
export const CA_SERVER_CERT_TTL_SECONDS = 30 * 24 * 3600;
/** Bound on a graceful close before in-flight calls are cut, ms. */
export const CA_SERVER_CLOSE_TIMEOUT_MS = 5_000;

export interface CaServerOptions {
  readonly service: CaService;
  readonly signer: MeshSigner;
  readonly logger: Logger;
  /** Listen address; default 127.0.0.1. */
  readonly host?: string;
  /** Default 0 (a free port; see `port` after start). */
  readonly port?: number;
  /** Names in the serving certificate (what CA_ADDRESS uses); default localhost, 127.0.0.1, ::1. */
  readonly serverNames?: readonly string[];
}

export class CaServer {
  readonly #options: CaServerOptions;
  #server: grpc.Server | undefined;
  #port = 0;

  constructor(options: CaServerOptions) {
    this.#options = options;
  }

  /** Binds the port (MeshError CA_CONFIG if it cannot). */
  async start(): Promise<void> {
    if (this.#server !== undefined) return;
    const { signer, service, logger } = this.#options;
    const names = this.#options.serverNames ?? ['localhost', '127.0.0.1', '::1'];
    const serving = await signer.issueServerCertificate(names, CA_SERVER_CERT_TTL_SECONDS);
    const server = new grpc.Server();
    service.addTo(server);
    const host = this.#options.host ?? '127.0.0.1';
    const address = host.includes(':') ? `[${host}]:${this.#options.port ?? 0}` : `${host}:${this.#options.port ?? 0}`;
    this.#port = await new Promise<number>((resolve, reject) => {
      server.bindAsync(address, caServerCredentials(serving, signer.rootCertPem), (err, port) =>
        err ? reject(new MeshError('CA_CONFIG', `CA server cannot listen on ${address}: ${err.message}`, { cause: err })) : resolve(port),
      );
    });
    this.#server = server;
    logger.info({ address: this.address, names }, 'CA server listening');
  }

  get port(): number {
    return this.#port;
  }

  /** `https://<host>:<port>`, the CA_ADDRESS node agents use. */
  get address(): string {
    const host = this.#options.host ?? '127.0.0.1';
    return `https://${host.includes(':') ? `[${host}]` : host}:${this.#port}`;
  }

  /** Stops accepting; waits for calls in flight up to CA_SERVER_CLOSE_TIMEOUT_MS, then cuts them. */
  async close(): Promise<void> {
    const server = this.#server;
    if (server === undefined) return;
    this.#server = undefined;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        server.forceShutdown();
        resolve();
      }, CA_SERVER_CLOSE_TIMEOUT_MS);
      timer.unref();
      server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  destroy(): void {
    this.#server?.forceShutdown();
    this.#server = undefined;
  }
}
