// In-process waypoint rig: a test PKI, a ProxyState with a client, two server workloads (v1, v2)
// and a mirror workload, each behind real HBONE termination on its own loopback IP, a plaintext
// (non-mesh, tunnel protocol TCP) workload, HTTP/1.1, HTTP/2 and TCP echo backends, a
// WaypointProxy, and a client speaking HTTP over CONNECT streams.

import * as http from 'node:http';
import * as http2 from 'node:http2';
import * as net from 'node:net';
import { once } from 'node:events';
import type { Duplex } from 'node:stream';
import { silentLogger, type Logger } from '../../src/common/log.js';
import { HbonePool, HboneServer, type HboneClientStream } from '../../src/hbone/index.js';
import { workloadCertificateFromChain, type CertSource, type WorkloadCertificate } from '../../src/identity/index.js';
import { createRegistry, type Registry } from '../../src/metrics/index.js';
import { ProxyState, type Locality, type Service, type Workload } from '../../src/state/index.js';
import { WaypointProxy, clusterName, WAYPOINT_CONFIG_VERSION, type Cluster, type Route, type WaypointConfig, type WaypointProxyInputs, type WaypointSecurityConfig } from '../../src/waypoint/index.js';
import { buffersOnly } from '../../src/waypoint/buffers-only.js';
import { WaypointTelemetry } from '../../src/waypoint/telemetry/index.js';
import { makeTestPki, type TestPki } from './certs.js';
import { TEST_HTTP2, TEST_POOL, dialUpstream } from './hbone-fixture.js';
import { hboneClientTls, hboneServerContext, hboneServerTlsOptions, verifyPeerInTrustDomain } from './hbone-tls.js';
import { randomLoopbackPrefix } from './tcp.js';
import { tunnelListener } from './tunnel-listener.js';

export const TD = 'cluster.local';
export const NS = 'default';
export const WAYPOINT_ID = `spiffe://${TD}/ns/${NS}/sa/waypoint`;
export const CLIENT_ID = `spiffe://${TD}/ns/${NS}/sa/sleep`;
export const HOST = `reviews.${NS}.svc.cluster.local`;
export const MIRROR_HOST = `mirror.${NS}.svc.cluster.local`;
export const VIP = '10.96.0.10';
export const MIRROR_VIP = '10.96.0.11';
export const LEGACY_HOST = `legacy.${NS}.svc.cluster.local`;
export const LEGACY_VIP = '10.96.0.12';
/** The waypoint's own Service (named after its Gateway, as istiod makes it); workloads' `waypoint`. */
export const WAYPOINT_VIP = '10.96.0.100';
const WAYPOINT_ADDRESS = { destination: { kind: 'address', network: '', ip: WAYPOINT_VIP }, hboneMtlsPort: 15008 } as const;
/** Service ports: 80 http, 81 http2 (gRPC-ish), 82 tcp; target ports 8080 / 9090 / 7070. */
export const HTTP_PORT = 80;
export const H2_PORT = 81;
export const TCP_PORT = 82;
export const DEFAULT_CLUSTER = clusterName(HOST, HTTP_PORT);
export const H2_CLUSTER = clusterName(HOST, H2_PORT);
export const MIRROR_CLUSTER = clusterName(MIRROR_HOST, HTTP_PORT);
export const LEGACY_CLUSTER = clusterName(LEGACY_HOST, HTTP_PORT);
export const LEGACY_H2_CLUSTER = clusterName(LEGACY_HOST, H2_PORT);

/** `waypoint`: a workload that is an endpoint of a service uses the rig's waypoint unless told. */
export function workload(p: { name: string; ip: string; sa: string; services?: Map<string, Map<number, number>>; version?: string; locality?: Locality; protocol?: 'HBONE' | 'TCP'; waypoint?: Workload['waypoint'] | null }): Workload {
  return {
    uid: `Kubernetes//Pod/${NS}/${p.name}`, name: p.name, namespace: NS, workloadIps: [p.ip], hostname: '', network: '', protocol: p.protocol ?? 'HBONE',
    trustDomain: TD, serviceAccount: p.sa, waypoint: p.waypoint === null ? undefined : p.waypoint ?? (p.services && p.services.size > 0 ? WAYPOINT_ADDRESS : undefined), networkGateway: undefined, node: 'node-a', canonicalName: p.name,
    canonicalRevision: p.version ?? 'latest', workloadType: 'pod', workloadName: p.name, nativeTunnel: false, applicationTunnel: undefined,
    services: p.services ?? new Map(), authorizationPolicies: [], status: 'Healthy', clusterId: 'Kubernetes',
    locality: p.locality ?? { region: '', zone: '', subzone: '' }, networkMode: 'Standard', capacity: 1, netns: undefined,
  };
}

