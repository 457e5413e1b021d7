// What one stream's client holds of one type (name → version), stored as a cache view it is known to
// match plus the differences since: a wildcard stream in step with the cache costs no per-name memory.
//
// Without a base this is a plain map. rebase(view) states "the client holds exactly this view";
// later set/delete calls are kept beside it, and null in the overlay marks a base name not held.

import type { TypeView } from './resource-cache.js';

export class KnownVersions {
  #base: TypeView | undefined;
  readonly #overlay = new Map<string, string | null>();

  get(name: string): string | undefined {
    const v = this.#overlay.get(name);
    if (v !== undefined) return v ?? undefined;
    return this.#base?.get(name)?.version;
  }

  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  set(name: string, version: string): void {
    if (this.#base?.get(name)?.version === version) this.#overlay.delete(name);
    else this.#overlay.set(name, version);
  }

  delete(name: string): void {
    if (this.#base?.has(name) === true) this.#overlay.set(name, null);
    else this.#overlay.delete(name);
  }

  /** Names held. */
  *keys(): IterableIterator<string> {
    for (const [name, v] of this.#overlay) if (v !== null) yield name;
    if (this.#base === undefined) return;
    for (const name of this.#base.keys()) if (!this.#overlay.has(name)) yield name;
  }

  /** The client holds exactly `view` (every name at its version, nothing else). */
  rebase(view: TypeView): void {
    this.#base = view;
    this.#overlay.clear();
  }

  /** Forgets every name `keep` refuses; the result is a plain map again (no base). */
  retain(keep: (name: string) => boolean): void {
    const held = [...this.keys()].filter(keep).map((name) => [name, this.get(name)!] as const);
    this.#base = undefined;
    this.#overlay.clear();
    for (const [name, version] of held) this.#overlay.set(name, version);
  }

  /** name → version, a copy. */
  toMap(): Map<string, string> {
    return new Map([...this.keys()].map((name) => [name, this.get(name)!]));
  }
}
