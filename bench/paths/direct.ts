// Path 1, the baseline: no mesh. The client pod dials the server pod IP over the same kind of
// namespaces, veths and bridge as the other paths, so only the proxies differ between columns.

import type { ProxyProcess } from './bench-path.js';
import { PodPairPath, type Entrance } from './pod-pair-path.js';

export class DirectPath extends PodPairPath {
  readonly name = 'direct';
  readonly description = 'client pod → server pod IP, no proxy';
  readonly logLevel = 'none (no proxy)';
  readonly connections = 'one TCP connection, client to app';

  protected async startProxies(): Promise<Entrance | undefined> {
    return undefined;
  }

  protected async stopProxies(): Promise<void> {}

  proxies(): readonly ProxyProcess[] {
    return [];
  }
}
