// The encoded first response of a wildcard stream that holds nothing (the whole view of a type at one
// cache revision): identical for every such stream, so it is encoded once and shared until the revision moves.
//
// The nonce inside is shared too. That is sound: a nonce only has to tell apart the responses of one
// stream and type, and this response is only ever a stream's first of its type.

export interface EncodedResponse {
  readonly nonce: string;
  readonly bytes: Buffer;
}

export class FullSyncCache {
  readonly #byType = new Map<string, { readonly revision: number; readonly response: EncodedResponse }>();

  /** The response for `typeUrl` at `revision`, made by `make` the first time. */
  get(typeUrl: string, revision: number, make: () => EncodedResponse): EncodedResponse {
    const hit = this.#byType.get(typeUrl);
    if (hit !== undefined && hit.revision === revision) return hit.response;
    const response = make();
    this.#byType.set(typeUrl, { revision, response });
    return response;
  }

  /** Drops everything (the server closes). */
  clear(): void {
    this.#byType.clear();
  }
}
