// TEMPORARY SHIM (wp-wpbin): stands in for the control-plane branch's codec of
// ambit.waypoint.v1.WaypointConfig until it merges; same API, minimal checks. Drop at merge.

import { join } from 'node:path';
import protobuf from 'protobufjs';
import { MeshError } from '../common/errors.js';
import { WAYPOINT_CONFIG_VERSION, type WaypointConfig } from '../waypoint/model/route-model.js';
import { protoDir } from './proto-root.js';

let type: protobuf.Type | undefined;
function messageType(): protobuf.Type {
  type ??= protobuf.loadSync(join(protoDir(), 'ambit/waypoint/v1/waypoint_config.proto')).lookupType('ambit.waypoint.v1.WaypointConfig');
  return type;
}

export function encodeWaypointConfig(cfg: WaypointConfig): Uint8Array {
  const t = messageType();
  return t.encode(t.fromObject({ schemaVersion: cfg.version, json: JSON.stringify(cfg) })).finish();
}

/** Throws MeshError XDS_INVALID with the reason. */
export function decodeWaypointConfig(bytes: Uint8Array): WaypointConfig {
  let m: { schemaVersion: number; json: string };
  try {
    m = messageType().decode(bytes) as unknown as { schemaVersion: number; json: string };
  } catch (err) {
    throw new MeshError('XDS_INVALID', `WaypointConfig does not decode: ${(err as Error).message}`);
  }
  if (m.schemaVersion !== WAYPOINT_CONFIG_VERSION) throw new MeshError('XDS_INVALID', `WaypointConfig schema_version ${m.schemaVersion} is not ${WAYPOINT_CONFIG_VERSION}`);
  let cfg: WaypointConfig;
  try {
    cfg = JSON.parse(m.json) as WaypointConfig;
  } catch (err) {
    throw new MeshError('XDS_INVALID', `WaypointConfig json is not JSON: ${(err as Error).message}`);
  }
  if (typeof cfg?.waypoint?.namespace !== 'string' || !Array.isArray(cfg.services) || !Array.isArray(cfg.clusters)) {
    throw new MeshError('XDS_INVALID', 'WaypointConfig json lacks waypoint, services or clusters');
  }
  return cfg;
}
