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
import { ADDRESS_TYPE_URL, AUTHORIZATION_TYPE_URL } from '../xds/index.js';
import type { ResourceCache } from './ads/index.js';
import { DesiredSet } from './desired-set.js';
import { MeshTranslator, type MeshTranslation, type TranslateOptions } from './translate/index.js';

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
  /** translationMs by phase: translate, encode, publish (the cache update with its diff). */
  readonly phasesMs: { readonly translate: number; readonly encode: number; readonly publish: number } | undefined;
  readonly translation: MeshTranslation | undefined;
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
    const encoded = performance.now();
    // Buffers are never changed once encoded (the memo hands the same one back): no byte compares.
    this.inputs.cache.setMany(
      [
        [ADDRESS_TYPE_URL, addresses.end()],
        [AUTHORIZATION_TYPE_URL, policies.end()],
      ],
      { stableBuffers: true },
    );
    const ms = performance.now() - started;
    const phasesMs = { translate: translated - started, encode: encoded - translated, publish: started + ms - encoded };
    this.translationSeconds.observe(ms / 1000);
    this.translations.inc();
    const errors = translation.errors.filter((e) => e.severity === 'error').length;
    this.problems.set({ severity: 'error' }, errors);
    this.problems.set({ severity: 'warning' }, translation.errors.length - errors);
    this.last = { objectsVersion: snapshot.version, translatedAt: new Date().toISOString(), translationMs: ms, phasesMs, translation };
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
        phasesMs: Object.fromEntries(Object.entries(phasesMs).map(([k, v]) => [k, Math.round(v * 10) / 10])),
      },
      'mesh translated',
    );
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
