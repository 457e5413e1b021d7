// The set of objects a source currently refuses, made visible three ways: rejections(), one log
// line per rejection when it appears (and one when it clears), and the gauge
// `ambit_control_rejected_objects{source,kind}` plus `ambit_errors_total{component="k8s",code="OBJECT_INVALID"}`.
//
// Invariant: the gauge always equals the current set counted by kind (0 for kinds that had
// rejections and have none now); a rejection unchanged across reloads is logged and counted once.

import { Gauge, type Registry } from 'prom-client';
import type { Logger } from '../common/log.js';
import type { ErrorCounter } from '../metrics/index.js';
import type { ObjectRejection } from './objects.js';

export const REJECTED_OBJECTS_METRIC = 'ambit_control_rejected_objects';

export interface RejectionReporterOptions {
  /** The `source` label: `manifests` or `cluster`. */
  readonly source: string;
  readonly logger: Logger;
  readonly registry?: Registry;
  readonly errors?: ErrorCounter;
}

/** The `kind` label of a rejection whose kind is not known (no kind, or a file that does not parse). */
export const UNKNOWN_KIND_LABEL = 'unknown';

export class RejectionReporter {
  private current: readonly ObjectRejection[] = [];
  private keys = new Set<string>();
  private readonly gauge: Gauge<'source' | 'kind'> | undefined;
  private readonly kindsSeen = new Set<string>();

  constructor(private readonly options: RejectionReporterOptions) {
    this.gauge = options.registry === undefined ? undefined : gaugeOn(options.registry);
  }

  list(): readonly ObjectRejection[] {
    return this.current;
  }

  /** Replaces the whole set (atomically: list, gauge and logs agree after the call). */
  replace(next: readonly ObjectRejection[]): void {
    const nextKeys = new Set(next.map(keyOf));
    const { logger, errors } = this.options;
    for (const r of next) {
      if (this.keys.has(keyOf(r))) continue;
      logger.warn({ rejection: r }, `object rejected: ${describe(r)}`);
      errors?.inc('k8s', 'OBJECT_INVALID');
    }
    for (const r of this.current) {
      if (!nextKeys.has(keyOf(r))) logger.info({ rejection: r }, `object rejection cleared: ${where(r)}`);
    }
    this.current = Object.freeze([...next]);
    this.keys = nextKeys;
    if (this.gauge !== undefined) {
      const counts = new Map<string, number>();
      for (const r of next) {
        const kind = r.kind ?? UNKNOWN_KIND_LABEL;
        counts.set(kind, (counts.get(kind) ?? 0) + 1);
        this.kindsSeen.add(kind);
      }
      for (const kind of this.kindsSeen) this.gauge.set({ source: this.options.source, kind }, counts.get(kind) ?? 0);
    }
  }
}

/** One gauge per registry, shared by every source registered on it (each sets its own `source`). */
function gaugeOn(registry: Registry): Gauge<'source' | 'kind'> {
  const existing = registry.getSingleMetric(REJECTED_OBJECTS_METRIC);
  if (existing !== undefined) return existing as Gauge<'source' | 'kind'>;
  return new Gauge({
    name: REJECTED_OBJECTS_METRIC,
    help: 'Kubernetes objects currently rejected by the control plane, by source and kind (Ambit-specific)',
    labelNames: ['source', 'kind'] as const,
    registers: [registry],
  });
}

function keyOf(r: ObjectRejection): string {
  return JSON.stringify([r.source, r.documentIndex, r.kind, r.namespace, r.name, r.path, r.reason]);
}

/** `file.yaml#2 HTTPRoute default/web` — where to look. */
export function where(r: ObjectRejection): string {
  const doc = r.documentIndex === undefined ? '' : `#${r.documentIndex}`;
  const id = r.name === undefined ? '' : ` ${r.namespace === undefined ? '' : `${r.namespace}/`}${r.name}`;
  return `${r.source}${doc}${r.kind === undefined ? '' : ` ${r.kind}`}${id}`;
}

/** `file.yaml#2 HTTPRoute default/web: spec.rules[0]: reason` — the whole story on one line. */
export function describe(r: ObjectRejection): string {
  return `${where(r)}: ${r.path}: ${r.reason}`;
}
