// One stream's subscription to one type URL under the delta xDS rules (wildcard, explicit names,
// initial_resource_versions) and what the client holds; pure: it plans responses, the stream sends them.
//
// Rules (envoy api/xds_protocol.rst, "How the client specifies what resources to return" and
// "Incremental xDS"; istio pilot/pkg/xds/delta.go deltaWatchedResources):
// - Wildcard: "*" subscribed; or, legacy, the client has never subscribed to any name (an empty
//   subscribe list on the first request). `["*"]` subscribed and unsubscribed together is nothing
//   (ztunnel's on-demand start, proto/xds.proto and src/xds/client.rs upstream).
// - A newly subscribed name is answered even if unchanged: with the resource, or with its name in
//   removed_resources when it does not exist ("Knowing When a Requested Resource Does Not Exist").
// - initial_resource_versions (first request only): the client holds these; equal versions are
//   not resent, names that no longer exist are removed. Version "" = asked for, never received.
//   On a non-wildcard stream those names are subscribed too, as istiod does.
// - Unsubscribed names are forgotten without a removal (the client drops them itself).

import { KnownVersions } from './known-versions.js';
import type { CacheEntry, TypeView } from './resource-cache.js';

export const WILDCARD = '*';

/** A planned response for one type: resources to send (sorted by name) and names to remove. */
export interface PlannedDelta {
  readonly resources: readonly CacheEntry[];
  readonly removed: readonly string[];
  /** Send even when empty (the first request of a type always gets an answer). */
  readonly respond: boolean;
  /** The view it was planned against. */
  readonly view: TypeView;
}

export class TypeSubscription {
  /** Legacy wildcard: no name ever subscribed. */
  #implicitWildcard = false;
  /** "*" explicitly subscribed. */
  #star = false;
  /** Explicitly subscribed names, without "*". */
  readonly #names = new Set<string>();
  /**
   * name → version the client holds, as far as this server knows (what it sent or was told). A
   * wildcard stream holds exactly the view of its last plan once that plan is committed or
   * settled (every name that differed was sent or removed), so it is kept as that view, not copied.
   */
  readonly #known = new KnownVersions();
  /** Names owed an answer even if unchanged: newly subscribed, or announced with version "". */
  readonly #pending = new Set<string>();
  /** Compare the whole view at the next plan (first request, wildcard turned on, journal lost). */
  #fullScan = true;
  /** The first request has not been answered yet. */
  #initialOwed = true;

  get wildcard(): boolean {
    return this.#implicitWildcard || this.#star;
  }

  /** Explicit names (sorted), for the debug view. */
  subscribedNames(): string[] {
    return [...this.#names].sort();
  }

  /** name → version the client holds (a copy). */
  knownVersions(): Map<string, string> {
    return this.#known.toMap();
  }

  get needsFullScan(): boolean {
    return this.#fullScan;
  }

  /** The next plan compares everything (the cache journal no longer reaches back far enough). */
  forceFullScan(): void {
    this.#fullScan = true;
  }

  /** Applies the first request of this type on the stream. */
  applyInitial(subscribe: readonly string[], unsubscribe: readonly string[], initialVersions: ReadonlyMap<string, string>): void {
    this.#implicitWildcard = subscribe.length === 0;
    this.#applyNames(subscribe, unsubscribe);
    for (const [name, version] of initialVersions) {
      if (name === WILDCARD) continue;
      if (!this.wildcard) this.#names.add(name);
      if (version === '') this.#pending.add(name);
      else {
        this.#known.set(name, version);
        this.#pending.delete(name);
      }
    }
    this.#prune();
    this.#fullScan = true;
    this.#initialOwed = true;
  }

  /** Applies a later request's subscribe/unsubscribe lists. Returns true if anything changed. */
  applyUpdate(subscribe: readonly string[], unsubscribe: readonly string[]): boolean {
    if (subscribe.length === 0 && unsubscribe.length === 0) return false;
    const wasWildcard = this.wildcard;
    // Any explicit subscription ends the legacy wildcard; "*" keeps it explicitly.
    if (subscribe.length > 0) this.#implicitWildcard = false;
    this.#applyNames(subscribe, unsubscribe);
    if (!wasWildcard && this.wildcard) this.#fullScan = true;
    this.#prune();
    return true;
  }

  #applyNames(subscribe: readonly string[], unsubscribe: readonly string[]): void {
    for (const name of subscribe) {
      if (name === WILDCARD) {
        this.#star = true;
        continue;
      }
      this.#names.add(name);
      // Re-sent even if the client might hold it: it asked, so it gets an answer.
      this.#known.delete(name);
      this.#pending.add(name);
    }
    for (const name of unsubscribe) {
      if (name === WILDCARD) this.#star = false;
      else this.#names.delete(name);
    }
  }

  /** Forgets what the client holds outside its interest (no removals are owed for those). */
  #prune(): void {
    if (this.wildcard) return;
    this.#known.retain((name) => this.#names.has(name));
    for (const name of this.#pending) if (!this.#names.has(name)) this.#pending.delete(name);
  }

  #interested(name: string): boolean {
    return this.wildcard || this.#names.has(name);
  }

  /**
   * What to send now against `view`. `candidates` are the names changed since the last plan (from
   * the cache journal); undefined, or a pending full scan, compares every relevant name.
   */
  plan(view: TypeView, candidates: Iterable<string> | undefined): PlannedDelta {
    const names = new Set<string>(this.#pending);
    if (candidates === undefined || this.#fullScan) {
      for (const n of this.#known.keys()) names.add(n);
      if (this.wildcard) for (const n of view.keys()) names.add(n);
      else for (const n of this.#names) names.add(n);
    } else {
      for (const n of candidates) names.add(n);
    }
    const resources: CacheEntry[] = [];
    const removed: string[] = [];
    for (const name of [...names].sort()) {
      if (!this.#interested(name)) continue;
      const entry = view.get(name);
      if (entry !== undefined) {
        if (this.#known.get(name) !== entry.version) resources.push(entry);
      } else if (this.#known.has(name) || this.#pending.has(name)) {
        removed.push(name);
      }
    }
    return { resources, removed, respond: this.#initialOwed || resources.length > 0 || removed.length > 0, view };
  }

  /**
   * Records a plan as sent. The client is taken to hold what was sent whether it ACKs or NACKs:
   * a NACKed version is not sent again until its content (and so its version) changes.
   */
  commit(delta: PlannedDelta): void {
    if (this.wildcard) this.#known.rebase(delta.view);
    else {
      for (const entry of delta.resources) this.#known.set(entry.name, entry.version);
      for (const name of delta.removed) this.#known.delete(name);
    }
    this.#pending.clear();
    this.#fullScan = false;
    this.#initialOwed = false;
  }

  /** A plan with nothing to send still brings the subscription up to date. */
  settle(delta: PlannedDelta): void {
    if (this.wildcard) this.#known.rebase(delta.view);
    this.#fullScan = false;
  }
}
