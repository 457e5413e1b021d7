// The node questions of impersonation answered from the control plane's pod store, by istiod's
// rules (security/pkg/server/ca/node_auth.go): the caller's pod by name, UID and service account;
// workloads by a (node, namespace/serviceAccount) index of scheduled pods.

import type { KubeObject, ObjectSnapshot } from '../../k8s/index.js';
import type { NodeAuthorizer } from './authorize.js';
import type { Caller } from './caller.js';

/** Kubernetes fills an empty spec.serviceAccountName with this at admission. */
const DEFAULT_SERVICE_ACCOUNT = 'default';

export class PodNodeAuthorizer implements NodeAuthorizer {
  readonly #snapshot: () => ObjectSnapshot;
  /** Per snapshot (immutable): the set of `node|ns/sa` with at least one scheduled pod. */
  readonly #index = new WeakMap<ObjectSnapshot, ReadonlySet<string>>();

  /** `snapshot`: the current pod store view (called on every question, so it is always fresh). */
  constructor(snapshot: () => ObjectSnapshot) {
    this.#snapshot = snapshot;
  }

  nodeOfCaller(caller: Caller): string | undefined {
    if (caller.pod === undefined) return undefined;
    const pod = this.#snapshot().get('Pod', caller.namespace, caller.pod.name);
    if (pod === undefined) return undefined;
    // A pod re-created under the same name is another pod: the token was issued to the old one.
    if (caller.pod.uid !== undefined && pod.metadata.uid !== caller.pod.uid) return undefined;
    if (serviceAccountOf(pod) !== caller.serviceAccount) return undefined;
    const node = pod.spec?.nodeName;
    return node === undefined || node === '' ? undefined : node;
  }

  workloadOnNode(identity: { readonly namespace: string; readonly serviceAccount: string }, node: string): boolean {
    return this.#indexOf(this.#snapshot()).has(key(node, identity.namespace, identity.serviceAccount));
  }

  #indexOf(snapshot: ObjectSnapshot): ReadonlySet<string> {
    let index = this.#index.get(snapshot);
    if (index === undefined) {
      const built = new Set<string>();
      for (const pod of snapshot.list('Pod')) {
        const node = pod.spec?.nodeName;
        if (node === undefined || node === '' || pod.metadata.namespace === undefined) continue;
        built.add(key(node, pod.metadata.namespace, serviceAccountOf(pod)));
      }
      index = built;
      this.#index.set(snapshot, index);
    }
    return index;
  }
}

function serviceAccountOf(pod: KubeObject<'Pod'>): string {
  const sa = pod.spec?.serviceAccountName;
  return sa === undefined || sa === '' ? DEFAULT_SERVICE_ACCOUNT : sa;
}

function key(node: string, namespace: string, serviceAccount: string): string {
  return `${node}|${namespace}/${serviceAccount}`;
}
