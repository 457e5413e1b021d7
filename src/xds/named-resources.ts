// Extra delta xDS resource types a caller subscribes to by name (non-wildcard), beside the agent's
// wildcard Address and Authorization: e.g. a waypoint's own ambit.waypoint.v1.WaypointConfig.
//
// Per resource as the wildcard types (ztunnel src/xds/client.rs): each is decoded and applied on
// its own; one the caller refuses is NACKed with `<name>: <reason>` and leaves what was applied
// before in force (its held version too, so a reconnect reports the last good one).

import type { DeltaResponse } from './delta-ads-messages.js';
import type { RejectedResource, ResponseOutcome } from './xds-resource-store.js';

/** One resource type subscribed by name, with the caller's decode+apply. */
export interface NamedResourceType {
  /** e.g. `type.googleapis.com/ambit.waypoint.v1.WaypointConfig`. */
  readonly typeUrl: string;
  /** The resource names subscribed to (at least one; never `*`). */
  readonly names: readonly string[];
  /**
   * Decodes and applies one resource, synchronously. Throws to refuse it: the response is NACKed
   * with the error's message and whatever was applied before stays in force.
   */
  readonly apply: (name: string, value: Uint8Array, version: string) => void;
  /**
   * The control plane removed a subscribed resource, or says it does not exist (a newly subscribed
   * name that does not exist is answered in removed_resources). Default: nothing to do.
   */
  readonly remove?: (name: string) => void;
}

/** The versions held of every named type, and the handling of their responses. */
export class NamedResourceStore {
  readonly #types = new Map<string, { readonly type: NamedResourceType; readonly names: ReadonlySet<string>; readonly held: Map<string, string> }>();

  constructor(types: readonly NamedResourceType[]) {
    for (const type of types) {
      if (type.names.length === 0 || type.names.includes('*')) throw new Error(`${type.typeUrl}: a named subscription needs names, and not "*"`);
      if (this.#types.has(type.typeUrl)) throw new Error(`${type.typeUrl}: subscribed twice`);
      this.#types.set(type.typeUrl, { type, names: new Set(type.names), held: new Map() });
    }
  }

  get typeUrls(): string[] {
    return [...this.#types.keys()];
  }

  has(typeUrl: string): boolean {
    return this.#types.has(typeUrl);
  }

  names(typeUrl: string): readonly string[] {
    return this.#types.get(typeUrl)?.type.names ?? [];
  }

  /** name → version held of `typeUrl` (initial_resource_versions of a new stream). */
  versions(typeUrl: string): Record<string, string> {
    return Object.fromEntries(this.#types.get(typeUrl)?.held ?? []);
  }

  get size(): number {
    let n = 0;
    for (const t of this.#types.values()) n += t.held.size;
    return n;
  }

  /** Applies one response of a named type, resource by resource; `changed` is always false (no snapshot). */
  handle(response: DeltaResponse): ResponseOutcome {
    const entry = this.#types.get(response.typeUrl);
    if (entry === undefined) return { known: false, accepted: 0, removed: 0, rejected: [], changed: false };
    const rejected: RejectedResource[] = [];
    let accepted = 0;
    for (const r of response.resources) {
      try {
        if (!entry.names.has(r.name)) throw new Error('not subscribed');
        if (r.resource === undefined) throw new Error('XDS payload without resource');
        if (r.resource.typeUrl !== '' && r.resource.typeUrl !== response.typeUrl) throw new Error(`resource of type ${r.resource.typeUrl} in a ${response.typeUrl} response`);
        entry.type.apply(r.name, r.resource.value, r.version);
        entry.held.set(r.name, r.version);
        accepted++;
      } catch (err) {
        rejected.push({ name: r.name, reason: err instanceof Error ? err.message : String(err) });
      }
    }
    let removed = 0;
    for (const name of response.removedResources) {
      if (!entry.names.has(name)) continue;
      if (entry.held.delete(name)) removed++;
      entry.type.remove?.(name);
    }
    return { known: true, accepted, removed, rejected, changed: false };
  }
}
