// The control plane's pipeline: every change of the object source is translated (istiod's ambient
// index) and encoded into the xDS resource cache the ADS server pushes from, in one atomic step.
//
// Invariant: the cache always holds the translation of one whole object snapshot (never a mix),
// and a translation problem in one object leaves every other resource served.

import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Logger } from '../common/log.js';
import type { Kind, ObjectSnapshot, ObjectSource } from '../k8s/index.js';
import { policyKey, serviceKey, type Authorization, type Service, type Workload } from '../state/index.js';
import { ADDRESS_TYPE_URL, AUTHORIZATION_TYPE_URL } from '../xds/index.js';
import type { ResourceCache } from './ads/index.js';
import { translateMesh, type MeshTranslation, type TranslateOptions } from './translate/index.js';

/** The wire encoders of the two resource types (src/xds/wds-codec.ts). */
export interface ResourceEncoders {
  encodeAddress(resource: Workload | Service): Uint8Array;
  encodeAuthorization(policy: Authorization): Uint8Array;
}

export interface MeshPipelineInputs {
  readonly source: ObjectSource;
  readonly cache: ResourceCache;
  readonly options: TranslateOptions;
  readonly encoders: ResourceEncoders;
  readonly registry: Registry;
  readonly logger: Logger;
  /** Called after each translation was published (e.g. to write HTTPRoute status). */
  readonly onTranslated?: (snapshot: ObjectSnapshot, translation: MeshTranslation) => void;
}

/** What /debug shows about the last translation. */
export interface PipelineState {
  readonly objectsVersion: number;
  readonly translatedAt: string | undefined;
  readonly translationMs: number | undefined;
  readonly translation: MeshTranslation | undefined;
}

export class MeshPipeline {
  private readonly inputs: MeshPipelineInputs;
  private unsubscribe: (() => void) | undefined;
  private last: PipelineState = { objectsVersion: 0, translatedAt: undefined, translationMs: undefined, translation: undefined };
  private readonly translationSeconds: Histogram;
  private readonly problems: Gauge;
  private readonly translations: Counter;

  constructor(inputs: MeshPipelineInputs) {
    this.inputs = inputs;
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
      translation = translateMesh(snapshot, this.inputs.options);
    } catch (err) {
      // A translation bug must not take the control plane down: keep serving the last good set.
      this.inputs.logger.error({ err, objectsVersion: snapshot.version }, 'translation failed; keeping the last resources');
      return;
    }
    const addresses = new Map<string, Uint8Array>();
    const policies = new Map<string, Uint8Array>();
    const { encoders } = this.inputs;
    for (const w of translation.workloads) this.encodeInto(addresses, w.uid, () => encoders.encodeAddress(w));
    for (const s of translation.services) this.encodeInto(addresses, serviceKey(s.namespace, s.hostname), () => encoders.encodeAddress(s));
    for (const p of translation.policies) this.encodeInto(policies, policyKey(p.namespace, p.name), () => encoders.encodeAuthorization(p));
    this.inputs.cache.setMany([
      [ADDRESS_TYPE_URL, addresses],
      [AUTHORIZATION_TYPE_URL, policies],
    ]);
    const ms = performance.now() - started;
    this.translationSeconds.observe(ms / 1000);
    this.translations.inc();
    const errors = translation.errors.filter((e) => e.severity === 'error').length;
    this.problems.set({ severity: 'error' }, errors);
    this.problems.set({ severity: 'warning' }, translation.errors.length - errors);
    this.last = { objectsVersion: snapshot.version, translatedAt: new Date().toISOString(), translationMs: ms, translation };
    this.inputs.onTranslated?.(snapshot, translation);
    this.inputs.logger.info(
      {
        objectsVersion: snapshot.version,
        changed: changed ? [...changed].sort() : 'initial',
        workloads: translation.workloads.length,
        services: translation.services.length,
        policies: translation.policies.length,
        problems: translation.errors.length,
        ms: Math.round(ms * 10) / 10,
      },
      'mesh translated',
    );
  }

  /** One resource that fails to encode is left out and logged; the rest are served. */
  private encodeInto(out: Map<string, Uint8Array>, name: string, encode: () => Uint8Array): void {
    try {
      out.set(name, encode());
    } catch (err) {
      this.inputs.logger.error({ err, resource: name }, 'cannot encode resource; left out');
    }
  }
}
