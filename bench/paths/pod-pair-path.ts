// The shape every bench path shares: a client pod and a server pod, the bench server app in the
// server pod, the path's proxies between them, and one request probed end to end before measuring.

import { MeshError } from '../../src/common/errors.js';
import type { BenchEnv } from './bench-env.js';
import type { BenchPath, PathTarget, ProxyProcess } from './bench-path.js';
import { APP_HTTP_PORT, APP_IPERF_PORT, probeHttp, startServerApp, type ServerApp } from './server-app.js';

/** Where the client dials, when it is not the server pod's own IP and app ports. */
export interface Entrance {
  readonly host: string;
  readonly httpPort: number;
  /** Absent on an HTTP-only path. */
  readonly tcpPort?: number;
}

/** The entrance of the tunnel paths (stunnel, node-relay): a local listener in the client pod. */
export const LOOPBACK_ENTRANCE: Required<Entrance> = { host: '127.0.0.1', httpPort: 15080, tcpPort: 15201 };

export abstract class PodPairPath implements BenchPath {
  abstract readonly name: string;
  abstract readonly description: string;
  abstract readonly logLevel: string;
  abstract readonly connections: string;
  /** Every path carries raw TCP unless it says otherwise (an L7 proxy path sets false). */
  readonly tcp: boolean = true;
  private app: ServerApp | null = null;
  private tgt: PathTarget | null = null;

  constructor(
    readonly clientPod: string,
    readonly serverPod: string,
  ) {}

  get pods(): readonly string[] {
    return [this.clientPod, this.serverPod];
  }

  /** Starts the proxies (the server app already runs); returns a tunnel entrance, if any. */
  protected abstract startProxies(env: BenchEnv): Promise<Entrance | undefined>;
  /** Stops what startProxies() started; idempotent, never throws. */
  protected abstract stopProxies(): Promise<void>;
  /** After the probe: proof that it went the intended way (throws otherwise). */
  protected async verifyProbe(): Promise<void> {}
  abstract proxies(): readonly ProxyProcess[];

  async setup(env: BenchEnv): Promise<void> {
    try {
      // The app first: a capturing proxy delivers to it as soon as it is ready.
      this.app = await startServerApp(env, this.serverPod);
      const entrance = await this.startProxies(env);
      this.tgt = {
        client: env.inPod(this.clientPod),
        server: env.inPod(this.serverPod),
        host: entrance?.host ?? env.pod(this.serverPod).ip,
        httpPort: entrance?.httpPort ?? APP_HTTP_PORT,
        tcpPort: this.tcp ? (entrance?.tcpPort ?? APP_IPERF_PORT) : null,
      };
      await probeHttp(this.tgt.client, this.tgt.host, this.tgt.httpPort);
      await this.verifyProbe();
    } catch (e) {
      await this.teardown();
      throw e;
    }
  }

  target(): PathTarget {
    if (this.tgt === null) throw new MeshError('INTERNAL', `${this.name} path: target() before setup()`);
    return this.tgt;
  }

  async teardown(): Promise<void> {
    await this.stopProxies().catch(() => undefined);
    await this.app?.stop().catch(() => undefined);
    this.app = null;
  }
}
