// The one-object changes the control-plane bench times, in a fixed cycle: a pod's label, a pod's IP,
// a new pod, and that pod deleted again; each names the xDS resource its push must carry.

import type { KubeObject, ObjectChange } from '../../src/k8s/index.js';
import { podUid } from '../../src/controlplane/translate/workloads.js';
import { APP_PORTS, makePod, nodeName, token, type SyntheticCluster } from './synthetic-cluster.js';

export const CHANGE_KINDS = ['label', 'ip', 'add', 'delete'] as const;
export type ChangeKind = (typeof CHANGE_KINDS)[number];

/** One change to apply, and what every client must then receive. */
export interface ClusterChange {
  readonly seq: number;
  readonly kind: ChangeKind;
  readonly change: ObjectChange;
  /** The Address resource (workload uid) the push carries. */
  readonly resource: string;
  /** True when the resource is removed (it arrives in removed_resources). */
  readonly removal: boolean;
  readonly namespace: string;
}

/** Pod keys `namespace/name` → the current Pod, for the changes to start from. */
function podsOf(cluster: SyntheticCluster): Map<string, KubeObject<'Pod'>> {
  const out = new Map<string, KubeObject<'Pod'>>();
  for (const o of cluster.objects) if (o.kind === 'Pod') out.set(`${o.metadata.namespace}/${o.metadata.name}`, o as KubeObject<'Pod'>);
  return out;
}

/**
 * Produces the changes one after another, each applied on top of the previous ones. Pods are
 * picked spread over all apps and namespaces (a stride prime to the app count), never twice in a row.
 */
export class ChangeGenerator {
  private readonly pods: Map<string, KubeObject<'Pod'>>;
  private seq = 0;
  private added: KubeObject<'Pod'> | undefined;

  constructor(
    private readonly cluster: SyntheticCluster,
    private readonly clusterId: string,
  ) {
    this.pods = podsOf(cluster);
  }

  /** The current version of every pod touched or added (for rewriting manifests). */
  current(namespace: string, name: string): KubeObject<'Pod'> | undefined {
    return this.pods.get(`${namespace}/${name}`);
  }

  next(): ClusterChange {
    const seq = this.seq++;
    const kind = CHANGE_KINDS[seq % CHANGE_KINDS.length]!;
    const apps = this.cluster.apps;
    const app = apps[(seq * 7919) % apps.length]!;
    if (kind === 'delete') {
      const pod = this.added!;
      this.added = undefined;
      this.pods.delete(`${pod.metadata.namespace}/${pod.metadata.name}`);
      return this.made(seq, kind, { type: 'delete', kind: 'Pod', namespace: pod.metadata.namespace, name: pod.metadata.name }, pod, true);
    }
    if (kind === 'add') {
      const n = 1_000_000 + seq;
      const pod = makePod({
        namespace: app.namespace,
        name: `${app.app}-${app.hash}-${token(n, 5)}`,
        seq: n,
        ip: `10.${200 + ((seq >> 16) & 15)}.${(seq >> 8) & 255}.${seq & 255}`,
        node: nodeName(seq % this.cluster.shape.nodes),
        serviceAccount: app.app,
        labels: { ...app.labels },
        owner: { kind: 'ReplicaSet', name: `${app.app}-${app.hash}` },
        generateName: `${app.app}-${app.hash}-`,
        ports: APP_PORTS,
      });
      this.added = pod;
      this.pods.set(`${pod.metadata.namespace}/${pod.metadata.name}`, pod);
      return this.made(seq, kind, { type: 'upsert', object: pod }, pod, false);
    }
    const name = app.pods[seq % app.pods.length]!;
    const before = this.pods.get(`${app.namespace}/${name}`)!;
    const pod = kind === 'label' ? withLabel(before, 'version', `v${seq + 2}`) : withIp(before, `10.${220 + ((seq >> 16) & 15)}.${(seq >> 8) & 255}.${seq & 255}`);
    this.pods.set(`${app.namespace}/${name}`, pod);
    return this.made(seq, kind, { type: 'upsert', object: pod }, pod, false);
  }

  private made(seq: number, kind: ChangeKind, change: ObjectChange, pod: KubeObject<'Pod'>, removal: boolean): ClusterChange {
    const namespace = pod.metadata.namespace ?? '';
    return { seq, kind, change, resource: podUid(this.clusterId, namespace, pod.metadata.name), removal, namespace };
  }
}

function withLabel(pod: KubeObject<'Pod'>, key: string, value: string): KubeObject<'Pod'> {
  return { ...pod, metadata: { ...pod.metadata, labels: { ...pod.metadata.labels, [key]: value } } };
}

function withIp(pod: KubeObject<'Pod'>, ip: string): KubeObject<'Pod'> {
  return { ...pod, status: { ...pod.status, podIP: ip, podIPs: [{ ip }] } };
}
