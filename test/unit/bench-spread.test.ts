// Every bench figure with its spread across rounds: Summary's medians and min–max per path, the
// table's `median (min–max)` cells and footnotes, and the chart's whiskers and extra panels.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Summary, roundFigures, type RunRecord } from '../../bench/summary.js';
import { connRateNote, reportNotes } from '../../bench/report-notes.js';
import { benchPaths } from '../../bench/paths/index.js';
import { benchChartSpec, formatFigure, formatTable, renderBarChartSvg } from '../../bench/lib/index.js';

const MB = 1024 * 1024;

/** One round's runs on one path: throughput, latency at 1000 req/s with two proxies, conn/s. */
function round(round: number, path: string, f: { gbit: number; p50: number; conn: number; cpu?: number; rssMb?: number }): RunRecord[] {
  const base = { round, order: 0, path, startedAt: '2026-01-01T00:00:00Z', seconds: 1 };
  const proxies =
    f.cpu === undefined
      ? []
      : ['client-side', 'server-side'].map((role) => ({ role, label: role, pid: 1, cpuSeconds: 1, peakRssBytes: (f.rssMb ?? 0) * MB, cpuPer1kRps: f.cpu }));
  return [
    { ...base, step: 'throughput.single', outcome: { kind: 'throughput', result: { gbitPerSecond: f.gbit } } },
    { ...base, step: 'latency.1000', outcome: { kind: 'latency', result: { load: { latencyMs: { p50: f.p50, p90: f.p50 * 2, p99: f.p50 * 4 }, achievedRate: 1000 }, proxies } } },
    { ...base, step: 'connrate', outcome: { kind: 'connrate', result: { connectionsPerSecond: f.conn } } },
  ] as unknown as RunRecord[];
}

const RUNS: RunRecord[] = [
  ...round(1, 'direct', { gbit: 20, p50: 0.1, conn: 8000 }),
  ...round(2, 'direct', { gbit: 18, p50: 0.12, conn: 7000 }),
  ...round(3, 'direct', { gbit: 22, p50: 0.11, conn: 7500 }),
  ...round(1, 'ambit', { gbit: 4, p50: 0.4, conn: 1300, cpu: 0.15, rssMb: 130 }),
  ...round(2, 'ambit', { gbit: 5, p50: 0.5, conn: 1100, cpu: 0.13, rssMb: 120 }),
  // Round 3 failed on ambit: two rounds remain, and the spread says so.
  { round: 3, order: 0, path: 'ambit', step: 'latency.1000', startedAt: '', seconds: 1, error: 'boom' },
];

test('summary: the median of the rounds in values, their min–max and count in spread', () => {
  const s = new Summary(['direct', 'ambit'], [1000], RUNS, { connrate: 'not equal work' });
  const m = Object.fromEntries(s.measurements().map((x) => [x.id, x]));
  assert.deepEqual(m['throughput.single']!.values, { direct: 20, ambit: 4.5 });
  assert.deepEqual(m['throughput.single']!.spread, { direct: { min: 18, max: 22, rounds: 3 }, ambit: { min: 4, max: 5, rounds: 2 } });
  assert.deepEqual(m['latency.1000.p50']!.spread!.ambit, { min: 0.4, max: 0.5, rounds: 2 });
  assert.equal(m['cpu.1000.client-side']!.values.direct, null);
  assert.equal(m['cpu.1000.client-side']!.spread!.direct, null);
  assert.deepEqual(m['rss.1000.server-side']!.spread!.ambit, { min: 120, max: 130, rounds: 2 });
  assert.equal(m.connrate!.note, 'not equal work');
  assert.equal(m['throughput.single']!.note, undefined);
  assert.deepEqual(roundFigures([3, 1, 2, NaN]), { median: 2, min: 1, max: 3, rounds: 3 });
  assert.equal(roundFigures([]), null);
});

