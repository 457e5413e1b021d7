// The protobuf schema of Istio's xDS wire: Ambit's copies of the upstream .proto files under proto/
// at the package root, loaded once with protobufjs and shared by the xDS client, server and tests.

import { existsSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type protobuf from 'protobufjs';
import { protobufJs } from '../common/lazy-packages.js';

/** The files that make up the schema (their imports are resolved under proto/). */
const ENTRY_FILES = [
  'istio/workload/workload.proto',
  'istio/security/authorization.proto',
  'envoy/service/discovery/v3/ads.proto',
  'google/rpc/status.proto',
  'ambit/waypoint/v1/waypoint_config.proto',
] as const;

/** Type URLs of the two resource types ztunnel subscribes to. */
export const ADDRESS_TYPE_URL = 'type.googleapis.com/istio.workload.Address';
export const AUTHORIZATION_TYPE_URL = 'type.googleapis.com/istio.security.Authorization';
/** Type URL of a waypoint's compiled L7 config (Ambit's own type; name `<namespace>/<name>`, subscribed by name). */
export const WAYPOINT_CONFIG_TYPE_URL = 'type.googleapis.com/ambit.waypoint.v1.WaypointConfig';

/** gRPC path of the delta ADS method. */
export const DELTA_ADS_PATH = '/envoy.service.discovery.v3.AggregatedDiscoveryService/DeltaAggregatedResources';

/**
 * proto/ at the package root. The compiled module lives in dist/src/xds and the source in
 * src/xds, so walk up until a folder holds proto/istio (the Docker image ships proto/ too).
 */
export function protoDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'proto', 'istio'))) return join(dir, 'proto');
    dir = dirname(dir);
  }
  throw new Error('proto/ not found above ' + dirname(fileURLToPath(import.meta.url)));
}

let cached: protobuf.Root | undefined;

/**
 * The loaded schema. google/protobuf/* imports come from protobufjs's bundled well-known types;
 * every other import is resolved under proto/ (as protoc -I proto would). Field names are
 * camelCase in JS objects (protobufjs default), e.g. `resourceNamesSubscribe`.
 */
export function protoRoot(): protobuf.Root {
  if (cached) return cached;
  const base = protoDir();
  const root = new (protobufJs().Root)();
  root.resolvePath = (_origin: string, target: string): string => {
    if (target.startsWith('google/protobuf/')) return target;
    return isAbsolute(target) ? target : join(base, target);
  };
  root.loadSync(ENTRY_FILES.map((f) => join(base, f)));
  root.resolveAll();
  cached = root;
  return root;
}

/** A message type of the schema by its full name, e.g. `istio.workload.Address`. */
export function protoType(fullName: string): protobuf.Type {
  return protoRoot().lookupType(fullName);
}
