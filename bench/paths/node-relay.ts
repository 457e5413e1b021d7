// Path 4, the Node floor: two plain TCP relays in Node (client pod → relay → relay → app), no TLS,
// no HTTP/2, no policy; what any Node proxy pays per byte and per connection before mesh work.

import { AGENT_NODE_FLAGS } from '../../src/bin/node-flags.js';
import { startTcpRelayIn, type ToolProcess } from '../lib/index.js';
import type { BenchEnv } from './bench-env.js';
import type { ProxyProcess } from './bench-path.js';
import { APP_HTTP_PORT, APP_IPERF_PORT } from './server-app.js';
import { LOOPBACK_ENTRANCE, PodPairPath, type Entrance } from './pod-pair-path.js';

/** The relay's ports on the server pod IP (the client side listens at LOOPBACK_ENTRANCE, as stunnel's). */
const SERVER_HTTP_PORT = 16080;
const SERVER_TCP_PORT = 16201;

export class NodeRelayPath extends PodPairPath {
  readonly name = 'node-relay';
  readonly description = 'client pod → Node TCP relay → Node TCP relay → app (plaintext: the Node floor, not a mesh)';
  /** bench/lib/tcp-relay-cli.ts has no logger: it prints its "listening" line and nothing else. */
  readonly logLevel = 'none (the relays print one start-up line, nothing per connection)';
  readonly connections = 'three plain TCP connections in a row (client → relay → relay → app), no TLS';
  private client: ToolProcess | null = null;
  private server: ToolProcess | null = null;

  protected async startProxies(env: BenchEnv): Promise<Entrance | undefined> {
    const serverIp = env.pod(this.serverPod).ip;
    // The agents' own Node flags (and, via inPod, the same raised fd limit), so the floor and the
    // subject run the same runtime configuration.
    this.server = env.processes.track(
      'node relay (server side)',
      await startTcpRelayIn(
        env.inPod(this.serverPod),
        [
          { listenHost: serverIp, listenPort: SERVER_HTTP_PORT, toHost: '127.0.0.1', toPort: APP_HTTP_PORT },
          { listenHost: serverIp, listenPort: SERVER_TCP_PORT, toHost: '127.0.0.1', toPort: APP_IPERF_PORT },
        ],
        AGENT_NODE_FLAGS,
      ),
    );
    this.client = env.processes.track(
      'node relay (client side)',
      await startTcpRelayIn(
        env.inPod(this.clientPod),
        [
          { listenHost: LOOPBACK_ENTRANCE.host, listenPort: LOOPBACK_ENTRANCE.httpPort, toHost: serverIp, toPort: SERVER_HTTP_PORT },
          { listenHost: LOOPBACK_ENTRANCE.host, listenPort: LOOPBACK_ENTRANCE.tcpPort, toHost: serverIp, toPort: SERVER_TCP_PORT },
        ],
        AGENT_NODE_FLAGS,
      ),
    );
    return LOOPBACK_ENTRANCE;
  }

  proxies(): readonly ProxyProcess[] {
    const out: ProxyProcess[] = [];
    if (this.client) out.push({ role: 'client-side', label: 'node relay (client)', pid: this.client.pid });
    if (this.server) out.push({ role: 'server-side', label: 'node relay (server)', pid: this.server.pid });
    return out;
  }

  protected async stopProxies(): Promise<void> {
    await Promise.all([this.client?.stop(), this.server?.stop()]);
    this.client = null;
    this.server = null;
  }
}