test('table: median (min–max) per cell, ratios of medians, row notes and table notes as footnotes', () => {
  const s = new Summary(['direct', 'ambit'], [1000], RUNS, { connrate: 'ambit pools; stunnel handshakes' });
  const text = formatTable(s.measurements(), { paths: ['direct', 'ambit'], notes: ['Each cell: median (min–max).'] });
  const lines = text.trimEnd().split('\n');
  assert.match(lines.find((l) => l.startsWith('TCP throughput'))!, /\s20 \(18–22\)\s+4\.5 \(4–5\)\s+0\.23×$/);
  assert.match(lines.find((l) => l.startsWith('new connections'))!, /^new connections \(1 request each\) \[1\]\s/);
  assert.ok(lines.includes('[1] ambit pools; stunnel handshakes'), text);
  assert.ok(lines.includes('[2] Each cell: median (min–max).'), text);
  // One round: the figure alone, no spread to show.
  assert.equal(formatFigure(0.433, { min: 0.433, max: 0.433, rounds: 1 }), '0.433');
  assert.equal(formatFigure(0.433, { min: 0.41, max: 0.5, rounds: 3 }), '0.433 (0.41–0.5)');
  assert.equal(formatFigure(null, null), '—');
  // Subjects default to every ambit path, e.g. one per worker count.
  const w = formatTable([{ id: 'x', label: 'x', unit: 'u', better: 'higher', values: { direct: 2, 'ambit-w1': 1, 'ambit-w2': 2 } }], {
    paths: ['direct', 'ambit-w1', 'ambit-w2'],
  });
  assert.match(w.split('\n')[0]!, /ambit-w1\/direct\s+ambit-w2\/direct$/);
  assert.match(w.split('\n')[2]!, /0\.50×\s+1\.00×$/);
});

test('report notes: conn/s says Ambit multiplexes on a handshaken session and stunnel handshakes per connection; log levels named', () => {
  const paths = benchPaths();
  const note = connRateNote(paths);
  assert.match(note, /ambit: multiplexed: .*HTTP\/2 .*pooled .*already TLS-handshaken/);
  assert.match(note, /stunnel: a full TLS 1\.3 handshake .*per connection/);
  const [cell, logs] = reportNotes(paths, 3);
  assert.match(cell!, /median of 3 rounds, then \(min–max\)/);
  assert.match(logs!, /ambit: --log-level warn.*stunnel: debug = warning/);
  assert.match(reportNotes(paths, 1)[0]!, /one round/);
});

test('chart: conn/s, CPU and RSS panels, whiskers for the spread, a cut whisker marked', () => {
  const s = new Summary(['direct', 'ambit'], [1000], RUNS);
  const svg = renderBarChartSvg(benchChartSpec({ paths: ['direct', 'ambit'], ...s.chartGroups() }));
  for (const title of ['TCP throughput', 'HTTP latency at 1000 req/s', 'New connections per second', 'Proxy CPU per 1000 req/s', 'Proxy peak RSS']) {
    assert.ok(svg.includes(title), title);
  }
  // CPU and RSS: one group per role at each rate, and no empty slot for the proxy-less direct path.
  assert.equal((svg.match(/>client @1000</g) ?? []).length, 2);
  assert.doesNotMatch(svg, /<title>direct client @1000/);
  assert.match(svg, /<title>ambit client @1000: 0\.14 cores per 1k req\/s \(0\.13–0\.15 across rounds\)<\/title>/);
  // A whisker (stem, two caps) wherever min < max: every ambit and direct bar here.
  const stems = (svg.match(/class="whisker"/g) ?? []).length;
  assert.ok(stems >= 3 * 10, `whisker lines: ${stems}`);
  assert.match(svg, /min–max across rounds/);
  assert.doesNotMatch(svg, /NaN|undefined/);

  // One bad round 10× the others: its whisker is cut at 1.5× the tallest bar and marked.
  const spec = benchChartSpec({
    paths: ['a', 'b'],
    throughput: [{ label: 'x', values: { a: 2, b: 3 }, spread: { a: { min: 1.9, max: 30 }, b: { min: 2.9, max: 3.1 } } }],
    latency: [],
  });
  const cut = renderBarChartSvg(spec);
  assert.equal((cut.match(/class="clip"/g) ?? []).length, 1);
  assert.match(cut, /a x: 2 Gbit\/s \(1\.9–30 across rounds\)/); // the exact range stays in the tooltip
  assert.doesNotMatch(cut, />30</); // and the axis did not stretch to it
});
