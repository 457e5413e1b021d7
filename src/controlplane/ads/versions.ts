// Resource versions are content hashes: equal bytes give equal versions on every replica and across
// restarts, so a reconnecting client's initial_resource_versions stay valid against a fresh server.

import { createHash } from 'node:crypto';

/** Hex digits kept from the SHA-256 (64 bits: collisions between two contents of one name are negligible). */
const VERSION_HEX_DIGITS = 16;

/** The version of an encoded resource: the first 64 bits of its SHA-256, hex. */
export function contentVersion(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex').slice(0, VERSION_HEX_DIGITS);
}

/** What changed between two versions of one type's resource set. Names are sorted. */
export interface SetDiff {
  /** Added or with a new version. */
  readonly changed: readonly string[];
  /** In `before`, not in `after`. */
  readonly removed: readonly string[];
}

/** name → version maps before and after; a name whose version is equal is unchanged. */
export function diffVersions(before: ReadonlyMap<string, string>, after: ReadonlyMap<string, string>): SetDiff {
  const changed: string[] = [];
  const removed: string[] = [];
  for (const [name, version] of after) if (before.get(name) !== version) changed.push(name);
  for (const name of before.keys()) if (!after.has(name)) removed.push(name);
  return { changed: changed.sort(), removed: removed.sort() };
}
