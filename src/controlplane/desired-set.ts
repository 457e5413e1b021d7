// The full desired set of one resource type (name → encoded bytes), kept from one translation to the
// next and updated in place: a translation that changes one resource touches one entry, not a new map.

export class DesiredSet {
  readonly #bytes = new Map<string, Uint8Array>();
  /** The run that last set each name. */
  readonly #setIn = new Map<string, number>();
  #run = 0;
  /** Distinct names set in the current run. */
  #count = 0;

  /** Starts a run: every name must be set again, or end() drops it. */
  begin(): void {
    this.#run++;
    this.#count = 0;
  }

  set(name: string, bytes: Uint8Array): void {
    if (this.#setIn.get(name) !== this.#run) this.#count++;
    this.#setIn.set(name, this.#run);
    if (this.#bytes.get(name) !== bytes) this.#bytes.set(name, bytes);
  }

  /** Ends the run, dropping the names it did not set; the set to hand to the cache (read-only; changes with the next run). */
  end(): ReadonlyMap<string, Uint8Array> {
    if (this.#count < this.#bytes.size) {
      for (const [name, run] of this.#setIn) {
        if (run === this.#run) continue;
        this.#setIn.delete(name);
        this.#bytes.delete(name);
      }
    }
    return this.#bytes;
  }
}
