// OpenMetrics 1.0 text encoding of a prom-client registry, matching what ztunnel's
// prometheus_client crate emits: counter families without `_total`, samples with it, `# EOF`.

import type { Registry } from 'prom-client';

// prom-client mutates a counter's name when its own registry is in OpenMetrics mode, which would
// corrupt a registry shared with other readers; so encode from getMetricsAsJSON() instead.

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function escapeHelp(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function formatValue(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Infinity) return '+Inf';
  if (n === -Infinity) return '-Inf';
  return String(n);
}

interface JsonValue {
  value: number;
  labels: Record<string, string | number>;
  metricName?: string;
}

interface JsonMetric {
  name: string;
  help: string;
  type: string;
  values: JsonValue[];
}

/** Encodes every metric of `registry` (running their collect hooks) as OpenMetrics text. */
export async function encodeOpenMetrics(registry: Registry): Promise<string> {
  const metrics = (await registry.getMetricsAsJSON()) as unknown as JsonMetric[];
  const out: string[] = [];
  for (const m of metrics) {
    const isCounter = m.type === 'counter';
    const family = isCounter && m.name.endsWith('_total') ? m.name.slice(0, -'_total'.length) : m.name;
    const type = m.type === 'counter' || m.type === 'gauge' || m.type === 'histogram' || m.type === 'summary' ? m.type : 'unknown';
    out.push(`# HELP ${family} ${escapeHelp(m.help)}`);
    out.push(`# TYPE ${family} ${type}`);
    for (const s of m.values) {
      const name = isCounter ? `${family}_total` : (s.metricName ?? m.name);
      const entries = Object.entries(s.labels);
      const labels =
        entries.length === 0 ? '' : `{${entries.map(([k, val]) => `${k}="${escapeLabel(String(val))}"`).join(',')}}`;
      out.push(`${name}${labels} ${formatValue(s.value)}`);
    }
  }
  out.push('# EOF');
  return `${out.join('\n')}\n`;
}
