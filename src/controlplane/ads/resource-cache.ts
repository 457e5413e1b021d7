// The resource cache the control plane feeds: per type URL, the full desired set of encoded resources.
// It versions them by content, works out what changed, and keeps a short journal so pushes look only at changes.

import { contentVersion } from './versions.js';
import { encodeResource, resourceValue } from './wire.js';

/** One cached resource. Immutable; replaced, never mutated, when its content changes. */
export interface CacheEntry {
  readonly name: string;
  /** Content hash of the message (contentVersion). */
  readonly version: string;
  /** The encoded envoy Resource (name, version, Any) ready to be put in a response. */
  readonly encoded: Uint8Array;
  /** Size of the message itself, bytes. */
  readonly size: number;
  /**
   * The caller's buffer this entry was made from, when the caller promised not to change it
   * (setMany `stableBuffers`): the same buffer given again is known unchanged without comparing.
   */
  readonly source?: Uint8Array;
}

/** One type's resources at one revision. Never mutated: a change builds a new map. */
export type TypeView = ReadonlyMap<string, CacheEntry>;

/** What one setResources/setMany call changed (only types with changes appear). */
export interface CacheChange {
  readonly revision: number;
  /** performance.now() of the change, ms (push latency is measured from here). */
  readonly at: number;
  readonly types: ReadonlyMap<string, { readonly changed: readonly string[]; readonly removed: readonly string[] }>;
}

/** Names touched (changed or removed) since a revision, and when the oldest of those changes happened. */
export interface ChangesSince {
  readonly names: ReadonlySet<string>;
  /** performance.now() of the oldest change included; undefined if there is none. */
  readonly oldestAt: number | undefined;
}

export type CacheListener = (change: CacheChange) => void;

interface JournalEntry {
  readonly revision: number;
  readonly at: number;
  readonly names: readonly string[];
}

interface TypeState {
  view: TypeView;
  journal: JournalEntry[];
  /** Highest revision dropped from the journal; asking for changes since an older one needs a full scan. */
  floor: number;
}

/** Journal entries kept per type. Beyond this a stream that fell behind compares everything instead. */
export const JOURNAL_LENGTH = 256;

const EMPTY_VIEW: TypeView = new Map();

export class ResourceCache {
  readonly #types = new Map<string, TypeState>();
  readonly #listeners = new Set<CacheListener>();
  /** Monotonic over all types; 0 = nothing set yet. */
  #revision = 0;

  get revision(): number {
    return this.#revision;
  }

  /** Replaces the full desired set of one type. Returns what changed, undefined if nothing did. */
  setResources(typeUrl: string, resources: ReadonlyMap<string, Uint8Array>): CacheChange | undefined {
    return this.setMany([[typeUrl, resources]]);
  }

