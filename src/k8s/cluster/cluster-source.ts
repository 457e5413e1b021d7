// ObjectSource over a cluster's API server: one list+watch per kind (KindWatcher), every object
// validated as the manifests source does, changes applied in batches; plus the status writer.
//
// Batching: watch events are queued and applied together at the end of the event-loop turn that
// delivered them (one store batch per network read); a relist replaces its kind in one batch.
// Refused objects: as in the manifests source, a refused new version leaves the last accepted one
// in force and a refused new object is absent; a DELETED event always deletes.

import { KubeConfig } from '@kubernetes/client-node';
import { MeshError } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import type { ErrorCounter, Registry } from '../../metrics/index.js';
import { KindWatcher } from './kind-watcher.js';
import { collectionPath, kubeRequest } from './kube-request.js';
import type { ObjectChange } from '../object-store.js';
import { KIND_INFO, KINDS, objectKey, type Kind, type KubeObject, type ObjectRejection, type ObjectSnapshot, type ObjectSource } from '../objects.js';
import { RejectionReporter } from '../rejections.js';
import { SourceCore, type ChangeListener } from '../source-core.js';
import { rejectionOf, validateObject } from '../validation.js';

export interface ClusterSourceOptions {
  readonly logger: Logger;
  /**
   * A loaded config; else `kubeconfigPath`; else in-cluster if `inCluster` (service account token,
   * re-read as it rotates, and CA; KUBERNETES_SERVICE_HOST/PORT); else KubeConfig.loadFromDefault()
   * (KUBECONFIG, ~/.kube/config, then in-cluster).
   */
  readonly kubeConfig?: KubeConfig;
  readonly kubeconfigPath?: string;
  readonly inCluster?: boolean;
  /** In-cluster only: a root prefixed to /var/run/secrets/kubernetes.io/serviceaccount (tests). */
  readonly inClusterPathPrefix?: string;
  /** The kinds to watch (default: every kind in KIND_INFO). */
  readonly kinds?: readonly Kind[];
  /** `ambit_control_rejected_objects{source="cluster"}` is registered here. */
  readonly registry?: Registry;
  readonly errors?: ErrorCounter;
  /** Restart delay after a failed list or watch: initial, doubling to max, ±20 % (ms; 1000 / 30000). */
  readonly backoffInitialMs?: number;
  readonly backoffMaxMs?: number;
  /** How often a kind whose CRD is not installed is listed again, ms (default 30000). */
  readonly absentRetryMs?: number;
  /** List page size (default 500, as client-go's pager). */
  readonly pageSize?: number;
  /** Timeout of list and patch requests, ms (default 30000). */
  readonly requestTimeoutMs?: number;
  /** `fieldManager` of status patches (default `ambit-control`). */
  readonly fieldManager?: string;
}

type PendingEvent = { readonly kind: Kind; readonly type: 'upsert' | 'delete'; readonly object: Record<string, unknown> };

/** Loads the kubeconfig the options name (throws CONFIG_INVALID when there is none usable). */
export function loadKubeConfig(options: Pick<ClusterSourceOptions, 'kubeConfig' | 'kubeconfigPath' | 'inCluster' | 'inClusterPathPrefix'>): KubeConfig {
  if (options.kubeConfig !== undefined) return options.kubeConfig;
  const kc = new KubeConfig();
  try {
    if (options.kubeconfigPath !== undefined) kc.loadFromFile(options.kubeconfigPath);
    else if (options.inCluster === true) kc.loadFromCluster(options.inClusterPathPrefix);
    else kc.loadFromDefault();
  } catch (err) {
    throw new MeshError('CONFIG_INVALID', `cannot load kubeconfig: ${(err as Error).message}`, { cause: err });
  }
  if (kc.getCurrentCluster() === null) throw new MeshError('CONFIG_INVALID', 'kubeconfig names no current cluster');
  return kc;
}