function service(name: string, vip: string, ports: Map<number, number>): Service {
  return {
    name, namespace: NS, hostname: `${name}.${NS}.svc.cluster.local`, vips: [{ network: '', ip: vip }], cidrVips: [], ports,
    subjectAltNames: [], waypoint: name === 'waypoint' ? undefined : WAYPOINT_ADDRESS,
    weightedWaypoints: [], loadBalancer: undefined, ipFamilies: 'IPv4', canonical: true, visibility: 'Public',
  };
}

export interface BackendHit {
  readonly who: string;
  readonly method: string;
  readonly url: string;
  readonly rawHeaders: string[];
  readonly body: string;
  /** The backend socket's peer `ip:port`: one value per upstream connection the waypoint made. */
  readonly conn: string;
}

/** A backend request handler taking over from the default JSON answer (the body is not read for it). */
export type BackendHandler = (
  who: string,
  req: http.IncomingMessage | http2.Http2ServerRequest,
  res: http.ServerResponse | http2.Http2ServerResponse,
) => void;

export interface WaypointRig {
  readonly proxy: WaypointProxy;
  readonly state: ProxyState;
  /** The registry of the waypoint's telemetry, security, upstream-policy and bad-request metrics. */
  readonly registry: Registry;
  /** `legacy`: a plaintext (tunnel protocol TCP) workload; `down`: an IP nothing listens on. */
  readonly ips: { client: string; v1: string; v2: string; mirror: string; legacy: string; down: string; waypoint: string; prefix: string; extra: Record<string, string> };
  /** Every request each backend received, in order. */
  readonly hits: BackendHit[];
  /** Per-path scripted statuses: the backend answers them in order, then 200. */
  readonly script: Map<string, number[]>;
  /** Path prefix → handler, checked in insertion order before the default answer (hits still recorded, body ''). */
  readonly handlers: Map<string, BackendHandler>;
  /** Replaces the state's workloads with `fn(current)` (services and policies kept). */
  setWorkloads(fn: (current: readonly Workload[]) => Workload[]): void;
  /** The registry's Prometheus text. */
  metrics(): Promise<string>;
  /** A plaintext TCP listener on 127.0.0.1 whose every connection is tunnelled to `authority` (curl, python). */
  plain(authority?: string): Promise<{ port: number; close(): void }>;
  config(routes: { http?: Route[]; h2?: Route[] }, clusters?: Cluster[], security?: WaypointSecurityConfig): void;
  /** A CONNECT stream from the client to `authority` (default VIP:80). */
  connect(authority?: string): Promise<HboneClientStream>;
  /** One HTTP/1.1 request over a fresh CONNECT stream (or `agent`). */
  request(opts: http.RequestOptions & { body?: string; authority?: string; agent?: http.Agent }): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string; trailers: NodeJS.Dict<string> }>;
  /** An http.Agent whose connections are CONNECT streams to `authority`. */
  agent(authority?: string): http.Agent;
  close(): Promise<void>;
}

function collect(s: NodeJS.EventEmitter): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    s.on('data', (c: Buffer) => parts.push(c));
    s.on('end', () => resolve(Buffer.concat(parts).toString()));
    s.on('error', reject);
  });
}

/** Deadline of rig.request, ms (generous: the machine is shared). */
const REQUEST_DEADLINE_MS = 30_000;

export function baseCluster(name: string, host: string, port: number, extra: Partial<Cluster> = {}): Cluster {
  return { name, hostname: host, namespace: NS, port, protocol: 'http1', lb: { kind: 'ROUND_ROBIN' }, connectTimeoutMs: 2000, ...extra };
}

/**
 * `extra`: more endpoints of reviews (IPs `<prefix>.21`, `.22`, ...) besides v1 and v2;
 * `localities`: per backend (`v1`, `v2`, extra names); `locality`: the waypoint's own.
 */
