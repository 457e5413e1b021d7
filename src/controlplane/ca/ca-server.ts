// A standalone CA endpoint: a grpc-js TLS server carrying only the CA service, with a serving
// certificate from the mesh root. For tests and single-purpose deployments; the control plane
// mounts CaService on its own 15012 server instead.

import * as grpc from '@grpc/grpc-js';
import type { Logger } from '../../common/log.js';
import { MeshError } from '../../common/errors.js';
import { CaService, type CaServiceOptions } from './ca-service.js';
import { MeshSigner, type MeshRootSource } from './mesh-signer.js';
import { caServerCredentials, type CaServerCredentials } from './server-credentials.js';

/** Serving certificate lifetime, seconds (capped by the CA's own lifetime). */
export const CA_SERVER_CERT_TTL_SECONDS = 30 * 24 * 3600;
/** setTimeout's largest delay, ms. */
const MAX_TIMER_MS = 2 ** 31 - 1;
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
  /** Serving certificate lifetime, seconds; renewed at half of it. Default CA_SERVER_CERT_TTL_SECONDS. */
  readonly serverCertTtlSeconds?: number;
}

export class CaServer {
  readonly #options: CaServerOptions;
  #server: grpc.Server | undefined;
  #credentials: CaServerCredentials | undefined;
  #renewTimer: NodeJS.Timeout | undefined;
  #port = 0;

  constructor(options: CaServerOptions) {
    this.#options = options;
  }

  /** Binds the port (MeshError CA_CONFIG if it cannot). */
  async start(): Promise<void> {
    if (this.#server !== undefined) return;
    const { signer, service, logger } = this.#options;
    const names = this.#names();
    const serving = await signer.issueServerCertificate(names, this.#certTtlSeconds());
    const credentials = caServerCredentials(serving, signer.rootCertPem);
    const server = new grpc.Server();
    service.addTo(server);
    const host = this.#options.host ?? '127.0.0.1';
    const address = host.includes(':') ? `[${host}]:${this.#options.port ?? 0}` : `${host}:${this.#options.port ?? 0}`;
    this.#port = await new Promise<number>((resolve, reject) => {
      server.bindAsync(address, credentials, (err, port) =>
        err ? reject(new MeshError('CA_CONFIG', `CA server cannot listen on ${address}: ${err.message}`, { cause: err })) : resolve(port),
      );
    });
    this.#server = server;
    this.#credentials = credentials;
    this.#scheduleRenewal();
    logger.info({ address: this.address, names }, 'CA server listening');
  }

  #certTtlSeconds(): number {
    return this.#options.serverCertTtlSeconds ?? CA_SERVER_CERT_TTL_SECONDS;
  }

  #names(): readonly string[] {
    return this.#options.serverNames ?? ['localhost', '127.0.0.1', '::1'];
  }

  /** A fresh serving certificate at half its lifetime (capped to setTimeout's 24.8-day range). */
  #scheduleRenewal(delayMs = Math.min((this.#certTtlSeconds() * 1000) / 2, MAX_TIMER_MS)): void {
    this.#renewTimer = setTimeout(() => {
      void this.#options.signer.issueServerCertificate(this.#names(), this.#certTtlSeconds()).then(
        (serving) => {
          if (this.#server === undefined) return;
          this.#credentials?.rotate(serving, this.#options.signer.rootCertPem);
          this.#options.logger.info({ address: this.address }, 'CA server certificate renewed');
          this.#scheduleRenewal();
        },
        (err: unknown) => {
          this.#options.logger.error({ err: (err as Error).message }, 'CA server certificate renewal failed; retrying in 1 h');
          if (this.#server !== undefined) this.#scheduleRenewal(3600_000);
        },
      );
    }, delayMs);
    this.#renewTimer.unref();
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
    clearTimeout(this.#renewTimer);
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
    clearTimeout(this.#renewTimer);
    this.#server?.forceShutdown();
    this.#server = undefined;
  }
}

export interface StartedCaServer {
  readonly server: CaServer;
  readonly service: CaService;
  readonly signer: MeshSigner;
  /** Closes the server, then the service and the signer. */
  close(): Promise<void>;
}

/**
 * Standalone start (tests, single-purpose use): loads the root, builds the service and serves it
 * on its own TLS port. The caller owns `tokens` (starts and closes it).
 */
export async function startCaServer(
  options: Omit<CaServiceOptions, 'signer'> &
    Pick<CaServerOptions, 'host' | 'port' | 'serverNames' | 'serverCertTtlSeconds'> & { readonly root: MeshRootSource },
): Promise<StartedCaServer> {
  const { root, host, port, serverNames, serverCertTtlSeconds, ...serviceOptions } = options;
  const signer = await MeshSigner.open({ source: root, trustDomain: options.trustDomain ?? 'cluster.local', logger: options.logger, ...(options.now ? { now: options.now } : {}) });
  const service = new CaService({ ...serviceOptions, signer });
  service.start();
  const server = new CaServer({ service, signer, logger: options.logger, host, port, serverNames, serverCertTtlSeconds });
  try {
    await server.start();
  } catch (err) {
    service.destroy();
    signer.close();
    throw err;
  }
  return {
    server,
    service,
    signer,
    async close() {
      await server.close();
      service.close();
      signer.close();
    },
  };
}
