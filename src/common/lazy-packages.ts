// The CommonJS packages only some processes use (gRPC to istiod, protobuf codecs), loaded on first
// use instead of at import: a node agent on a local config or a manifests-mode waypoint never pays for them.

import { createRequire } from 'node:module';
import type * as Grpc from '@grpc/grpc-js';
import type Protobuf from 'protobufjs';

// Both packages are CommonJS, so `require` loads them synchronously: a caller's first use (an xDS
// client or CA client being built, a first message decoded) stays synchronous, and the module is
// the same object an `import` would give (Node's ESM wrapper of a CJS module is its exports).
const requireFromHere = createRequire(import.meta.url);

let grpc: typeof Grpc | undefined;
let protobuf: typeof Protobuf | undefined;

/** @grpc/grpc-js (~3 MB RSS once loaded: its code, and the young-generation growth of loading it). */
export function grpcJs(): typeof Grpc {
  return (grpc ??= requireFromHere('@grpc/grpc-js') as typeof Grpc);
}

/** protobufjs (with its bundled well-known types). */
export function protobufJs(): typeof Protobuf {
  return (protobuf ??= requireFromHere('protobufjs') as typeof Protobuf);
}

/** Which of the lazy packages this process has loaded (tests; the memory bench). */
export function loadedLazyPackages(): string[] {
  return [...(grpc ? ['@grpc/grpc-js'] : []), ...(protobuf ? ['protobufjs'] : [])];
}
