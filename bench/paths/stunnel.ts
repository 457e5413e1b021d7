// Path 3, the reference: a two-hop mutual-TLS tunnel with Debian's stunnel (TLS 1.3, certificates
// from the run's mesh root, logging at warning): client pod → stunnel → stunnel → app.

import { BENCH_STUNNEL_LOGGING, startStunnelPath, type StunnelPath as Tunnel } from '../lib/index.js';
import type { BenchEnv } from './bench-env.js';
import type { ProxyProcess } from './bench-path.js';
import { APP_HTTP_PORT, APP_IPERF_PORT } from './server-app.js';
import { LOOPBACK_ENTRANCE, PodPairPath, type Entrance } from './pod-pair-path.js';

/** TLS listeners on the server pod IP (the client side listens at LOOPBACK_ENTRANCE). */
const SERVER_HTTP_TLS_PORT = 15443;
const SERVER_TCP_TLS_PORT = 15444;

export class StunnelBenchPath extends PodPairPath {
  readonly name = 'stunnel';
  readonly description = 'client pod → stunnel (client) → TLS 1.3 mTLS → stunnel (server) → app';
  readonly logLevel =
    `debug = ${BENCH_STUNNEL_LOGGING.service} in each service (warnings and errors, no per-connection notices; stunnel's default is notice), ` +
    `debug = ${BENCH_STUNNEL_LOGGING.global} globally (start-up lines only)`;
  readonly connections = 'a full TLS 1.3 handshake with mutual certificates per connection (stunnel client → stunnel server)';
  /** The HTTP tunnel (sampled) and the iperf3 tunnel: one stunnel service per port, stunnel's default shape. */
  private http: Tunnel | null = null;
  private tcpTunnel: Tunnel | null = null;

  protected async startProxies(env: BenchEnv): Promise<Entrance | undefined> {
    const serverTls = await env.pki.issue('spiffe://cluster.local/ns/default/sa/bench-server');
    const clientTls = await env.pki.issue('spiffe://cluster.local/ns/default/sa/bench-client');
    const serverIp = env.pod(this.serverPod).ip;
    // Key files under the run's work dir: env.destroy() removes them even if close() never runs.
    const common = {
      serverRunIn: env.inPod(this.serverPod),
      clientRunIn: env.inPod(this.clientPod),
      serverTls,
      clientTls,
      filesParentDir: env.workDir,
      logging: BENCH_STUNNEL_LOGGING,
    };
    this.http = await startStunnelPath({
      ...common,
      serverAccept: `${serverIp}:${SERVER_HTTP_TLS_PORT}`,
      app: `127.0.0.1:${APP_HTTP_PORT}`,
      clientAccept: `${LOOPBACK_ENTRANCE.host}:${LOOPBACK_ENTRANCE.httpPort}`,
    });
    this.tcpTunnel = await startStunnelPath({
      ...common,
      serverAccept: `${serverIp}:${SERVER_TCP_TLS_PORT}`,
      app: `127.0.0.1:${APP_IPERF_PORT}`,
      clientAccept: `${LOOPBACK_ENTRANCE.host}:${LOOPBACK_ENTRANCE.tcpPort}`,
    });
    for (const [label, t] of [['http', this.http], ['iperf3', this.tcpTunnel]] as const) {
      env.processes.note(`stunnel client (${label})`, t.client.pid);
      env.processes.note(`stunnel server (${label})`, t.server.pid);
    }
    return LOOPBACK_ENTRANCE;
  }

  /** The HTTP tunnel's two processes: every sampled measurement (HTTP load, idle connections) uses it. */
  proxies(): readonly ProxyProcess[] {
    if (this.http === null) return [];
    return [
      { role: 'client-side', label: 'stunnel client', pid: this.http.client.pid },
      { role: 'server-side', label: 'stunnel server', pid: this.http.server.pid },
    ];
  }

  protected async stopProxies(): Promise<void> {
    await Promise.all([this.http?.close(), this.tcpTunnel?.close()].map((p) => p?.catch(() => undefined)));
    this.http = null;
    this.tcpTunnel = null;
  }
}
