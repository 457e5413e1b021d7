// Resource versions are content hashes: equal bytes give equal versions on every replica and across
// restarts, so a reconnecting client's initial_resource_versions stay valid against a fresh server.

import { createHash } from 'node:crypto';

/** Hex digits kept from the SHA-256 (64 bits: collisions between two contents of one name are negligible). */
const VERSION_HEX_DIGITS = 16;

/** The version of an encoded resource: the first 64 bits of its SHA-256, hex. */
export function contentVersion(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex').slice(0, VERSION_HEX_DIGITS);
}
