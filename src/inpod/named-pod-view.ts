// One ZDS pod's view of the state: istio-cni names the pod by (name, namespace, service account),
// not by the xDS workload uid, so its workload is looked up by those on this node each time.

import { SinglePodView } from '../proxy/index.js';
import type { ProxyState, Workload } from '../state/index.js';
import type { ZdsWorkloadInfo } from './zds-codec.js';

/**
 * ztunnel's local-workload lookup for an in-pod proxy (src/state.rs find_by_info). MUST stay
 * node-scoped: a pod's proxy may only act as a workload of this node (ProxyState.findLocalWorkload).
 */
export class NamedPodView extends SinglePodView {
  constructor(
    private readonly state: ProxyState,
    private readonly nodeName: string,
    private readonly info: ZdsWorkloadInfo,
  ) {
    super();
  }

  protected current(): Workload | undefined {
    return this.state.findLocalWorkload(this.nodeName, this.info);
  }
}
