// The storage behind the fake API server: objects per resource, one cluster-wide monotonic
// resourceVersion, and a bounded history of watch events (compaction makes older versions "Gone").
//
// As etcd behind a real API server: every write anywhere takes the next resourceVersion; an object
// carries the version of its last write; a DELETED event carries the deletion's version; history
// older than the compaction point cannot be replayed (watch from it, or a continue token from it,
// is answered 410 Gone / Expired).

import { randomUUID } from 'node:crypto';

export type Obj = Record<string, unknown> & { metadata: Record<string, unknown> & { name: string; namespace?: string } };

/** A REST resource the fake serves (a built-in type, or a CRD that can be absent). */
export interface FakeResource {
  readonly group: string;
  /** Served versions (a request for any other is 404, as for a CRD not serving it). */
  readonly versions: readonly string[];
  readonly plural: string;
  readonly kind: string;
  readonly namespaced: boolean;
  /** Built-in types' list items carry no kind/apiVersion; custom resources' do. */
  readonly builtin: boolean;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoredEvent {
  readonly rv: number;
  readonly type: WatchEventType;
  readonly resource: string;
  /** The object after the change (for DELETED: its last state, with the deletion's resourceVersion). */
  readonly object: Obj;
  /** The object before the change (undefined for ADDED). */
  readonly previous: Obj | undefined;
}

export const resourceId = (r: Pick<FakeResource, 'group' | 'plural'>): string => `${r.group}/${r.plural}`;
const keyOf = (ns: string | undefined, name: string): string => `${ns ?? ''}/${name}`;

export class FakeKubeState {
  /** The cluster's current resourceVersion (that of the last write). Starts high on purpose. */
  rv = 1000;
  /** Events with rv <= this are forgotten. */
  compactedRv = 1000;
  private readonly objects = new Map<string, Map<string, Obj>>();
  private history: StoredEvent[] = [];
  private readonly listeners = new Set<(e: StoredEvent) => void>();

  subscribe(listener: (e: StoredEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Current objects of a resource, sorted by namespace/name (the API server's list order). */
  list(resource: string, namespace?: string): Obj[] {
    const m = this.objects.get(resource) ?? new Map<string, Obj>();
    return [...m.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, o]) => o)
      .filter((o) => namespace === undefined || o.metadata.namespace === namespace);
  }

  get(resource: string, namespace: string | undefined, name: string): Obj | undefined {
    return this.objects.get(resource)?.get(keyOf(namespace, name));
  }

  /** Creates or replaces `object`; returns the stored copy (server fields set). */
  upsert(resource: string, object: Obj): Obj {
    const ns = object.metadata.namespace;
    const previous = this.get(resource, ns, object.metadata.name);
    const rv = ++this.rv;
    const specChanged = previous === undefined || JSON.stringify(previous['spec']) !== JSON.stringify(object['spec']);
    const stored: Obj = structuredClone({
      ...object,
      metadata: {
        ...object.metadata,
        uid: previous?.metadata['uid'] ?? randomUUID(),
        creationTimestamp: previous?.metadata['creationTimestamp'] ?? new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
        generation: previous === undefined ? 1 : Number(previous.metadata['generation'] ?? 1) + (specChanged ? 1 : 0),
        resourceVersion: String(rv),
      },
    });
    this.write(resource, previous === undefined ? 'ADDED' : 'MODIFIED', stored, previous);
    return stored;
  }

  remove(resource: string, namespace: string | undefined, name: string): Obj | undefined {
    const previous = this.get(resource, namespace, name);
    if (previous === undefined) return undefined;
    const rv = ++this.rv;
    const gone: Obj = { ...previous, metadata: { ...previous.metadata, resourceVersion: String(rv) } };
    this.write(resource, 'DELETED', gone, previous);
    return gone;
  }

  /** RFC 7386 merge of `status` into the object's status (the status subresource: nothing else changes). */
  patchStatus(resource: string, namespace: string | undefined, name: string, status: unknown): Obj | undefined {
    const previous = this.get(resource, namespace, name);
    if (previous === undefined) return undefined;
    const merged = mergePatch(previous['status'], status);
    const next: Obj = structuredClone({ ...previous, metadata: { ...previous.metadata, resourceVersion: String(++this.rv) } });
    if (merged === undefined) delete next['status'];
    else next['status'] = merged;
    this.write(resource, 'MODIFIED', next, previous);
    return next;
  }

  /** Forgets history up to `upTo` (default: everything so far); watches from older versions get 410. */
  compact(upTo = this.rv): void {
    this.compactedRv = Math.max(this.compactedRv, Math.min(upTo, this.rv));
    this.history = this.history.filter((e) => e.rv > this.compactedRv);
  }

  /** Events of `resource` after `rv`, or undefined if some may have been compacted away. */
  eventsAfter(resource: string, rv: number): StoredEvent[] | undefined {
    if (rv < this.compactedRv) return undefined;
    return this.history.filter((e) => e.rv > rv && e.resource === resource);
  }

  /** The resource's objects as they were at `rv` (undone from history), or undefined if compacted. */
  listAt(resource: string, rv: number, namespace?: string): Obj[] | undefined {
    const events = this.eventsAfter(resource, rv);
    if (events === undefined) return undefined;
    const m = new Map((this.objects.get(resource) ?? new Map<string, Obj>()).entries());
    for (const e of [...events].reverse()) {
      const key = keyOf(e.object.metadata.namespace, e.object.metadata.name);
      if (e.previous === undefined) m.delete(key);
      else m.set(key, e.previous);
    }
    return [...m.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, o]) => o)
      .filter((o) => namespace === undefined || o.metadata.namespace === namespace);
  }

  private write(resource: string, type: WatchEventType, object: Obj, previous: Obj | undefined): void {
    let m = this.objects.get(resource);
    if (m === undefined) {
      m = new Map();
      this.objects.set(resource, m);
    }
    const key = keyOf(object.metadata.namespace, object.metadata.name);
    if (type === 'DELETED') m.delete(key);
    else m.set(key, object);
    const event: StoredEvent = { rv: this.rv, type, resource, object, previous };
    this.history.push(event);
    for (const l of [...this.listeners]) l(event);
  }
}

/** RFC 7386 JSON merge patch. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch === null ? undefined : patch;
  const out: Record<string, unknown> = target !== null && typeof target === 'object' && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [k, v] of Object.entries(patch as Record<string, unknown>)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}
