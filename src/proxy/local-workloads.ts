// Which workloads this agent serves: in shared mode every workload whose `node` is NODE_NAME, in
// dedicated mode the one named by PROXY_WORKLOAD_INFO. Sources are identified by their address.

import type { Config } from '../config/index.js';
import type { ProxyState, Workload } from '../state/index.js';

export class LocalWorkloads {
  constructor(
    private readonly state: ProxyState,
    private readonly config: Config,
  ) {}

  /** All local workloads, read from current state (never cached across ticks). */
  all(): readonly Workload[] {
    const info = this.config.proxyWorkloadInfo;
    if (this.config.proxyMode === 'dedicated' && info) {
      const w = this.state.findLocalWorkload(this.config.nodeName, info) ?? this.findAnyNode(info);
      return w ? [w] : [];
    }
    return this.state.localWorkloads(this.config.nodeName);
  }

  private findAnyNode(info: { namespace: string; name: string; serviceAccount: string }): Workload | undefined {
    // Dedicated mode serves exactly one workload; ztunnel matches it by name/namespace/SA.
    return this.state
      .snapshot()
      .workloads.find((w) => w.namespace === info.namespace && w.name === info.name && w.serviceAccount === info.serviceAccount);
  }

  /** The local workload owning `ip`, if any. */
  byIp(ip: string): Workload | undefined {
    return this.all().find((w) => w.workloadIps.includes(ip));
  }

  /**
   * The source workload of an outbound connection from `ip`: the local workload with that IP; in
   * dedicated mode the one workload whatever the address (it is the only possible source).
   */
  sourceFor(ip: string): Workload | undefined {
    if (this.config.proxyMode === 'dedicated') return this.all()[0];
    return this.byIp(ip);
  }

  /** The only local workload, when there is exactly one (a node-level listener must pick a cert). */
  sole(): Workload | undefined {
    const all = this.all();
    return all.length === 1 ? all[0] : undefined;
  }
}
