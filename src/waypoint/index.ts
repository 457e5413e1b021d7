// TEMPORARY SHIM (wp-wpbin): stands in for the data-path branch's WaypointProxy (same inputs and
// methods) until it merges: terminates HBONE with the waypoint's certificate and answers every
// CONNECT 503. Enough for `ambit waypoint`'s process tests. Drop at merge.

import * as net from 'node:net';
import type { SecureContext } from 'node:tls';
import type { Logger } from '../common/log.js';
import type { Http2Config, PoolConfig } from '../config/index.js';
import { HboneServer, respondError } from '../hbone/index.js';
import type { CertManager } from '../identity/index.js';
import type { ProxyState } from '../state/index.js';
import { formatSpiffeId, serverSecureContext, serverSocketOptions, verifyClientPeer } from '../tls/index.js';
import type { WaypointConfig } from './model/route-model.js';
import type { WaypointTelemetry } from './telemetry/index.js';

export interface WaypointProxyInputs {
  readonly listen: { readonly ip: string; readonly port: number };
  readonly identity: string;
  readonly trustDomain: string;
  readonly certs: CertManager;
  readonly state: ProxyState;
  readonly http2: Http2Config;
  readonly pool: PoolConfig;
  readonly connectTimeoutMs: number;
  readonly telemetry: WaypointTelemetry;
  readonly logger: Logger;
  readonly random?: () => number;
}

export class WaypointProxy {
  readonly #i: WaypointProxyInputs;
  readonly #server = net.createServer({ pauseOnConnect: true });
  readonly #hbone: HboneServer;
  #config: WaypointConfig | undefined;
  #ctx: { serial: string; ctx: SecureContext } | undefined;

  constructor(i: WaypointProxyInputs) {
    this.#i = i;
    this.#hbone = new HboneServer({
      http2: i.http2,
      logger: i.logger.child({ component: 'hbone-server' }),
      secureContextFor: async () => {
        const cert = await i.certs.fetch(i.identity, 'realtime');
        if (this.#ctx?.serial !== cert.serialNumber) this.#ctx = { serial: cert.serialNumber, ctx: serverSecureContext(cert) };
        return this.#ctx.ctx;
      },
      tlsOptions: (ctx) => serverSocketOptions(ctx),
      verifyPeer: (socket) => formatSpiffeId(verifyClientPeer(socket, i.trustDomain)),
      onConnect: (req) => respondError(req.stream, 503),
    });
    this.#server.on('connection', (s: net.Socket) => this.#hbone.handleSocket(s));
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(this.#i.listen.port, this.#i.listen.ip, () => resolve());
    });
  }

  address(): { ip: string; port: number } {
    const a = this.#server.address() as net.AddressInfo;
    return { ip: a.address, port: a.port };
  }

  setConfig(c: WaypointConfig): void {
    this.#config = c;
  }

  configDump(): unknown {
    return { services: this.#config?.services.map((s) => s.hostname) ?? [] };
  }

  async close(deadlineMs: number): Promise<void> {
    this.#server.close();
    await this.#hbone.close(deadlineMs);
  }

  destroy(): void {
    this.#server.close();
    this.#hbone.destroy();
  }
}
