// The resource cache the control plane feeds: per type URL, the full desired set of encoded resources.
// It versions them by content, works out what changed, and keeps a short journal so pushes look only at changes.

import { diffVersions, contentVersion } from './versions.js';
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
   * The caller may reuse its buffers afterwards (their bytes are copied into the entries).
   */
  setMany(updates: Iterable<readonly [string, ReadonlyMap<string, Uint8Array>]>): CacheChange | undefined {
    // Build every new view first, commit after: a throw (bad argument) leaves the cache untouched.
    const staged: Array<{ typeUrl: string; view: TypeView; names: string[]; changed: string[]; removed: string[] }> = [];
    const seen = new Set<string>();
    for (const [typeUrl, resources] of updates) {
      if (typeUrl === '') throw new TypeError('setResources: empty type URL');
      if (seen.has(typeUrl)) throw new TypeError(`setMany: type ${typeUrl} given twice`);
      seen.add(typeUrl);
      const before = this.#types.get(typeUrl)?.view ?? EMPTY_VIEW;
      const view = buildView(typeUrl, before, resources);
      const diff = diffVersions(versionsOf(before), versionsOf(view));
      if (diff.changed.length === 0 && diff.removed.length === 0) continue;
      staged.push({ typeUrl, view, names: [...diff.changed, ...diff.removed], changed: [...diff.changed], removed: [...diff.removed] });
    }
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

function versionsOf(view: TypeView): Map<string, string> {
  const out = new Map<string, string>();
  for (const [name, entry] of view) out.set(name, entry.version);
  return out;
}

/** The new view: unchanged bytes keep their entry (no hashing), others are hashed and encoded. */
function buildView(typeUrl: string, before: TypeView, resources: ReadonlyMap<string, Uint8Array>): TypeView {
  const view = new Map<string, CacheEntry>();
  for (const [name, bytes] of resources) {
    if (name === '') throw new TypeError(`setResources: empty resource name in ${typeUrl}`);
    if (!(bytes instanceof Uint8Array)) throw new TypeError(`setResources: ${typeUrl} ${name} is not a Uint8Array`);
    const old = before.get(name);
    if (old !== undefined && old.size === bytes.length && sameBytes(resourceValue(old.encoded, old.size), bytes)) {
      view.set(name, old);
      continue;
    }
    const version = contentVersion(bytes);
    view.set(name, { name, version, encoded: encodeResource(name, version, typeUrl, bytes), size: bytes.length });
  }
  return view;
}

/** Byte equality without copying either side. */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
}
