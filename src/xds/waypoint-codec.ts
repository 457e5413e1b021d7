// The codec of ambit.waypoint.v1.WaypointConfig (proto/ambit/waypoint/v1/waypoint_config.proto): the
// route model as JSON plus its schema version. The control plane encodes; the waypoint decodes,
// and NACKs (MeshError XDS_INVALID, the reason in the message) a config it cannot execute.

import { WAYPOINT_CONFIG_VERSION, type WaypointConfig } from '../waypoint/model/route-model.js';
import { checkWaypointConfig } from './waypoint-config-check.js';
import { decodeMessage, encodeMessage, invalid } from './wds-wire.js';

const MESSAGE = 'ambit.waypoint.v1.WaypointConfig';

/** Resource name of a waypoint's config: `<namespace>/<name>` of its Gateway. */
export function waypointResourceName(cfg: Pick<WaypointConfig, 'waypoint'>): string {
  return `${cfg.waypoint.namespace}/${cfg.waypoint.name}`;
}

export function encodeWaypointConfig(cfg: WaypointConfig): Uint8Array {
  return encodeMessage(MESSAGE, { schemaVersion: cfg.version, json: JSON.stringify(cfg) });
}

/**
 * Decodes and checks a config. `name` (the resource name it came under), when given, must be the
 * config's own `<namespace>/<name>`. Throws XDS_INVALID: another schema version, bad JSON, bad shape.
 */
export function decodeWaypointConfig(bytes: Uint8Array, name?: string): WaypointConfig {
  const wire = decodeMessage<{ schemaVersion?: number; json?: string }>(MESSAGE, bytes);
  const version = wire.schemaVersion ?? 0;
  if (version !== WAYPOINT_CONFIG_VERSION) throw invalid(`schema_version ${version} is not supported (this waypoint knows ${WAYPOINT_CONFIG_VERSION})`);
  let value: unknown;
  try {
    value = JSON.parse(wire.json ?? '');
  } catch (err) {
    throw invalid(`json: ${(err as Error).message}`);
  }
  const cfg = checkWaypointConfig(value, WAYPOINT_CONFIG_VERSION);
  if (name !== undefined && waypointResourceName(cfg) !== name) throw invalid(`resource name is not the waypoint "${waypointResourceName(cfg)}" (namespace/name)`);
  return cfg;
}
