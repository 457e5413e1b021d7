// Which workloads a proxy instance serves. The host proxy serves every workload whose `node` is
// NODE_NAME (or, dedicated, the one named by PROXY_WORKLOAD_INFO); an in-pod proxy serves one pod.

import type { Config } from '../config/index.js';
import type { ProxyState, Workload } from '../state/index.js';

/** The narrow view the handlers read; always evaluated against current state. */
export interface LocalView {
  all(): readonly Workload[];
  /** The local workload owning `ip`, if any. */
  byIp(ip: string): Workload | undefined;
  /** The source workload of an outbound connection from `ip`. */
  sourceFor(ip: string): Workload | undefined;
  /** The only local workload, when there is exactly one (a listener must pick a certificate). */
  sole(): Workload | undefined;
}

export class LocalWorkloads implements LocalView {
  constructor(
    private readonly state: ProxyState,
    private readonly config: Config,
    /** Workloads served elsewhere (in-pod proxies) are left out of the host proxy's view. */
    private readonly exclude: (w: Workload) => boolean = () => false,
  ) {}

  all(): readonly Workload[] {
    const info = this.config.proxyWorkloadInfo;
    if (this.config.proxyMode === 'dedicated' && info) {
      const w =
        this.state.findLocalWorkload(this.config.nodeName, info) ??
        this.state
          .snapshot()
          .workloads.find((x) => x.namespace === info.namespace && x.name === info.name && x.serviceAccount === info.serviceAccount);
      return w && !this.exclude(w) ? [w] : [];
    }
    return this.state.localWorkloads(this.config.nodeName).filter((w) => !this.exclude(w));
  }

  byIp(ip: string): Workload | undefined {
    return this.all().find((w) => w.workloadIps.includes(ip));
  }

  sourceFor(ip: string): Workload | undefined {
    // Dedicated mode serves exactly one workload: it is the source whatever the address.
    if (this.config.proxyMode === 'dedicated') return this.all()[0];
    return this.byIp(ip);
  }

  sole(): Workload | undefined {
    const all = this.all();
    return all.length === 1 ? all[0] : undefined;
  }
}

/**
 * A view of exactly one pod (in-pod mode): every connection on its listeners belongs to that pod,
 * whichever workload `current()` finds in the state right now (none while it is not in the state).
 */
export abstract class SinglePodView implements LocalView {
  protected abstract current(): Workload | undefined;

  all(): readonly Workload[] {
    const w = this.current();
    return w ? [w] : [];
  }

  byIp(ip: string): Workload | undefined {
    const w = this.current();
    return w && w.workloadIps.includes(ip) ? w : undefined;
  }

  sourceFor(): Workload | undefined {
    return this.current();
  }

  sole(): Workload | undefined {
    return this.current();
  }
}

/** One pod's view by its xDS workload uid (the local config's `netns` pods). */
export class PodView extends SinglePodView {
  constructor(
    private readonly state: ProxyState,
    private readonly uid: string,
  ) {
    super();
  }

  protected current(): Workload | undefined {
    return this.state.workloadByUid(this.uid);
  }
}