export interface WaypointRigOptions {
  readonly random?: () => number;
  readonly security?: WaypointProxyInputs['security'];
  readonly accessLog?: Logger;
  readonly extra?: readonly string[];
  readonly localities?: Readonly<Record<string, Locality>>;
  readonly locality?: Locality;
  /** The backends close connections idle this long, unannounced (HTTP/1.1 keepAliveTimeout, else Node's 5 s; HTTP/2 without GOAWAY, else never). */
  readonly backendKeepAliveTimeoutMs?: number;
  /**
   * Per backend, who takes its HTTP/2 port's (:9090) connections instead of the rig's HTTP/2
   * server: e.g. a grpc-js `Server.createConnectionInjector` (a real gRPC service behind HBONE).
   */
  readonly h2Backend?: (who: string) => { injectConnection(connection: Duplex): void } | undefined;
}

export async function startWaypointRig(opts: WaypointRigOptions = {}): Promise<WaypointRig> {
  const prefix = randomLoopbackPrefix();
  const extraIps = Object.fromEntries((opts.extra ?? []).map((who, i) => [who, `${prefix}.${21 + i}`]));
  const ips = { client: `${prefix}.2`, v1: `${prefix}.11`, v2: `${prefix}.12`, mirror: `${prefix}.13`, legacy: `${prefix}.14`, down: `${prefix}.15`, waypoint: `${prefix}.100`, prefix, extra: extraIps };
  const pki: TestPki = await makeTestPki();
  const certCache = new Map<string, WorkloadCertificate>();
  const certs: CertSource = {
    async fetch(id) {
      let c = certCache.get(id);
      if (!c) {
        const t = await pki.issue(id);
        c = workloadCertificateFromChain(id, [t.certChainPem, t.rootPem], t.keyPem);
        certCache.set(id, c);
      }
      return c;
    },
    prefetch() {},
  };
  const hits: BackendHit[] = [];
  const script = new Map<string, number[]>();
  const handlers = new Map<string, BackendHandler>();
  const closers: Array<() => void> = [];
  const logger = silentLogger();
  /** The HTTP/2 backends' TCP sockets by peer address (a session's own socket cannot be destroyed directly). */
  const h2Sockets = new Map<string, net.Socket>();

  // Backends: HTTP/1.1 on :8080, HTTP/2 (h2c) on :9090, TCP echo on :7070, per workload IP.
  const onHttp = (who: string) => async (req: http.IncomingMessage | http2.Http2ServerRequest, res: http.ServerResponse | http2.Http2ServerResponse): Promise<void> => {
    const conn = `${req.socket.remoteAddress}:${req.socket.remotePort}`;
    for (const [prefix, h] of handlers) {
      if (!(req.url ?? '').startsWith(prefix)) continue;
      hits.push({ who, method: req.method ?? '', url: req.url ?? '', rawHeaders: req.rawHeaders, body: '', conn });
      h(who, req, res);
      return;
    }
    const body = await collect(req).catch(() => undefined);
    if (body === undefined) return;
    hits.push({ who, method: req.method ?? '', url: req.url ?? '', rawHeaders: req.rawHeaders, body, conn });
    const u = new URL(req.url ?? '/', 'http://x');
    // `status-<who>` / `delay-<who>`: only that backend answers with that status / that late.
    const scripted = script.get(u.pathname)?.shift() ?? (u.searchParams.has(`status-${who}`) ? Number(u.searchParams.get(`status-${who}`)) : undefined);
    const delay = Number(u.searchParams.get(`delay-${who}`) ?? u.searchParams.get('delay') ?? 0);
    if (delay > 0) await new Promise((r) => setTimeout(r, delay));
    // `close` / `close-<who>`: the backend closes its connection without answering (HTTP/2: its
    // transport, without GOAWAY), as a server whose keep-alive timeout fires as the request arrives.
    if (u.searchParams.has('close') || u.searchParams.has(`close-${who}`)) {
      if ('stream' in res) h2Sockets.get(`${req.socket.remoteAddress}:${req.socket.remotePort}`)?.destroy();
      else req.socket.destroy();
      return;
    }
    if (res.writableEnded || (res as http.ServerResponse).destroyed) return;
    const status = scripted ?? 200;
    res.setHeader('x-backend', who);
    // Set by hand, `Connection` keeps Node from announcing `Keep-Alive: timeout=<s>` (which its
    // client would act on): the backend closes idle connections unannounced, as most servers do.
    if (opts.backendKeepAliveTimeoutMs !== undefined && !('stream' in res)) res.setHeader('connection', 'keep-alive');
    res.setHeader('content-type', 'application/json');
    if ('stream' in res && u.pathname.startsWith('/grpc-fail')) {
      // gRPC "Trailers-Only": one HEADERS frame with END_STREAM carrying the status (grpc-js errors).
      res.stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '5', 'grpc-message': 'not found' }, { endStream: true });
      return;
    }
    if ('stream' in res && u.pathname.startsWith('/grpc')) {
      res.setHeader('content-type', 'application/grpc');
      res.writeHead(200);
      res.write(Buffer.from([0, 0, 0, 0, 2, 8, 1]));
      res.addTrailers({ 'grpc-status': '0', 'grpc-message': 'ok' });
      res.end();
      return;
    }
    // `close-idle=<ms>`: the backend closes the connection that long after answering, as an HTTP/1.1
    // server's keep-alive timeout closes an idle connection (Node's default: 5 s).
    const closeIdle = Number(u.searchParams.get('close-idle') ?? 0);
    if (closeIdle > 0 && !('stream' in res)) res.once('finish', () => setTimeout(() => req.socket.destroy(), closeIdle));
    res.writeHead(status);
    res.end(JSON.stringify({ who, url: req.url, body }));
  };
  // `plain`: no HBONE termination (the legacy workload, tunnel protocol TCP).
  const backends: Array<{ who: string; ip: string; sa: string; version: string; plain?: true }> = [
    { who: 'v1', ip: ips.v1, sa: 'reviews', version: 'v1' },
    { who: 'v2', ip: ips.v2, sa: 'reviews', version: 'v2' },
    { who: 'mirror', ip: ips.mirror, sa: 'mirror', version: 'v1' },
    ...Object.entries(extraIps).map(([who, ip]) => ({ who, ip, sa: 'reviews', version: who })),
    { who: 'legacy', ip: ips.legacy, sa: 'legacy', version: 'v1', plain: true },
  ];
  for (const b of backends) {
    const h1 = http.createServer((req, res) => void onHttp(b.who)(req, res));
    if (opts.backendKeepAliveTimeoutMs !== undefined) h1.keepAliveTimeout = opts.backendKeepAliveTimeoutMs;
    h1.on('upgrade', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
      hits.push({ who: b.who, method: req.method ?? '', url: req.url ?? '', rawHeaders: req.rawHeaders, body: '', conn: `${socket.remoteAddress}:${socket.remotePort}` });
      socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
      if (head.length) socket.write(head);
      socket.pipe(socket);
    });
    const h2 = http2.createServer((req, res) => void onHttp(b.who)(req, res));
    h2.on('connection', (sock: net.Socket) => {
      const key = `${sock.remoteAddress}:${sock.remotePort}`;
      h2Sockets.set(key, sock);
      sock.once('close', () => h2Sockets.delete(key));
    });
    // The same idle limit for HTTP/2, closing the transport without GOAWAY.
    if (opts.backendKeepAliveTimeoutMs !== undefined) {
      // Node emits the idle session with the server's 'timeout' (lib/internal/http2/core.js sessionOnTimeout).
      h2.setTimeout(opts.backendKeepAliveTimeoutMs);
      h2.on('timeout', (session: http2.Http2Session) => {
        h2Sockets.get(`${session.socket.remoteAddress}:${session.socket.remotePort}`)?.destroy();
      });
    }
    const echo = net.createServer({ allowHalfOpen: true }, (s) => {
      s.on('error', () => {});
      s.write(`${b.who}:`);
      s.pipe(s);
    });
    const inject = opts.h2Backend?.(b.who);
    const h2Listener = inject ? net.createServer((s) => inject.injectConnection(s)) : h2;
    for (const [srv, port] of [[h1, 8080], [h2Listener, 9090], [echo, 7070]] as const) {
      srv.listen(port, b.ip);
      await once(srv, 'listening');
      closers.push(() => {
        (srv as http.Server).closeAllConnections?.();
        srv.close();
      });
    }
    if (b.plain) continue;
    // HBONE termination for the endpoint: the endpoint's node agent (dials the CONNECT authority).
    const cert = await pki.issue(`spiffe://${TD}/ns/${NS}/sa/${b.sa}`);
    const ctx = hboneServerContext(cert);
    const hs = new HboneServer({
      http2: TEST_HTTP2, logger, secureContextFor: async () => ctx, tlsOptions: () => hboneServerTlsOptions(),
      verifyPeer: verifyPeerInTrustDomain(TD), onConnect: (req) => dialUpstream(req, { req, closed: Promise.resolve(0) }),
    });
    const l = net.createServer({ pauseOnConnect: true }, (s) => hs.handleSocket(s));
    l.listen(15008, b.ip);
    await once(l, 'listening');
    closers.push(() => {
      hs.destroy();
      l.close();
    });
  }

  const svcKey = `${NS}/${HOST}`;
  const ports = new Map([[HTTP_PORT, 8080], [H2_PORT, 9090], [TCP_PORT, 7070]]);
  const state = new ProxyState();
  state.apply({
    workloads: [
      workload({ name: 'sleep', ip: ips.client, sa: 'sleep' }),
      workload({ name: 'reviews-v1', ip: ips.v1, sa: 'reviews', version: 'v1', services: new Map([[svcKey, ports]]), locality: opts.localities?.v1 }),
      workload({ name: 'reviews-v2', ip: ips.v2, sa: 'reviews', version: 'v2', services: new Map([[svcKey, ports]]), locality: opts.localities?.v2 }),
      ...Object.entries(extraIps).map(([who, ip]) => workload({ name: `reviews-${who}`, ip, sa: 'reviews', version: who, services: new Map([[svcKey, ports]]), locality: opts.localities?.[who] })),
      workload({ name: 'mirror', ip: ips.mirror, sa: 'mirror', services: new Map([[`${NS}/${MIRROR_HOST}`, new Map([[HTTP_PORT, 8080]])]]) }),
      workload({ name: 'legacy', ip: ips.legacy, sa: 'legacy', protocol: 'TCP', services: new Map([[`${NS}/${LEGACY_HOST}`, new Map([[HTTP_PORT, 8080], [H2_PORT, 9090]])]]) }),
    ],
    services: [
      service('reviews', VIP, ports),
      service('mirror', MIRROR_VIP, new Map([[HTTP_PORT, 8080]])),
      service('legacy', LEGACY_VIP, new Map([[HTTP_PORT, 8080], [H2_PORT, 9090]])),
      service('waypoint', WAYPOINT_VIP, new Map([[15008, 15008]])),
    ],
    policies: [],
  });

  const registry = createRegistry();
  const telemetry = new WaypointTelemetry({ registry, logger: opts.accessLog ?? logger, waypoint: { namespace: NS, name: 'waypoint', identity: WAYPOINT_ID } });
  const proxy = new WaypointProxy({
    listen: { ip: ips.waypoint, port: 0 }, identity: WAYPOINT_ID, trustDomain: TD, certs, state,
    http2: TEST_HTTP2, pool: TEST_POOL, connectTimeoutMs: 2000, telemetry, logger, random: opts.random, registry, security: opts.security,
    self: opts.locality ? () => ({ locality: opts.locality!, labels: { 'topology.kubernetes.io/region': opts.locality!.region, 'topology.kubernetes.io/zone': opts.locality!.zone, 'topology.istio.io/subzone': opts.locality!.subzone, 'topology.istio.io/network': '', 'topology.istio.io/cluster': 'Kubernetes' } }) : undefined,
  });
  await proxy.start();

  const clientCert = await pki.issue(CLIENT_ID);
  const pool = new HbonePool({ http2: TEST_HTTP2, pool: TEST_POOL, connectTimeoutMs: 2000, logger });
  const wp = proxy.address();
  const connect = (authority = `${VIP}:${HTTP_PORT}`): Promise<HboneClientStream> =>
    pool.connect({
      key: `${CLIENT_ID}|${WAYPOINT_ID}|${wp.ip}:${wp.port}`,
      nextHop: wp,
      localAddress: ips.client,
      tls: () => hboneClientTls(clientCert, [WAYPOINT_ID]),
      authority,
      headers: {},
    });
  const agents: http.Agent[] = [];
  const agent = (authority?: string): http.Agent => {
    const a = new http.Agent({ keepAlive: true });
    (a as unknown as { createConnection: unknown }).createConnection = (_o: unknown, cb: (e: Error | null, s?: Duplex) => void) => {
      connect(authority).then((s) => {
        const d = s.stream as unknown as Record<string, unknown>;
        for (const m of ['setKeepAlive', 'setNoDelay', 'ref', 'unref']) d[m] ??= function (this: unknown) { return this; };
        buffersOnly(s.stream);
        cb(null, s.stream);
      }, (e: Error) => cb(e));
      return undefined;
    };
    agents.push(a);
    return a;
  };

  const plains: Array<{ close(): void }> = [];
  const rig: WaypointRig = {
    proxy, state, registry, ips, hits, script, handlers,
    setWorkloads(fn) {
      const snap = state.snapshot();
      state.apply({ ...snap, workloads: fn(snap.workloads) });
    },
    metrics: () => registry.metrics(),
    async plain(authority) {
      const l = await tunnelListener(() => connect(authority));
      plains.push(l);
      return l;
    },
    config(routes, clusters, security) {
      const cfg: WaypointConfig = {
        version: WAYPOINT_CONFIG_VERSION,
        waypoint: { namespace: NS, name: 'waypoint' },
        services: [
          { hostname: HOST, namespace: NS, ports: [
            { port: HTTP_PORT, name: 'http', protocol: 'http', routes: routes.http ?? [], defaultCluster: DEFAULT_CLUSTER },
            { port: H2_PORT, name: 'grpc', protocol: 'grpc', routes: routes.h2 ?? [], defaultCluster: H2_CLUSTER },
            { port: TCP_PORT, name: 'tcp', protocol: 'tcp', routes: [], defaultCluster: clusterName(HOST, TCP_PORT) },
          ] },
          { hostname: LEGACY_HOST, namespace: NS, ports: [
            { port: HTTP_PORT, name: 'http', protocol: 'http', routes: [], defaultCluster: LEGACY_CLUSTER },
            { port: H2_PORT, name: 'http2', protocol: 'http2', routes: [], defaultCluster: LEGACY_H2_CLUSTER },
          ] },
        ],
        clusters: clusters ?? [
          baseCluster(DEFAULT_CLUSTER, HOST, HTTP_PORT),
          baseCluster(H2_CLUSTER, HOST, H2_PORT, { protocol: 'http2' }),
          baseCluster(clusterName(HOST, TCP_PORT), HOST, TCP_PORT),
          baseCluster(MIRROR_CLUSTER, MIRROR_HOST, HTTP_PORT),
        ],
        ...(security ? { security } : {}),
      };
      // The plaintext service's clusters are always there (tests giving their own list keep them).
      const legacy = [baseCluster(LEGACY_CLUSTER, LEGACY_HOST, HTTP_PORT), baseCluster(LEGACY_H2_CLUSTER, LEGACY_HOST, H2_PORT, { protocol: 'http2' })];
      (cfg as { clusters: readonly Cluster[] }).clusters = [...cfg.clusters, ...legacy.filter((l) => !cfg.clusters.some((c) => c.name === l.name))];
      proxy.setConfig(cfg);
    },
    connect,
    agent,
    request(o) {
      return new Promise((resolve, reject) => {
        const { body, authority, ...rest } = o;
        const r = http.request({ agent: o.agent ?? agent(authority), host: 'reviews', ...rest }, (res) => {
          collect(res).then((b) => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: b, trailers: res.trailers }), reject);
        });
        r.on('error', reject);
        // A hang is a failure with a message, not a test-runner timeout minutes later.
        const timer = setTimeout(() => r.destroy(new Error(`no answer to ${o.method ?? 'GET'} ${o.path ?? '/'} within ${REQUEST_DEADLINE_MS} ms`)), REQUEST_DEADLINE_MS);
        r.once('close', () => clearTimeout(timer));
        r.end(body);
      });
    },
    async close() {
      for (const p of plains) p.close();
      for (const a of agents) a.destroy();
      pool.destroy();
      proxy.destroy();
      for (const c of closers) c();
    },
  };
  rig.config({});
  return rig;
}

/** Header values a backend saw for `name` (separate lines kept). */
export function seen(hit: BackendHit, name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < hit.rawHeaders.length; i += 2) if (hit.rawHeaders[i]!.toLowerCase() === name) out.push(hit.rawHeaders[i + 1]!);
  return out;
}

/** A seeded PRNG (mulberry32) for reproducible weights. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
