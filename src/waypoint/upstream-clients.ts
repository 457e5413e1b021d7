// Connections from the waypoint to cluster endpoints: HBONE CONNECT streams through a pool (the
// waypoint's own certificate, the endpoint's identity expected) or plain TCP for non-mesh
// workloads; on top of them a keep-alive HTTP/1.1 agent or one multiplexed HTTP/2 session per endpoint.

import * as http from 'node:http';
import * as http2 from 'node:http2';
import * as net from 'node:net';
import type { Duplex } from 'node:stream';
import { MeshError, isMeshError } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import { buildForwarded, formatAuthority, newTraceparent, type HbonePool } from '../hbone/index.js';
import type { CertSource } from '../identity/index.js';
import { clientConnectOptions } from '../tls/index.js';
import { buffersOnly } from './buffers-only.js';
import type { UpstreamEndpoint } from './load-balancer.js';

export interface UpstreamClientsInputs {
  readonly pool: HbonePool;
  readonly certs: CertSource;
  /** The waypoint's own SPIFFE id: it presents its certificate upstream, never the client's. */
  readonly identity: string;
  readonly hbonePort: number;
  readonly connectTimeoutMs: number;
  readonly logger: Logger;
}

/** Sockets the http.Agent treats as net.Socket: it calls these on keep-alive; CONNECT streams have none. */
function socketShim(d: Duplex): net.Socket {
  buffersOnly(d);
  const s = d as Duplex & Partial<Record<'setKeepAlive' | 'setNoDelay' | 'ref' | 'unref', unknown>>;
  for (const m of ['setKeepAlive', 'setNoDelay', 'ref', 'unref'] as const) {
    if (typeof s[m] !== 'function') (s as unknown as Record<string, unknown>)[m] = function (this: unknown) { return this; };
  }
  return s as unknown as net.Socket;
}

/** Whether an error happened before any byte reached the endpoint (connect-failure for retries). */
export function isConnectFailure(err: unknown): boolean {
  return isMeshError(err) && ['UPSTREAM_CONNECT', 'CONNECT_TIMEOUT', 'HBONE_STATUS', 'H2_STREAM', 'TLS_HANDSHAKE', 'IDENTITY_MISMATCH', 'CERT_INVALID', 'DRAINING', 'CA_ERROR'].includes(err.code);
}

export class UpstreamClients {
  private readonly agents = new Map<string, http.Agent>();
  private readonly sessions = new Map<string, Promise<http2.ClientHttp2Session>>();
  private readonly streams = new Set<Duplex>();

  constructor(private readonly inputs: UpstreamClientsInputs) {}

  /** A byte stream to the endpoint's target port; rejects with a connect-failure MeshError. */
  async open(ep: UpstreamEndpoint, context: { clientIp: string; clientPort: number; service?: string }): Promise<Duplex> {
    const d = ep.hbone ? await this.openHbone(ep, context) : await this.openTcp(ep);
    this.streams.add(d);
    d.once('close', () => this.streams.delete(d));
    return d;
  }

  private async openHbone(ep: UpstreamEndpoint, context: { clientIp: string; clientPort: number; service?: string }): Promise<Duplex> {
    const { identity, pool } = this.inputs;
    let cert;
    try {
      cert = await this.inputs.certs.fetch(identity, 'realtime');
    } catch (err) {
      throw new MeshError('CA_ERROR', `no certificate for ${identity}: ${(err as Error).message}`, { cause: err });
    }
    const nextHop = { ip: ep.ip, port: this.inputs.hbonePort };
    const { stream } = await pool.connect({
      key: `${identity}|${ep.identity}|${formatAuthority(nextHop.ip, nextHop.port)}`,
      nextHop,
      tls: () => clientConnectOptions(cert, [ep.identity]),
      expectedSans: [ep.identity],
      authority: formatAuthority(ep.ip, ep.port),
      headers: { forwarded: buildForwarded(context.clientIp, context.clientPort, context.service), traceparent: newTraceparent() },
    });
    stream.on('error', () => {});
    return stream;
  }

  private openTcp(ep: UpstreamEndpoint): Promise<Duplex> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ host: ep.ip, port: ep.port, noDelay: true });
      const timer = setTimeout(() => {
        s.destroy();
        reject(new MeshError('CONNECT_TIMEOUT', `tcp connect to ${formatAuthority(ep.ip, ep.port)} timed out`));
      }, this.inputs.connectTimeoutMs);
      s.once('connect', () => {
        clearTimeout(timer);
        s.off('error', onError);
        s.on('error', () => {});
        resolve(s);
      });
      const onError = (err: Error): void => {
        clearTimeout(timer);
        reject(new MeshError('UPSTREAM_CONNECT', `tcp connect to ${formatAuthority(ep.ip, ep.port)} failed: ${err.message}`, { cause: err }));
      };
      s.once('error', onError);
    });
  }

  /** Keep-alive HTTP/1.1 agent whose connections are streams from open(). */
  agentFor(ep: UpstreamEndpoint, context: { clientIp: string; clientPort: number; service?: string }): http.Agent {
    let agent = this.agents.get(ep.key);
    if (!agent) {
      agent = new http.Agent({ keepAlive: true, keepAliveMsecs: 1000, timeout: 60_000 });
      // Async createConnection: Node's Agent waits for the callback (lib/_http_agent.js createSocket).
      (agent as unknown as { createConnection: unknown }).createConnection = (_opts: unknown, cb: (err: Error | null, s?: net.Socket) => void) => {
        this.open(ep, context).then((d) => cb(null, socketShim(d)), (err: Error) => cb(err));
        return undefined;
      };
      this.agents.set(ep.key, agent);
    }
    return agent;
  }

  /** One HTTP/2 session per endpoint over one byte stream, re-made once it closes or goes away. */
  sessionFor(ep: UpstreamEndpoint, context: { clientIp: string; clientPort: number; service?: string }): Promise<http2.ClientHttp2Session> {
    const cached = this.sessions.get(ep.key);
    if (cached) return cached;
    const made = this.open(ep, context).then((d) => {
      const session = http2.connect(`http://${formatAuthority(ep.ip, ep.port)}`, { createConnection: () => d });
      const drop = (): void => {
        if (this.sessions.get(ep.key) === made) this.sessions.delete(ep.key);
      };
      session.on('error', (err) => {
        this.inputs.logger.debug({ endpoint: ep.key, err: err.message }, 'waypoint upstream h2 session error');
        drop();
      });
      session.once('goaway', drop);
      session.once('close', () => {
        drop();
        d.destroy();
      });
      return session;
    });
    made.catch(() => {
      if (this.sessions.get(ep.key) === made) this.sessions.delete(ep.key);
    });
    this.sessions.set(ep.key, made);
    return made;
  }

  /** Closes idle connections; sessions finish their open streams first. */
  close(): void {
    for (const a of this.agents.values()) {
      for (const list of Object.values(a.freeSockets)) for (const s of list ?? []) s.destroy();
    }
    for (const p of this.sessions.values()) p.then((s) => s.close(), () => undefined);
  }

  destroy(): void {
    this.close();
    for (const a of this.agents.values()) a.destroy();
    this.agents.clear();
    for (const p of this.sessions.values()) p.then((s) => s.destroy(), () => undefined);
    this.sessions.clear();
    for (const s of this.streams) s.destroy();
  }
}
