// Path 5, the L7 reference: Debian's nginx as a plain HTTP/1.1 reverse proxy in a pod of its own
// between client and server pods (client pod → nginx pod → server pod): what an L7 hop costs in C.

import { BENCH_NGINX_LOG_LEVEL, BENCH_NGINX_UPSTREAM_KEEPALIVE, NGINX_KEEPALIVE_REQUESTS, startNginx, type NginxProxy } from '../lib/index.js';
import type { BenchEnv } from './bench-env.js';
import { L7_PROXY_ROLE, type ProxyProcess } from './bench-path.js';
import { APP_HTTP_PORT } from './server-app.js';
import { PodPairPath, type Entrance } from './pod-pair-path.js';

/** nginx's listener on its pod's IP. */
export const NGINX_HTTP_PORT = 18080;

/**
 * Where nginx runs, and why: in its own pod, not in the client pod. A waypoint is a separate hop
 * (client agent → waypoint pod → server agent), so an L7 proxy dialled on loopback inside the client
 * pod would skip one veth/bridge crossing and one pod-to-pod TCP connection that the waypoint pays;
 * in its own pod nginx pays the same network hops, and only the proxy's own work differs.
 *
 * One worker (`worker_processes 1`), and why: the waypoint and each agent run one Node event loop,
 * i.e. at most one core of proxying; nginx with `auto` would take every core of the machine (2 here,
 * shared with wrk, the app and the other proxies), so requests/s would compare two cores with one.
 * CPU per 1000 req/s is reported apart and does not depend on the worker count.
 *
 * HTTP only: Debian's nginx-light (a transitional package to `nginx` since bookworm) builds the
 * stream module as a dynamic module that lives in libnginx-mod-stream, which nginx-light does not
 * pull in (`nginx -V`: --with-stream=dynamic), so there is no TCP proxy to give iperf3; the
 * throughput rows say `n/a: HTTP-only path` — as they will for the waypoint, which is HTTP only too.
 */
export class NginxL7Path extends PodPairPath {
  readonly name = 'nginx';
  readonly description =
    'client pod → nginx pod (nginx-light, plain HTTP/1.1 reverse proxy, worker_processes 1, upstream keepalive 64) → server pod; ' +
    'in its own pod like a waypoint (the same veth/bridge hops), one worker like one Node event loop';
  readonly logLevel = `access_log off, error_log ${BENCH_NGINX_LOG_LEVEL} (warnings and errors, no line per request)`;
  readonly connections =
    `one TCP connection client → nginx per client connection; nginx → app over pooled keep-alive upstream connections ` +
    `(keepalive ${BENCH_NGINX_UPSTREAM_KEEPALIVE}), so no upstream connection per client connection; nginx's default keepalive_requests ` +
    `${NGINX_KEEPALIVE_REQUESTS} re-opens a client or upstream connection every ${NGINX_KEEPALIVE_REQUESTS} requests; plaintext, no TLS`;
  readonly tcp = false;
  private nginx: NginxProxy | null = null;

  constructor(
    clientPod: string,
    readonly proxyPod: string,
    serverPod: string,
  ) {
    super(clientPod, serverPod);
  }

  override get pods(): readonly string[] {
    return [this.clientPod, this.proxyPod, this.serverPod];
  }

  protected async startProxies(env: BenchEnv): Promise<Entrance | undefined> {
    const proxyIp = env.pod(this.proxyPod).ip;
    this.nginx = await startNginx(env.inPod(this.proxyPod), {
      listen: `${proxyIp}:${NGINX_HTTP_PORT}`,
      upstream: `${env.pod(this.serverPod).ip}:${APP_HTTP_PORT}`,
      workers: 1,
      filesParentDir: env.workDir,
    });
    env.processes.note('nginx master', this.nginx.pid);
    for (const w of this.nginx.workers) env.processes.note('nginx worker', w);
    return { host: proxyIp, httpPort: NGINX_HTTP_PORT };
  }

  /**
   * The worker: it does all the proxying. The master only forks and waits (about 7 MB RSS, 1 MB of
   * it anonymous, the rest shared file pages) and is not sampled: its CPU is nil under load.
   */
  proxies(): readonly ProxyProcess[] {
    const pid = this.nginx?.workers[0];
    return pid === undefined ? [] : [{ role: L7_PROXY_ROLE, label: 'nginx worker', pid }];
  }

  /** nginx's error log (warn) for the report when a measurement on this path failed. */
  diagnostics(): string {
    return this.nginx?.log().slice(-2000) ?? '';
  }

  protected async stopProxies(): Promise<void> {
    await this.nginx?.close().catch(() => undefined);
    this.nginx = null;
  }
}
