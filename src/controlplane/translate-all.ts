// TEMPORARY SHIM (wp-wpbin): stands in for the control-plane branch's translateAll until it merges:
// the mesh translation, plus per waypoint a WaypointConfig listing the services that use it with
// no routes (default clusters only). Same signature. Drop at merge.

import { isDeepStrictEqual } from 'node:util';
import type { ObjectSnapshot } from '../k8s/index.js';
import { clusterName, DEFAULT_CONNECT_TIMEOUT_MS, WAYPOINT_CONFIG_VERSION, type Cluster, type ServiceConfig, type WaypointConfig } from '../waypoint/model/route-model.js';
import { translateMesh, type MeshTranslation, type TranslateOptions, type TranslationError } from './translate/index.js';

export interface AllTranslations {
  readonly mesh: MeshTranslation;
  readonly waypoints: { readonly configs: WaypointConfig[]; readonly errors: TranslationError[] };
}

export function translateAll(snapshot: ObjectSnapshot, options: TranslateOptions): AllTranslations {
  const mesh = translateMesh(snapshot, options);
  const configs: WaypointConfig[] = [];
  for (const w of mesh.waypoints) {
    const services: ServiceConfig[] = [];
    const clusters: Cluster[] = [];
    for (const s of mesh.services) {
      if (w.address === undefined || !isDeepStrictEqual(s.waypoint, w.address)) continue;
      const ports = [...s.ports.keys()].sort((a, b) => a - b);
      services.push({
        hostname: s.hostname,
        namespace: s.namespace,
        ports: ports.map((port) => ({ port, name: '', protocol: 'tcp' as const, routes: [], defaultCluster: clusterName(s.hostname, port) })),
      });
      for (const port of ports) {
        clusters.push({ name: clusterName(s.hostname, port), hostname: s.hostname, namespace: s.namespace, port, protocol: 'http1', lb: { kind: 'LEAST_REQUEST' }, connectTimeoutMs: DEFAULT_CONNECT_TIMEOUT_MS });
      }
    }
    configs.push({ version: WAYPOINT_CONFIG_VERSION, waypoint: { namespace: w.namespace, name: w.name }, services, clusters });
  }
  return { mesh, waypoints: { configs, errors: [] } };
}
