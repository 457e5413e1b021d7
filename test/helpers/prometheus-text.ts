// Reading Prometheus text exposition in tests, the demo and the bench: samples by series, label
// sets, sums. No imports, so light callers (the bench runner) do not load the agent with it.

/** `name{labels} value` lines as series text → value; comments, blank and malformed lines skipped. */
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

/** A series text split into its metric name and its label set as exposed (without braces). */
export function splitSeries(series: string): { name: string; labels: string } {
  const brace = series.indexOf('{');
  return brace < 0 ? { name: series, labels: '' } : { name: series.slice(0, brace), labels: series.slice(brace + 1, -1) };
}

/** An exposed label set (`a="x",b="y\"z"`) as name → value, escapes kept as exposed. */
export function parseLabels(labels: string): Map<string, string> {
  const found = new Map<string, string>();
  for (const m of labels.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) found.set(m[1]!, m[2]!);
  return found;
}

/** Sum of a metric's samples whose label set includes every given label exactly (`{}`: all its samples). */
export function metricSum(body: string, name: string, labels: Record<string, string>): number {
  let sum = 0;
  const want = Object.entries(labels);
  for (const [series, value] of parseExposition(body)) {
    const s = splitSeries(series);
    if (s.name !== name) continue;
    const have = parseLabels(s.labels);
    if (want.every(([k, v]) => have.get(k) === v)) sum += value;
  }
  return sum;
}
