// translateAll: the whole translation of one snapshot, mesh (node agents) and waypoints (L7), as a
// pure function: what `ambit control` serves, and what a waypoint computes itself in manifests mode.

import type { ObjectSnapshot } from '../../k8s/index.js';
import { translateMesh } from './mesh.js';
import type { MeshTranslation, TranslateOptions } from './types.js';
import { translateWaypoints, type WaypointTranslation } from './waypoint-config.js';

export interface FullTranslation {
  readonly mesh: MeshTranslation;
  readonly waypoints: WaypointTranslation;
}

export function translateAll(snapshot: ObjectSnapshot, options: TranslateOptions): FullTranslation {
  const mesh = translateMesh(snapshot, options);
  return { mesh, waypoints: translateWaypoints(snapshot, mesh, options) };
}
