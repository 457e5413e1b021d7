// DestinationRule subsets → workload uids: the endpoints of a Service whose pod labels carry every
// label of the subset (Istio: a subset is the service's endpoints filtered by labels), from the
// mesh translation (which workloads serve which service) and the snapshot (pod labels).

import type { ObjectSnapshot } from '../../k8s/index.js';
import { serviceKey } from '../../state/index.js';
import { labelsOf, selectsLabels, type Labels } from './labels.js';
import type { MeshTranslation } from './types.js';

/** Endpoints per service, computed once per translation. */
export class ServiceEndpoints {
  /** serviceKey → the workloads serving it, with their pod labels. */
  private readonly byService = new Map<string, { readonly uid: string; readonly labels: Labels }[]>();

  constructor(mesh: MeshTranslation, snapshot: ObjectSnapshot) {
    for (const w of mesh.workloads) {
      if (w.services.size === 0) continue;
      const labels = labelsOf(snapshot.get('Pod', w.namespace, w.name) ?? {});
      for (const key of w.services.keys()) {
        let list = this.byService.get(key);
        if (list === undefined) this.byService.set(key, (list = []));
        list.push({ uid: w.uid, labels });
      }
    }
  }

  /**
   * The uids (sorted) of the service's workloads whose labels include all of `subsetLabels`; an
   * empty list when none does (the subset's cluster then has no endpoint: 503 UH).
   */
  subsetUids(namespace: string, hostname: string, subsetLabels: Labels): string[] {
    return (this.byService.get(serviceKey(namespace, hostname)) ?? [])
      .filter((w) => selectsLabels(subsetLabels, w.labels))
      .map((w) => w.uid)
      .sort();
  }
}
