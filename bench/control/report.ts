// The control-plane bench's outputs: the terminal table (median with min–max, target, met/missed,
// footnotes), control-plane.json plus a dated copy, and control-plane.svg, in the output directory.

import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatFigure, formatValue, renderBarChartSvg, type ChartGroup, type ChartPanel, type MachineInfo } from '../lib/index.js';
import { fileStamp } from '../output.js';
import type { ControlMeasurement } from './summary.js';

export interface ControlBenchResult {
  readonly version: 1;
  readonly kind: 'control-plane';
  readonly date: string;
  readonly command: string;
  readonly machine: MachineInfo;
  readonly settings: unknown;
  /** Objects by kind, and the resources they translate to. */
  readonly cluster: { readonly counts: Readonly<Record<string, number>>; readonly resources: unknown; readonly manifestsBytes: number | undefined };
  readonly measurements: readonly ControlMeasurement[];
  readonly notes: readonly string[];
  readonly raw: unknown;
}

/** `≤ 2000 ms`, or '—'. */
function targetText(m: ControlMeasurement): string {
  return m.target === undefined ? '—' : `≤ ${formatValue(m.target.max)}`;
}

function statusText(m: ControlMeasurement): string {
  if (m.met === undefined) return '';
  return m.met ? 'met' : 'MISSED';
}

/** Rows with their figures, target and status; then numbered footnotes (row notes first, then `notes`). */
export function formatControlTable(measurements: readonly ControlMeasurement[], notes: readonly string[]): string {
  const footnotes: string[] = [];
  const rows = measurements.map((m) => {
    let label = m.label;
    if (m.note !== undefined) {
      if (!footnotes.includes(m.note)) footnotes.push(m.note);
      label += ` [${footnotes.indexOf(m.note) + 1}]`;
    }
    return [label, m.unit, formatFigure(m.value, m.spread), targetText(m), statusText(m)];
  });
  const header = ['measurement', 'unit', 'median (min–max)', 'target', 'status'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 2 || i === 3 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  const all = [...footnotes, ...notes].flatMap((n, i) => wrap(n, 110, `[${i + 1}] `));
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line), ...(all.length ? ['', ...all] : [])].join('\n') + '\n';
}

function wrap(text: string, width: number, mark: string): string[] {
  const indent = ' '.repeat(mark.length);
  const lines: string[] = [];
  let cur = mark;
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (cur.length > mark.length && cur.length + 1 + word.length > width) {
      lines.push(cur);
      cur = indent + word;
    } else cur += (cur.length > mark.length ? ' ' : '') + word;
  }
  lines.push(cur);
  return lines;
}

/** The chart: translation, change latency, RSS and full sync, each bar a median with its min–max whisker. */
export function controlChartPanels(ms: readonly ControlMeasurement[], clients: number, debounceMs: readonly number[]): { series: string[]; panels: ChartPanel[] } {
  const byId = new Map(ms.map((m) => [m.id, m]));
  const group = (label: string, cells: Record<string, string>): ChartGroup => {
    const values: Record<string, number | null> = {};
    const spread: Record<string, { min: number; max: number } | null> = {};
    for (const [series, id] of Object.entries(cells)) {
      const m = byId.get(id);
      values[series] = m?.value ?? null;
      spread[series] = m?.spread ? { min: m.spread.min, max: m.spread.max } : null;
    }
    return { label, values, spread };
  };
  const mem = 'in-memory';
  const mf = 'manifests';
  const deb = (d: number): string => `debounce ${d} ms`;
  const panels: ChartPanel[] = [
    {
      title: 'Full translation + encode (target ≤ 2000 ms)',
      unit: 'ms',
      groups: [
        group('cold', { [mem]: 'translation.cold', [mf]: 'e2e.translation' }),
        group('warm', { [mem]: 'translation.warm' }),
        group('after one change', { [mem]: 'translation.change', [mf]: 'e2e.translation.change' }),
      ],
    },
    {
      // In memory only: a manifests file change (hundreds of ms, in the table) would flatten these bars.
      title: `One pod change → all ${clients} clients (target p99 ≤ 100 ms)`,
      unit: 'ms',
      groups: (['p50', 'p99', 'max'] as const).map((q) => group(q, Object.fromEntries(debounceMs.map((d) => [deb(d), `change.d${d}.${q}`])))),
    },
    {
      title: 'Control plane RSS (target peak ≤ 400 MB)',
      unit: 'MB',
      groups: [
        group('serving', { [mem]: 'rss.started', [mf]: 'e2e.rss.started' }),
        group(`${clients} clients`, { [mem]: 'rss.synced', [mf]: 'e2e.rss.synced' }),
        group('peak', { [mem]: 'rss.peak', [mf]: 'e2e.rss.peak' }),
      ],
    },
    {
      title: `Initial full sync of ${clients} clients`,
      unit: 'ms',
      groups: [group('all synced', { [mem]: 'sync.all', [mf]: 'e2e.sync' })],
    },
  ];
  return { series: [mem, mf, ...debounceMs.map(deb)], panels };
}

export interface WrittenFiles {
  readonly json: string;
  readonly datedJson: string;
  readonly svg: string;
}

export function writeControlOutputs(outDir: string, result: ControlBenchResult, clients: number, debounceMs: readonly number[]): WrittenFiles {
  mkdirSync(outDir, { recursive: true });
  const json = join(outDir, 'control-plane.json');
  const datedJson = join(outDir, `control-plane-${fileStamp(new Date(result.date))}.json`);
  const svg = join(outDir, 'control-plane.svg');
  writeFileSync(json, JSON.stringify(result, null, 2) + '\n');
  copyFileSync(json, datedJson);
  const m = result.machine;
  const { series, panels } = controlChartPanels(result.measurements, clients, debounceMs);
  const varied = result.measurements.some((x) => x.spread !== null && x.spread.rounds > 1 && x.spread.max > x.spread.min);
  writeFileSync(
    svg,
    renderBarChartSvg({
      title: 'Ambit control plane at scale',
      subtitle: `${result.date.slice(0, 10)} · ${m.cores} cores ${m.cpuModel} · Node ${m.node} · ${result.command}`,
      series,
      panels,
      ...(varied ? { whiskerLegend: 'min–max across rounds' } : {}),
    }),
  );
  return { json, datedJson, svg };
}
