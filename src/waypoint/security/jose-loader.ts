// jose (JWT verification, JWK sets) loaded only by a waypoint whose config has jwtRules: most
// waypoints never see a RequestAuthentication, and importing jose costs every one of them its heap.

import type * as Jose from 'jose';

export type JoseLib = typeof Jose;

let lib: JoseLib | undefined;
let loading: Promise<JoseLib> | undefined;

/**
 * Loads jose once (later calls share the same promise). jose is an ES module, so this is async:
 * a caller that must not wait on it at request time awaits it before its config is swapped in
 * (see prepareSecurity).
 */
export function loadJose(): Promise<JoseLib> {
  if (lib !== undefined) return Promise.resolve(lib);
  loading ??= import('jose').then(
    (m) => (lib = m),
    (err: unknown) => {
      loading = undefined; // a later config may try again
      throw err;
    },
  );
  return loading;
}

/** jose if loaded, else undefined (the caller then awaits loadJose). */
export function loadedJose(): JoseLib | undefined {
  return lib;
}

/** jose where the caller's contract says it is loaded already; throws (a programming error) if not. */
export function requireJose(): JoseLib {
  if (lib === undefined) throw new Error('jose is not loaded: await loadJose() first');
  return lib;
}
