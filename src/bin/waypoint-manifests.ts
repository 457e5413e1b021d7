// The waypoint's manifests mode (no control plane): a manifests folder is watched and each object
// snapshot translated in-process, as `ambit control` would, into the mesh state and this waypoint's config.
//
// Invariant: a snapshot is applied whole or not at all on the config side: the mesh resources go
// to the state, then this waypoint's WaypointConfig is offered to `setConfig`; a translation that
// fails or has no config for this waypoint leaves the last good WaypointConfig in force.

import { createHash } from 'node:crypto';
import { MeshError } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import { translateAll, type TranslateOptions } from '../controlplane/translate/index.js';
import { ManifestsSource, type ObjectSnapshot } from '../k8s/index.js';
import type { ErrorCounter, Registry } from '../metrics/index.js';
import type { SnapshotSink } from '../state/index.js';
import type { WaypointConfig } from '../waypoint/model/route-model.js';

export interface WaypointManifestsInputs {
  readonly dir: string;
  readonly waypoint: { readonly namespace: string; readonly name: string };
  readonly options: TranslateOptions;
  /** Receives the mesh resources (workloads, services, L4 policies) of every snapshot. */
  readonly state: SnapshotSink;
  /** Applies this waypoint's config; throws to refuse it. `version` is a content hash. */
  readonly setConfig: (config: WaypointConfig, version: string) => void;
  /** A snapshot gave no usable config: logged and counted by the caller, the last good one kept. */
  readonly reject: (err: unknown, version: string) => void;
  readonly logger: Logger;
  readonly registry: Registry;
  readonly errors: ErrorCounter;
}

/** Content version of a WaypointConfig: equal configs, equal versions (an unchanged reload is not re-applied). */
export function waypointConfigVersion(config: WaypointConfig): string {
  return createHash('sha256').update(JSON.stringify(config)).digest('hex').slice(0, 16);
}

export class WaypointManifests {
  readonly #i: WaypointManifestsInputs;
  readonly #source: ManifestsSource;
  #unsubscribe: (() => void) | undefined;
  #applied: string | undefined;
  #translations = 0;

  constructor(inputs: WaypointManifestsInputs) {
    this.#i = inputs;
    this.#source = new ManifestsSource({ dir: inputs.dir, logger: inputs.logger.child({ component: 'objects' }), registry: inputs.registry, errors: inputs.errors });
  }

  /** Loads the folder, translates the first snapshot and follows changes; resolves after the first translation. */
  async start(): Promise<void> {
    await this.#source.start();
    await this.#source.whenSynced();
    this.#unsubscribe = this.#source.onChange((snapshot) => this.#translate(snapshot));
    this.#translate(this.#source.snapshot());
  }

  dump(): Record<string, unknown> {
    return { dir: this.#i.dir, objectsVersion: this.#source.snapshot().version, translations: this.#translations, rejectedObjects: this.#source.rejections() };
  }

  #translate(snapshot: ObjectSnapshot): void {
    const { waypoint, logger } = this.#i;
    this.#translations++;
    let result;
    try {
      result = translateAll(snapshot, this.#i.options);
      this.#i.state.apply({ workloads: result.mesh.workloads, services: result.mesh.services, policies: result.mesh.policies });
    } catch (err) {
      this.#i.reject(err, `objects-${snapshot.version}`);
      return;
    }
    if (result.waypoints.errors.length > 0) {
      logger.warn({ problems: result.waypoints.errors.slice(0, 20), count: result.waypoints.errors.length }, 'route translation problems (those routes are left out)');
    }
    const mine = result.waypoints.configs.find((c) => c.waypoint.namespace === waypoint.namespace && c.waypoint.name === waypoint.name);
    if (mine === undefined) {
      const err = new MeshError('CONFIG_INVALID', `no Gateway ${waypoint.namespace}/${waypoint.name} of class istio-waypoint in ${this.#i.dir}`);
      this.#i.reject(err, `objects-${snapshot.version}`);
      return;
    }
    const version = waypointConfigVersion(mine);
    if (version === this.#applied) return;
    try {
      this.#i.setConfig(mine, version);
      this.#applied = version;
    } catch (err) {
      this.#i.reject(err, version);
    }
  }

  async close(): Promise<void> {
    this.#unsubscribe?.();
    await this.#source.close();
  }

  destroy(): void {
    this.#unsubscribe?.();
    this.#source.destroy();
  }
}
