// TEMPORARY SHIM (wp-wpbin): stands in for the telemetry branch's WaypointTelemetry (same
// constructor options) until it merges; records nothing. Drop at merge.

import type { Logger } from '../../common/log.js';
import type { Registry } from '../../metrics/index.js';

export interface WaypointTelemetryOptions {
  readonly registry: Registry;
  readonly logger: Logger;
  readonly waypoint: { readonly namespace: string; readonly name: string; readonly identity: string };
  readonly accessLog?: Logger;
}

export class WaypointTelemetry {
  constructor(readonly options: WaypointTelemetryOptions) {}
}
