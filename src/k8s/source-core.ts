// What every ObjectSource shares: the object store, change listeners, and the synced signal.
// A source decides what to apply; the core applies it atomically and tells the listeners.
//
// Invariants: listeners run after the store holds the new snapshot, once per applied batch that
// changed something, with the kinds it changed; a throwing listener is logged, never propagated
// to the source (one bad consumer must not stop the watch).

import type { Logger } from '../common/log.js';
import { ObjectStore, type ObjectChange } from './object-store.js';
import type { Kind, KubeObject, ObjectSnapshot } from './objects.js';

export type ChangeListener = (snapshot: ObjectSnapshot, changed: ReadonlySet<Kind>) => void;

export class SourceCore {
  private readonly store = new ObjectStore();
  private readonly listeners = new Set<ChangeListener>();
  private syncedFlag = false;
  private readonly syncedPromise: Promise<void>;
  private resolveSynced!: () => void;

  constructor(private readonly logger: Logger) {
    this.syncedPromise = new Promise((resolve) => {
      this.resolveSynced = resolve;
    });
  }

  get synced(): boolean {
    return this.syncedFlag;
  }

  /** Resolves once markSynced() has been called (never before; never rejects). */
  whenSynced(): Promise<void> {
    return this.syncedPromise;
  }

  markSynced(): void {
    if (this.syncedFlag) return;
    this.syncedFlag = true;
    this.resolveSynced();
  }

  snapshot(): ObjectSnapshot {
    return this.store.snapshot();
  }

  onChange(listener: ChangeListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  apply(changes: readonly ObjectChange[]): ReadonlySet<Kind> {
    return this.notify(this.store.apply(changes));
  }

  replaceKinds(kinds: readonly Kind[], objects: readonly KubeObject[]): ReadonlySet<Kind> {
    return this.notify(this.store.replaceKinds(kinds, objects));
  }

  private notify(changed: ReadonlySet<Kind>): ReadonlySet<Kind> {
    if (changed.size === 0) return changed;
    const snapshot = this.store.snapshot();
    for (const listener of [...this.listeners]) {
      try {
        listener(snapshot, changed);
      } catch (err) {
        this.logger.error({ err }, 'object change listener failed');
      }
    }
    return changed;
  }
}
