// What the xDS client holds: every accepted Address and Authorization by resource name, with its
// version. Applies one DeltaDiscoveryResponse at a time, resource by resource, and says what to NACK.

import { isMeshError } from '../common/errors.js';
import type { Authorization, Service, StateSnapshot, Workload } from '../state/index.js';
import type { DeltaResponse } from './delta-ads-messages.js';
import { ADDRESS_TYPE_URL, AUTHORIZATION_TYPE_URL } from './proto-root.js';
import { decodeAddress, decodeAuthorization, type DecodedAddress } from './wds-codec.js';
import { invalid } from './wds-wire.js';

/** The two types the agent subscribes to, in subscription order (Address first, as ztunnel's src/xds.rs). */
export const SUBSCRIBED_TYPES = [ADDRESS_TYPE_URL, AUTHORIZATION_TYPE_URL] as const;
export type SubscribedType = (typeof SUBSCRIBED_TYPES)[number];

interface Held<T> {
  readonly version: string;
  readonly value: T;
}

export interface RejectedResource {
  readonly name: string;
  readonly reason: string;
}

export interface ResponseOutcome {
  /** false: a type this client did not subscribe to (logged and ACKed, nothing held). */
  readonly known: boolean;
  readonly accepted: number;
  readonly removed: number;
  readonly rejected: readonly RejectedResource[];
  /** Something held changed: the snapshot must be re-applied. */
  readonly changed: boolean;
}

export function isSubscribedType(typeUrl: string): typeUrl is SubscribedType {
  return typeUrl === ADDRESS_TYPE_URL || typeUrl === AUTHORIZATION_TYPE_URL;
}

/**
 * `<name>: <reason>; <name>: <reason>` — error_detail.message of a NACK, exactly as ztunnel joins
 * its RejectedConfig list (upstream: ztunnel src/xds/client.rs, handle_stream_event).
 */
export function nackMessage(rejected: readonly RejectedResource[]): string {
  return rejected.map((r) => `${r.name}: ${r.reason}`).join('; ');
}

export class XdsResourceStore {
  readonly #addresses = new Map<string, Held<DecodedAddress>>();
  readonly #policies = new Map<string, Held<Authorization>>();

  /**
   * Applies a response: each resource is decoded on its own; good ones replace what was held under
   * their name even when others in the same response are refused; refused ones leave the held
   * version (if any) in place, so it keeps serving and is what a reconnect reports. Removals of
   * names not held are no-ops. Synchronous: nothing else runs between decoding and storing.
   */
  handle(response: DeltaResponse): ResponseOutcome {
    const type = response.typeUrl;
    if (!isSubscribedType(type)) return { known: false, accepted: 0, removed: 0, rejected: [], changed: false };
    const rejected: RejectedResource[] = [];
    let accepted = 0;
    let removed = 0;
    for (const r of response.resources) {
      try {
        // ztunnel's wording for a Resource without its Any.
        if (r.resource === undefined) throw invalid('XDS payload without resource');
        if (r.resource.typeUrl !== '' && r.resource.typeUrl !== type) throw invalid(`resource of type ${r.resource.typeUrl} in a ${type} response`);
        if (type === ADDRESS_TYPE_URL) this.#addresses.set(r.name, { version: r.version, value: decodeAddress(r.resource.value, r.name) });
        else this.#policies.set(r.name, { version: r.version, value: decodeAuthorization(r.resource.value, r.name) });
        accepted++;
      } catch (err) {
        if (!isMeshError(err, 'XDS_INVALID')) throw err; // a bug, not a bad resource
        rejected.push({ name: r.name, reason: err.message });
      }
    }
    const held = type === ADDRESS_TYPE_URL ? this.#addresses : this.#policies;
    for (const name of response.removedResources) {
      if (held.delete(name)) removed++;
    }
    return { known: true, accepted, removed, rejected, changed: accepted + removed > 0 };
  }

  /** name → version of everything held of `type`, for initial_resource_versions on a new stream. */
  versions(type: SubscribedType): Record<string, string> {
    const held = type === ADDRESS_TYPE_URL ? this.#addresses : this.#policies;
    const out = Object.create(null) as Record<string, string>;
    for (const [name, h] of held) out[name] = h.version;
    return { ...out };
  }

  /** The state the held resources describe (endpoints are derived from workloads by ProxyState). */
  snapshot(): StateSnapshot {
    const workloads: Workload[] = [];
    const services: Service[] = [];
    for (const { value } of this.#addresses.values()) {
      if (value.kind === 'workload') workloads.push(value.workload);
      else services.push(value.service);
    }
    return { workloads, services, policies: [...this.#policies.values()].map((h) => h.value) };
  }

  get size(): number {
    return this.#addresses.size + this.#policies.size;
  }
}
