// Which Prometheus series moved between two scrapes of the same endpoint: the demo's "metrics that
// moved" view. Pure text in, deltas out; counters and gauges alike (delta = after - before).

export interface SeriesDelta {
  readonly name: string;
  /** The label set as exposed, without braces: `reporter="destination",...`. */
  readonly labels: string;
  readonly before: number;
  readonly after: number;
  readonly delta: number;
}

/** `name{labels} value` lines of the text exposition format; comments and blank lines skipped. */
export function parseExposition(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    // The value is the last space-separated field (no timestamps are exposed by prom-client).
    const cut = line.lastIndexOf(' ');
    if (cut <= 0) continue;
    const value = Number(line.slice(cut + 1));
    if (Number.isFinite(value)) out.set(line.slice(0, cut), value);
  }
  return out;
}

function split(series: string): { name: string; labels: string } {
  const brace = series.indexOf('{');
  return brace < 0 ? { name: series, labels: '' } : { name: series.slice(0, brace), labels: series.slice(brace + 1, -1) };
}

/** Series whose value changed (new series count from 0), filtered by metric-name prefix, sorted by name. */
export function movedSeries(before: string, after: string, prefixes: readonly string[]): SeriesDelta[] {
  const b = parseExposition(before);
  const moved: SeriesDelta[] = [];
  for (const [series, value] of parseExposition(after)) {
    const { name, labels } = split(series);
    if (!prefixes.some((p) => name.startsWith(p))) continue;
    const was = b.get(series) ?? 0;
    if (value !== was) moved.push({ name, labels, before: was, after: value, delta: value - was });
  }
  return moved.sort((x, y) => x.name.localeCompare(y.name) || x.labels.localeCompare(y.labels));
}

/** Keeps only the named labels of an exposition label set, in the order given. */
export function pickLabels(labels: string, keep: readonly string[]): string {
  const found = new Map<string, string>();
  for (const m of labels.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) found.set(m[1]!, m[2]!);
  return keep.filter((k) => found.has(k)).map((k) => `${k}=${found.get(k)}`).join(' ');
}