export class ClusterSource implements ObjectSource {
  private readonly kc: KubeConfig;
  private readonly core: SourceCore;
  private readonly reporter: RejectionReporter;
  private readonly watchers = new Map<Kind, KindWatcher>();
  private readonly syncedKinds = new Set<Kind>();
  private readonly kindWaiters = new Map<Kind, Array<() => void>>();
  /** Refused objects by `kind|ns/name` (or, for objects without a name, a per-event key). */
  private readonly refused = new Map<string, ObjectRejection>();
  private pending: PendingEvent[] = [];
  private flushScheduled: NodeJS.Immediate | undefined;
  private readonly kinds: readonly Kind[];

  constructor(private readonly options: ClusterSourceOptions) {
    this.kc = loadKubeConfig(options);
    this.kinds = options.kinds ?? KINDS;
    this.core = new SourceCore(options.logger);
    this.reporter = new RejectionReporter({
      source: 'cluster',
      logger: options.logger,
      ...(options.registry !== undefined ? { registry: options.registry } : {}),
      ...(options.errors !== undefined ? { errors: options.errors } : {}),
    });
  }

  /** Starts every kind's list+watch and returns; whenSynced() says when all have listed once. */
  async start(): Promise<void> {
    this.options.logger.info({ server: this.kc.getCurrentCluster()?.server, kinds: this.kinds.length }, 'watching the cluster');
    for (const kind of this.kinds) {
      const watcher = new KindWatcher({
        kc: this.kc,
        kind,
        logger: this.options.logger,
        pageSize: this.options.pageSize ?? 500,
        backoffInitialMs: this.options.backoffInitialMs ?? 1000,
        backoffMaxMs: this.options.backoffMaxMs ?? 30_000,
        absentRetryMs: this.options.absentRetryMs ?? 30_000,
        requestTimeoutMs: this.options.requestTimeoutMs ?? 30_000,
        onList: (items) => this.relisted(kind, items),
        onEvent: (type, object) => this.enqueue({ kind, type, object }),
        onAbsent: () => this.relisted(kind, []),
      });
      this.watchers.set(kind, watcher);
      watcher.start();
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.watchers.values()].map((w) => w.close()));
    this.flush();
  }

  destroy(): void {
    for (const w of this.watchers.values()) void w.close();
    if (this.flushScheduled !== undefined) clearImmediate(this.flushScheduled);
    this.flushScheduled = undefined;
    this.pending = [];
  }

  get synced(): boolean {
    return this.core.synced;
  }

  whenSynced(): Promise<void> {
    return this.core.whenSynced();
  }

  /** True once `kind` has been listed (or found absent) at least once. */
  kindSynced(kind: Kind): boolean {
    return this.syncedKinds.has(kind);
  }

  whenKindSynced(kind: Kind): Promise<void> {
    if (this.syncedKinds.has(kind)) return Promise.resolve();
    return new Promise((resolve) => this.kindWaiters.set(kind, [...(this.kindWaiters.get(kind) ?? []), resolve]));
  }

  /** The last resourceVersion seen for `kind` (list, event or bookmark); '' before the first list. */
  resourceVersion(kind: Kind): string {
    return this.watchers.get(kind)?.resourceVersion() ?? '';
  }

  snapshot(): ObjectSnapshot {
    return this.core.snapshot();
  }

  onChange(listener: ChangeListener): () => void {
    return this.core.onChange(listener);
  }

  rejections(): readonly ObjectRejection[] {
    return this.reporter.list();
  }

  /**
   * Writes `status` to the object's status subresource with a JSON merge patch (RFC 7386) and
   * returns the object as the server stored it. Merge-patch semantics: maps merge, lists (e.g.
   * HTTPRoute `status.parents`) are replaced whole, `null` deletes a field. With `resourceVersion`
   * the patch is conditional: the API server refuses it (409 Conflict) if the object changed since.
   * Throws KUBE_API.
   */
  async writeStatus(kind: Kind, namespace: string | undefined, name: string, status: unknown, resourceVersion?: string): Promise<Record<string, unknown>> {
    const version = this.watchers.get(kind)?.version ?? KIND_INFO[kind].versions[0]!;
    const path = `${collectionPath(kind, version, namespace)}/${encodeURIComponent(name)}/status`;
    return (await kubeRequest(this.kc, 'PATCH', path, {
      query: { fieldManager: this.options.fieldManager ?? 'ambit-control' },
      body: resourceVersion !== undefined ? { metadata: { resourceVersion }, status } : { status },
      contentType: 'application/merge-patch+json',
      timeoutMs: this.options.requestTimeoutMs ?? 30_000,
    })) as Record<string, unknown>;
  }

  private enqueue(event: PendingEvent): void {
    this.pending.push(event);
    this.flushScheduled ??= setImmediate(() => {
      this.flushScheduled = undefined;
      this.flush();
    });
  }

  /** Applies the queued events in order as one batch. */
  private flush(): void {
    if (this.pending.length === 0) return;
    const events = this.pending;
    this.pending = [];
    const changes: ObjectChange[] = [];
    let rejectionsChanged = false;
    for (const { kind, type, object } of events) {
      const meta = (object['metadata'] ?? {}) as { namespace?: string; name?: string };
      const key = `${kind}|${objectKey(meta.namespace, meta.name ?? '')}`;
      if (type === 'delete') {
        if (meta.name !== undefined) changes.push({ type: 'delete', kind, namespace: meta.namespace || undefined, name: meta.name });
        rejectionsChanged = this.refused.delete(key) || rejectionsChanged;
        continue;
      }
      const accepted = this.accept(kind, object, key);
      rejectionsChanged ||= accepted.rejectionsChanged;
      if (accepted.object !== undefined) changes.push({ type: 'upsert', object: accepted.object });
    }
    this.core.apply(changes);
    if (rejectionsChanged) this.reporter.replace([...this.refused.values()]);
  }

  /** A full list of `kind`: replaces all its objects in one batch (after anything queued before it). */
  private relisted(kind: Kind, items: readonly Record<string, unknown>[]): void {
    if (this.flushScheduled !== undefined) clearImmediate(this.flushScheduled);
    this.flushScheduled = undefined;
    this.flush();
    for (const key of [...this.refused.keys()]) if (key.startsWith(`${kind}|`)) this.refused.delete(key);
    const objects: KubeObject[] = [];
    const current = this.core.snapshot();
    for (const item of items) {
      const meta = (item['metadata'] ?? {}) as { namespace?: string; name?: string };
      const key = `${kind}|${objectKey(meta.namespace, meta.name ?? '')}`;
      const { object } = this.accept(kind, item, key);
      const kept = object ?? (meta.name === undefined ? undefined : current.get(kind, meta.namespace || undefined, meta.name));
      if (kept !== undefined) objects.push(kept);
    }
    this.core.replaceKinds([kind], objects);
    this.reporter.replace([...this.refused.values()]);
    if (!this.syncedKinds.has(kind)) {
      this.syncedKinds.add(kind);
      for (const resolve of this.kindWaiters.get(kind) ?? []) resolve();
      this.kindWaiters.delete(kind);
      if (this.kinds.every((k) => this.syncedKinds.has(k))) {
        this.core.markSynced();
        this.options.logger.info({ kinds: this.kinds.length, version: this.core.snapshot().version }, 'cluster objects synced');
      }
    }
  }

  /** Validates one object; records or clears its rejection. `object` is set only when valid. */
  private accept(kind: Kind, raw: Record<string, unknown>, key: string): { object?: KubeObject; rejectionsChanged: boolean } {
    const result = validateObject(raw);
    if (result.ok && result.object.kind === kind) {
      return { object: result.object, rejectionsChanged: this.refused.delete(key) };
    }
    const rejection = result.ok
      ? rejectionOf({ source: 'cluster' }, { kind }, [{ path: 'kind', reason: `the ${kind} endpoint returned kind ${result.object.kind}` }])
      : rejectionOf({ source: 'cluster' }, { kind, ...result.identity }, result.problems);
    const before = this.refused.get(key);
    this.refused.set(key, rejection);
    return { rejectionsChanged: before === undefined || JSON.stringify(before) !== JSON.stringify(rejection) };
  }
}
