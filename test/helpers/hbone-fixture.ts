// Loopback HBONE rig for tests and the micro bench: an HboneServer behind a test-owned listener,
// upstream TCP targets, HbonePool factories and a mini outbound proxy (app socket → CONNECT stream).

import * as net from 'node:net';
import { once } from 'node:events';
import type { Http2Config, PoolConfig } from '../../src/config/types.js';
import { silentLogger, type Logger } from '../../src/common/log.js';
import {
  HbonePool,
  HboneServer,
  copyBidirectional,
  formatAuthority,
  parseAuthority,
  respondError,
  type HboneClientStream,
  type HboneConnectRequest,
  type HboneInboundRequest,
  type HboneServerErrorPhase,
} from '../../src/hbone/index.js';
import { makeTestPki, type TestCert, type TestPki } from './certs.js';
import { hboneClientTls, hboneServerContext, hboneServerTlsOptions, verifyPeerInTrustDomain } from './hbone-tls.js';

export const SERVER_ID = 'spiffe://cluster.local/ns/default/sa/server';
export const CLIENT_ID = 'spiffe://cluster.local/ns/default/sa/client';

export const TEST_HTTP2: Http2Config = {
  streamWindowBytes: 4 * 1024 * 1024,
  connectionWindowBytes: 16 * 1024 * 1024,
  frameSizeBytes: 1024 * 1024,
  pingIntervalMs: 10_000,
  pingTimeoutMs: 20_000,
};

export const TEST_POOL: PoolConfig = { maxStreamsPerConnection: 100, unusedReleaseTimeoutMs: 300_000 };

export interface InboundRecord {
  readonly req: HboneInboundRequest;
  /** Resolves with the stream's RST code once it closed (0 = clean). */
  readonly closed: Promise<number>;
  upstream?: net.Socket;
}

export interface HboneRig {
  readonly pki: TestPki;
  readonly serverCert: TestCert;
  readonly clientCert: TestCert;
  readonly server: HboneServer;
  readonly serverPort: number;
  /** Raw sockets accepted by the rig's listener, in order. */
  readonly accepted: net.Socket[];
  readonly inbound: InboundRecord[];
  readonly errors: Array<{ err: Error; phase: HboneServerErrorPhase }>;
  /** Replaceable CONNECT handler; the default dials the authority and copies bytes. */
  handler: (req: HboneInboundRequest, rec: InboundRecord) => void;
  newPool(pool?: Partial<PoolConfig>): HbonePool;
  request(authority: string, overrides?: Partial<HboneConnectRequest>): HboneConnectRequest;
  /** A mini outbound proxy: each app connection to the returned port is tunnelled to `authority`. */
  startOutbound(pool: HbonePool, authority: string): Promise<{ port: number; tunnels: Promise<HboneClientStream>[] }>;
  close(): Promise<void>;
}

/** The default inbound handler: connect to the authority, 200 on success, 503 on failure. */
export function dialUpstream(req: HboneInboundRequest, rec: InboundRecord): void {
  const a = parseAuthority(req.authority);
  if (!a || a.kind !== 'ip') {
    respondError(req.stream, 400);
    return;
  }
  const up = net.connect({ host: a.ip, port: a.port, allowHalfOpen: true, noDelay: true });
  rec.upstream = up;
  up.once('connect', () => {
    req.stream.respond({ ':status': 200 });
    void copyBidirectional(up, req.stream);
  });
  up.once('error', () => {
    if (!req.stream.headersSent) respondError(req.stream, 503);
  });
}

export async function startRig(opts: { http2?: Partial<Http2Config>; logger?: Logger } = {}): Promise<HboneRig> {
  const http2Config: Http2Config = { ...TEST_HTTP2, ...opts.http2 };
  const pki = await makeTestPki();
  const serverCert = await pki.issue(SERVER_ID);
  const clientCert = await pki.issue(CLIENT_ID);
  const ctx = hboneServerContext(serverCert);
  const accepted: net.Socket[] = [];
  const inbound: InboundRecord[] = [];
  const errors: Array<{ err: Error; phase: HboneServerErrorPhase }> = [];
  const pools: HbonePool[] = [];
  const outbounds: net.Server[] = [];
  const logger = opts.logger ?? silentLogger();

  const rig = {} as HboneRig;
  const server = new HboneServer({
    http2: http2Config,
    logger,
    secureContextFor: async () => ctx,
    tlsOptions: () => hboneServerTlsOptions(),
    verifyPeer: verifyPeerInTrustDomain('cluster.local'),
    onConnect: (req) => {
      const closed = new Promise<number>((resolve) => req.stream.once('close', () => resolve(req.stream.rstCode ?? 0)));
      const rec: InboundRecord = { req, closed };
      inbound.push(rec);
      rig.handler(req, rec);
    },
    onError: (err, phase) => errors.push({ err, phase }),
  });
  const listener = net.createServer({ pauseOnConnect: true }, (s) => {
    accepted.push(s);
    server.handleSocket(s);
  });
  listener.listen(0, '127.0.0.1');
  await once(listener, 'listening');
  const serverPort = (listener.address() as net.AddressInfo).port;

  Object.assign(rig, {
    pki, serverCert, clientCert, server, serverPort, accepted, inbound, errors,
    handler: dialUpstream,
    newPool(pool: Partial<PoolConfig> = {}): HbonePool {
      const p = new HbonePool({ http2: http2Config, pool: { ...TEST_POOL, ...pool }, connectTimeoutMs: 5_000, logger });
      pools.push(p);
      return p;
    },
    request(authority: string, overrides: Partial<HboneConnectRequest> = {}): HboneConnectRequest {
      return {
        key: `${CLIENT_ID}|${SERVER_ID}|127.0.0.1|${formatAuthority('127.0.0.1', serverPort)}`,
        nextHop: { ip: '127.0.0.1', port: serverPort },
        tls: () => hboneClientTls(clientCert, [SERVER_ID]),
        authority,
        headers: { forwarded: 'for="127.0.0.1:1"' },
        ...overrides,
      };
    },
    async startOutbound(pool: HbonePool, authority: string) {
      const tunnels: Promise<HboneClientStream>[] = [];
      const out = net.createServer({ allowHalfOpen: true }, (app) => {
        app.pause();
        const t = pool.connect(rig.request(authority));
        tunnels.push(t);
        t.then(
          (s) => {
            void copyBidirectional(app, s.stream);
            app.resume();
          },
          () => app.destroy(),
        );
      });
      out.listen(0, '127.0.0.1');
      await once(out, 'listening');
      outbounds.push(out);
      return { port: (out.address() as net.AddressInfo).port, tunnels };
    },
    async close() {
      for (const p of pools) p.destroy();
      server.destroy();
      for (const o of outbounds) o.close();
      listener.close();
      for (const s of accepted) s.destroy();
    },
  });
  return rig;
}

/** A TCP echo target (allowHalfOpen: it ends its side after the client's FIN). */
export async function startEcho(): Promise<{ port: number; server: net.Server; sockets: net.Socket[] }> {
  const sockets: net.Socket[] = [];
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    sockets.push(s);
    s.on('error', () => {});
    s.pipe(s);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { port: (server.address() as net.AddressInfo).port, server, sockets };
}
