// Which Prometheus series moved between two scrapes of the same endpoint: the demo's "metrics that
// moved" view. Pure text in, deltas out; counters and gauges alike (delta = after - before).

import { parseExposition, parseLabels, splitSeries } from '../helpers/prometheus-text.js';

export interface SeriesDelta {
  readonly name: string;
  /** The label set as exposed, without braces: `reporter="destination",...`. */
  readonly labels: string;
  readonly before: number;
  readonly after: number;
  readonly delta: number;
}

/** Series whose value changed (new series count from 0), filtered by metric-name prefix, sorted by name. */
export function movedSeries(before: string, after: string, prefixes: readonly string[]): SeriesDelta[] {
  const b = parseExposition(before);
  const moved: SeriesDelta[] = [];
  for (const [series, value] of parseExposition(after)) {
    const { name, labels } = splitSeries(series);
    if (!prefixes.some((p) => name.startsWith(p))) continue;
    const was = b.get(series) ?? 0;
    if (value !== was) moved.push({ name, labels, before: was, after: value, delta: value - was });
  }
  return moved.sort((x, y) => x.name.localeCompare(y.name) || x.labels.localeCompare(y.labels));
}

/** Keeps only the named labels of an exposition label set, in the order given. */
export function pickLabels(labels: string, keep: readonly string[]): string {
  const found = parseLabels(labels);
  return keep.filter((k) => found.has(k)).map((k) => `${k}=${found.get(k)}`).join(' ');
}
