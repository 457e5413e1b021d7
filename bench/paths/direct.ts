// Path 1, the baseline: no mesh. The client pod dials the server pod IP over the same kind of
// namespaces, veths and bridge as the other paths, so only the proxies differ between columns.

import { MeshError } from '../../src/common/errors.js';
import type { BenchEnv } from './bench-env.js';
import type { BenchPath, PathTarget, ProxyProcess } from './bench-path.js';
import { APP_HTTP_PORT, APP_IPERF_PORT, probeHttp, startServerApp, type ServerApp } from './server-app.js';

export class DirectPath implements BenchPath {
  readonly name = 'direct';
  readonly description = 'client pod → server pod IP, no proxy';
  private app: ServerApp | null = null;
  private tgt: PathTarget | null = null;

  constructor(
    readonly clientPod: string,
    readonly serverPod: string,
  ) {}

  get pods(): readonly string[] {
    return [this.clientPod, this.serverPod];
  }

  async setup(env: BenchEnv): Promise<void> {
    this.app = await startServerApp(env, this.serverPod);
    this.tgt = {
      client: env.inPod(this.clientPod),
      server: env.inPod(this.serverPod),
      host: env.pod(this.serverPod).ip,
      httpPort: APP_HTTP_PORT,
      tcpPort: APP_IPERF_PORT,
    };
    try {
      await probeHttp(this.tgt.client, this.tgt.host, this.tgt.httpPort);
    } catch (e) {
      await this.teardown();
      throw e;
    }
  }

  target(): PathTarget {
    if (this.tgt === null) throw new MeshError('INTERNAL', 'direct path: target() before setup()');
    return this.tgt;
  }

  proxies(): readonly ProxyProcess[] {
    return [];
  }

  async teardown(): Promise<void> {
    await this.app?.stop().catch(() => undefined);
    this.app = null;
  }
}
