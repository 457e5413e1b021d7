// The control plane's object store: objects by kind and key, changed in batches, read through
// immutable snapshots (a translation never sees a half-applied batch).
//
// Invariant: a snapshot handed out is never mutated; apply() builds the next one copy-on-write
// (only the kinds a batch touches are copied; the others keep their maps, objects and sorted lists).

import { KINDS, objectKey, type Kind, type KubeObject, type ObjectSnapshot } from './objects.js';

/** One change: an object stored (added or replaced) or deleted. */
export type ObjectChange =
  | { readonly type: 'upsert'; readonly object: KubeObject }
  | { readonly type: 'delete'; readonly kind: Kind; readonly namespace: string | undefined; readonly name: string };

type KindMap = ReadonlyMap<string, KubeObject>;

class Snapshot implements ObjectSnapshot {
  private readonly sorted: Map<Kind, readonly KubeObject[]>;

  /** `sorted`: lists already made of kinds whose map is the same as here (carried over, not re-sorted). */
  constructor(
    readonly version: number,
    private readonly byKind: ReadonlyMap<Kind, KindMap>,
    sorted: ReadonlyMap<Kind, readonly KubeObject[]> = new Map(),
  ) {
    this.sorted = new Map(sorted);
  }

  list<K extends Kind>(kind: K, namespace?: string): readonly KubeObject<K>[] {
    let all = this.sorted.get(kind);
    if (!all) {
      const m = this.byKind.get(kind);
      all = m ? [...m.keys()].sort().map((k) => m.get(k)!) : [];
      this.sorted.set(kind, all);
    }
    const typed = all as readonly KubeObject<K>[];
    return namespace === undefined ? typed : typed.filter((o) => o.metadata.namespace === namespace);
  }

  get<K extends Kind>(kind: K, namespace: string | undefined, name: string): KubeObject<K> | undefined {
    return this.byKind.get(kind)?.get(objectKey(namespace, name)) as KubeObject<K> | undefined;
  }

  /** The raw maps, for the store to build the next snapshot from. */
  maps(): ReadonlyMap<Kind, KindMap> {
    return this.byKind;
  }

  /** The sorted lists made so far, except of `kinds`. */
  sortedExcept(kinds: ReadonlySet<Kind>): Map<Kind, readonly KubeObject[]> {
    const out = new Map<Kind, readonly KubeObject[]>();
    for (const [kind, list] of this.sorted) if (!kinds.has(kind)) out.set(kind, list);
    return out;
  }
}

export class ObjectStore {
  private current: Snapshot = new Snapshot(0, new Map());

  snapshot(): ObjectSnapshot {
    return this.current;
  }

  /**
   * Applies a batch atomically and returns the kinds that changed (empty if nothing did: an
   * upsert of an identical object or a delete of a missing one is not a change).
   */
  apply(changes: readonly ObjectChange[]): ReadonlySet<Kind> {
    const changed = new Set<Kind>();
    const next = new Map<Kind, Map<string, KubeObject>>();
    const writable = (kind: Kind): Map<string, KubeObject> => {
      let m = next.get(kind);
      if (!m) {
        m = new Map(this.current.maps().get(kind) ?? []);
        next.set(kind, m);
      }
      return m;
    };
    for (const c of changes) {
      if (c.type === 'upsert') {
        const { kind } = c.object;
        const key = objectKey(c.object.metadata.namespace, c.object.metadata.name);
        const before = (next.get(kind) ?? this.current.maps().get(kind))?.get(key);
        if (before !== undefined && sameObject(before, c.object)) continue;
        writable(kind).set(key, c.object);
        changed.add(kind);
      } else {
        const key = objectKey(c.namespace, c.name);
        if (!(next.get(c.kind) ?? this.current.maps().get(c.kind))?.has(key)) continue;
        writable(c.kind).delete(key);
        changed.add(c.kind);
      }
    }
    if (changed.size === 0) return changed;
    const maps = new Map<Kind, KindMap>(this.current.maps());
    for (const [kind, m] of next) maps.set(kind, m);
    // Kinds the batch left alone keep their list: the same array, not a re-sorted copy.
    this.current = new Snapshot(this.current.version + 1, maps, this.current.sortedExcept(new Set(next.keys())));
    return changed;
  }

  /** Replaces every object of the given kinds with `objects` (a full relisting or a folder reload). */
  replaceKinds(kinds: readonly Kind[], objects: readonly KubeObject[]): ReadonlySet<Kind> {
    const changes: ObjectChange[] = [];
    const keep = new Set(objects.map((o) => `${o.kind}|${objectKey(o.metadata.namespace, o.metadata.name)}`));
    for (const kind of kinds) {
      for (const o of this.current.list(kind)) {
        if (!keep.has(`${kind}|${objectKey(o.metadata.namespace, o.metadata.name)}`)) {
          changes.push({ type: 'delete', kind, namespace: o.metadata.namespace, name: o.metadata.name });
        }
      }
    }
    for (const object of objects) changes.push({ type: 'upsert', object });
    return this.apply(changes);
  }
}

/** Equal content, ignoring resourceVersion and managedFields (which change on every write). */
function sameObject(a: KubeObject, b: KubeObject): boolean {
  if (a === b) return true;
  return JSON.stringify(a, ignoreVolatile) === JSON.stringify(b, ignoreVolatile);
}

function ignoreVolatile(key: string, value: unknown): unknown {
  return key === 'resourceVersion' || key === 'managedFields' ? undefined : value;
}

/** A snapshot holding exactly `objects` (tests and one-shot translation). */
export function snapshotOf(objects: readonly KubeObject[]): ObjectSnapshot {
  const store = new ObjectStore();
  store.replaceKinds(KINDS, objects);
  return store.snapshot();
}
