// The control plane's pipeline: every change of the object source is translated (istiod's ambient
// index) and encoded into the xDS resource cache the ADS server pushes from, in one atomic step.
//
// Invariant: the cache always holds the translation of one whole object snapshot (never a mix),
// and a translation problem in one object leaves every other resource served.
//
// Each change is translated with a MeshTranslator (which reuses what unchanged objects gave, as the
// same objects) and an encoding is reused for the same object: one pod changing costs one pod's
// translation and encoding, plus the passes over the whole set that find what changed.

import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Logger } from '../common/log.js';
import type { Kind, ObjectSnapshot, ObjectSource } from '../k8s/index.js';
import { policyKey, serviceKey, type Authorization, type Service, type Workload } from '../state/index.js';
import type { WaypointConfig } from '../waypoint/model/route-model.js';
import { ADDRESS_TYPE_URL, AUTHORIZATION_TYPE_URL, WAYPOINT_CONFIG_TYPE_URL } from '../xds/index.js';
import type { ResourceCache } from './ads/index.js';
import { DesiredSet } from './desired-set.js';
import { MeshTranslator, translateWaypoints, type MeshTranslation, type TranslateOptions, type WaypointTranslation } from './translate/index.js';

/** The wire encoders of the resource types (src/xds/wds-codec.ts, src/xds/waypoint-codec.ts). */
export interface ResourceEncoders {
  encodeAddress(resource: Workload | Service): Uint8Array;
  encodeAuthorization(policy: Authorization): Uint8Array;
  /** Absent: no waypoint translation, no WaypointConfig resources (node-agent-only control plane). */
  encodeWaypointConfig?(config: WaypointConfig): Uint8Array;
}

export interface MeshPipelineInputs {
  readonly source: ObjectSource;
  readonly cache: ResourceCache;
  readonly options: TranslateOptions;
  readonly encoders: ResourceEncoders;
  readonly registry: Registry;
  readonly logger: Logger;
  /**
   * Called after each translation was published (e.g. to write route status). `waypoints`: the
   * waypoint translation of the same snapshot; undefined without an encoder or when it failed.
   */
  readonly onTranslated?: (snapshot: ObjectSnapshot, translation: MeshTranslation, waypoints: WaypointTranslation | undefined) => void;
}

/** What /debug shows about the last translation. */
export interface PipelineState {
  readonly objectsVersion: number;
  readonly translatedAt: string | undefined;
  readonly translationMs: number | undefined;
  /** translationMs by phase: translate, encode, publish (the cache update with its diff). */
  readonly phasesMs: { readonly translate: number; readonly encode: number; readonly publish: number } | undefined;
  readonly translation: MeshTranslation | undefined;
  /** The waypoint translation of the same snapshot (undefined without a WaypointConfig encoder). */
  readonly waypoints?: WaypointTranslation;
}

export class MeshPipeline {
  private readonly inputs: MeshPipelineInputs;
  private unsubscribe: (() => void) | undefined;
  private last: PipelineState = { objectsVersion: 0, translatedAt: undefined, translationMs: undefined, phasesMs: undefined, translation: undefined };
  private readonly translator: MeshTranslator;
  /** Encoded bytes by translated object (the translator hands back the same object for an unchanged input). */
  private readonly encoded = new WeakMap<object, Uint8Array>();
  private readonly addresses = new DesiredSet();
  private readonly policies = new DesiredSet();
  /** WaypointConfig bytes by resource name: the same buffer while the content is the same (stableBuffers). */
  private waypointBytes = new Map<string, Uint8Array>();
  private readonly translationSeconds: Histogram;
  private readonly problems: Gauge;
  private readonly translations: Counter;