  /**
   * Replaces the full desired sets of several types in one step: one revision, one change event,
   * so a client never sees a push with half of the step. Synchronous: readers see before or after.
   * The caller may reuse its buffers afterwards (their bytes are copied into the entries), unless it
   * passes `stableBuffers`: it then never changes a buffer once given, and a buffer given again is
   * taken as unchanged without comparing bytes (the pipeline hands back the same buffer for an
   * unchanged resource, so a change of one resource does not compare them all).
   */
  setMany(updates: Iterable<readonly [string, ReadonlyMap<string, Uint8Array>]>, opts: { readonly stableBuffers?: boolean } = {}): CacheChange | undefined {
    // Build every new view first, commit after: a throw (bad argument) leaves the cache untouched.
    const staged: Array<{ typeUrl: string; view: TypeView; names: string[]; changed: string[]; removed: string[] }> = [];
    /** Views whose entries only took the caller's new buffers (same versions): kept without a change. */
    const refreshed: Array<{ typeUrl: string; view: TypeView }> = [];
    const seen = new Set<string>();
    for (const [typeUrl, resources] of updates) {
      if (typeUrl === '') throw new TypeError('setResources: empty type URL');
      if (seen.has(typeUrl)) throw new TypeError(`setMany: type ${typeUrl} given twice`);
      seen.add(typeUrl);
      const before = this.#types.get(typeUrl)?.view ?? EMPTY_VIEW;
      const { view, changed, removed } = buildView(typeUrl, before, resources, opts.stableBuffers === true);
      if (changed.length > 0 || removed.length > 0) staged.push({ typeUrl, view, names: [...changed, ...removed], changed, removed });
      else if (view !== before) refreshed.push({ typeUrl, view });
    }
    for (const r of refreshed) this.#types.get(r.typeUrl)!.view = r.view;
    if (staged.length === 0) return undefined;
    const revision = ++this.#revision;
    const at = performance.now();
    const types = new Map<string, { changed: readonly string[]; removed: readonly string[] }>();
    for (const s of staged) {
      const state = this.#types.get(s.typeUrl) ?? { view: EMPTY_VIEW, journal: [], floor: 0 };
      state.view = s.view;
      state.journal.push({ revision, at, names: s.names });
      if (state.journal.length > JOURNAL_LENGTH) state.floor = state.journal.shift()!.revision;
      this.#types.set(s.typeUrl, state);
      types.set(s.typeUrl, { changed: s.changed, removed: s.removed });
    }
    const change: CacheChange = { revision, at, types };
    for (const listener of this.#listeners) listener(change);
    return change;
  }

  /** The current resources of a type (an empty map for a type never set). */
  view(typeUrl: string): TypeView {
    return this.#types.get(typeUrl)?.view ?? EMPTY_VIEW;
  }

  /** Type URLs that have (or had) resources. */
  typeUrls(): string[] {
    return [...this.#types.keys()];
  }

  /**
   * Names of `typeUrl` changed or removed after `revision`; undefined when the journal no longer
   * reaches back that far (the caller must compare the whole view).
   */
  changesSince(typeUrl: string, revision: number): ChangesSince | undefined {
    const state = this.#types.get(typeUrl);
    if (state === undefined) return { names: new Set(), oldestAt: undefined };
    if (revision < state.floor) return undefined;
    const names = new Set<string>();
    let oldestAt: number | undefined;
    // Newest last: walk back until an entry at or below `revision`.
    for (let i = state.journal.length - 1; i >= 0; i--) {
      const entry = state.journal[i]!;
      if (entry.revision <= revision) break;
      for (const n of entry.names) names.add(n);
      oldestAt = entry.at;
    }
    return { names, oldestAt };
  }

  /** Called synchronously after every change; returns the unsubscribe function. */
  onChange(listener: CacheListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}

/**
 * The new view and what changed (sorted names): unchanged bytes keep their entry (no hashing);
 * others are hashed, and a resource whose version moved is encoded anew. The view is the old one
 * when nothing changed, else a copy of it with the changes applied (one allocation of the final size).
 */
function buildView(
  typeUrl: string,
  before: TypeView,
  resources: ReadonlyMap<string, Uint8Array>,
  stable: boolean,
): { view: TypeView; changed: string[]; removed: string[] } {
  const updates: CacheEntry[] = [];
  const changed: string[] = [];
  /** Names of `before` that are still wanted. */
  let present = 0;
  // forEach, not for-of: no [name, bytes] pair allocated per resource (tens of thousands per change).
  resources.forEach((bytes, name) => {
    if (name === '') throw new TypeError(`setResources: empty resource name in ${typeUrl}`);
    if (!(bytes instanceof Uint8Array)) throw new TypeError(`setResources: ${typeUrl} ${name} is not a Uint8Array`);
    const old = before.get(name);
    if (old !== undefined) present++;
    if (old !== undefined && stable && old.source === bytes) return;
    if (old !== undefined && old.size === bytes.length && sameBytes(resourceValue(old.encoded, old.size), bytes)) {
      if (stable) updates.push({ ...old, source: bytes });
      return;
    }
    const version = contentVersion(bytes);
    if (old !== undefined && old.version === version) {
      if (stable) updates.push({ ...old, source: bytes });
      return;
    }
    updates.push({ name, version, encoded: encodeResource(name, version, typeUrl, bytes), size: bytes.length, ...(stable ? { source: bytes } : {}) });
    changed.push(name);
  });
  const removed: string[] = [];
  if (present < before.size) {
    for (const name of before.keys()) if (!resources.has(name)) removed.push(name);
  }
  if (updates.length === 0 && removed.length === 0) return { view: before, changed, removed };
  const view = new Map(before);
  for (const e of updates) view.set(e.name, e);
  for (const name of removed) view.delete(name);
  return { view, changed: changed.sort(), removed: removed.sort() };
}

/** Byte equality without copying either side. */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
}