  constructor(inputs: MeshPipelineInputs) {
    this.inputs = inputs;
    this.translator = new MeshTranslator(inputs.options);
    this.translationSeconds = new Histogram({
      name: 'ambit_control_translation_seconds',
      help: 'Time to translate one object snapshot into xDS resources and update the cache, seconds',
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5],
      registers: [inputs.registry],
    });
    this.problems = new Gauge({
      name: 'ambit_control_translation_problems',
      help: 'Objects that translated badly in the last translation, by severity (error: left out; warning: not as written)',
      labelNames: ['severity'],
      registers: [inputs.registry],
    });
    this.translations = new Counter({
      name: 'ambit_control_translations_total',
      help: 'Translations of object snapshots run',
      registers: [inputs.registry],
    });
  }

  /** Translates the current snapshot now and on every change of the source. */
  start(): void {
    this.unsubscribe = this.inputs.source.onChange((snapshot, changed) => this.run(snapshot, changed));
    this.run(this.inputs.source.snapshot(), undefined);
  }

  state(): PipelineState {
    return this.last;
  }

  close(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }

  destroy(): void {
    this.close();
  }

  /** Translate and publish synchronously: no await between reading the snapshot and the cache write. */
  private run(snapshot: ObjectSnapshot, changed: ReadonlySet<Kind> | undefined): void {
    const started = performance.now();
    let translation: MeshTranslation;
    try {
      translation = this.translator.translate(snapshot);
    } catch (err) {
      // A translation bug must not take the control plane down: keep serving the last good set.
      this.inputs.logger.error({ err, objectsVersion: snapshot.version }, 'translation failed; keeping the last resources');
      this.translator.reset();
      return;
    }
    const translated = performance.now();
    const { addresses, policies } = this;
    addresses.begin();
    policies.begin();
    for (const w of translation.workloads) this.encodeInto(addresses, w.uid, w, 'address');
    for (const s of translation.services) this.encodeInto(addresses, serviceKey(s.namespace, s.hostname), s, 'address');
    for (const p of translation.policies) this.encodeInto(policies, policyKey(p.namespace, p.name), p, 'authorization');
    const waypoints = this.waypointConfigs(snapshot, translation);
    const encoded = performance.now();
    // Buffers are never changed once encoded (the memo hands the same one back): no byte compares.
    const updates: Array<[string, ReadonlyMap<string, Uint8Array>]> = [
      [ADDRESS_TYPE_URL, addresses.end()],
      [AUTHORIZATION_TYPE_URL, policies.end()],
    ];
    if (waypoints !== undefined) updates.push([WAYPOINT_CONFIG_TYPE_URL, waypoints.bytes]);
    this.inputs.cache.setMany(updates, { stableBuffers: true });
    const ms = performance.now() - started;
    const phasesMs = { translate: translated - started, encode: encoded - translated, publish: started + ms - encoded };
    this.translationSeconds.observe(ms / 1000);
    this.translations.inc();
    const allErrors = [...translation.errors, ...(waypoints?.translation.errors ?? [])];
    const errors = allErrors.filter((e) => e.severity === 'error').length;
    this.problems.set({ severity: 'error' }, errors);
    this.problems.set({ severity: 'warning' }, allErrors.length - errors);
    this.last = {
      objectsVersion: snapshot.version, translatedAt: new Date().toISOString(), translationMs: ms, phasesMs, translation,
      ...(waypoints ? { waypoints: waypoints.translation } : {}),
    };
    this.inputs.onTranslated?.(snapshot, translation, waypoints?.translation);
    this.inputs.logger.info(
      {
        objectsVersion: snapshot.version,
        changed: changed ? [...changed].sort() : 'initial',
        workloads: translation.workloads.length,
        services: translation.services.length,
        policies: translation.policies.length,
        waypoints: waypoints?.bytes.size ?? 0,
        problems: allErrors.length,
        ms: Math.round(ms * 10) / 10,
        phasesMs: Object.fromEntries(Object.entries(phasesMs).map(([k, v]) => [k, Math.round(v * 10) / 10])),
      },
      'mesh translated',
    );
  }

  /**
   * The waypoint translation and its encoded configs (name → bytes, the previous buffer when equal).
   * undefined without an encoder, or when the waypoint translation throws: the last set stays served.
   */
  private waypointConfigs(snapshot: ObjectSnapshot, mesh: MeshTranslation): { translation: WaypointTranslation; bytes: ReadonlyMap<string, Uint8Array> } | undefined {
    const encode = this.inputs.encoders.encodeWaypointConfig;
    if (encode === undefined) return undefined;
    let translation: WaypointTranslation;
    try {
      translation = translateWaypoints(snapshot, mesh, this.inputs.options);
    } catch (err) {
      this.inputs.logger.error({ err, objectsVersion: snapshot.version }, 'waypoint translation failed; keeping the last waypoint configs');
      return undefined;
    }
    const bytes = new Map<string, Uint8Array>();
    for (const cfg of translation.configs) {
      const name = `${cfg.waypoint.namespace}/${cfg.waypoint.name}`;
      try {
        const now = encode(cfg);
        const before = this.waypointBytes.get(name);
        bytes.set(name, before !== undefined && Buffer.from(before.buffer, before.byteOffset, before.byteLength).equals(now) ? before : now);
      } catch (err) {
        this.inputs.logger.error({ err, resource: name }, 'cannot encode waypoint config; left out');
      }
    }
    this.waypointBytes = bytes;
    return { translation, bytes };
  }

  /**
   * The encoding of `value` (the last one if the same object was encoded before); one resource that
   * fails to encode is left out and logged, the rest are served.
   */
  private encodeInto(out: DesiredSet, name: string, value: Workload | Service | Authorization, as: 'address' | 'authorization'): void {
    try {
      let bytes = this.encoded.get(value);
      if (bytes === undefined) {
        const { encoders } = this.inputs;
        bytes = as === 'address' ? encoders.encodeAddress(value as Workload | Service) : encoders.encodeAuthorization(value as Authorization);
        this.encoded.set(value, bytes);
      }
      out.set(name, bytes);
    } catch (err) {
      this.inputs.logger.error({ err, resource: name }, 'cannot encode resource; left out');
    }
  }
}
