// Grouped bar charts as plain SVG text (no dependencies): one panel per quantity (throughput per
// iperf3 mode, latency percentiles per request rate), one bar per path in each group, shared legend.

/** One cluster of bars: e.g. "1 stream" with a value per path. */
export interface ChartGroup {
  readonly label: string;
  readonly values: Readonly<Record<string, number | null>>;
}

export interface ChartPanel {
  readonly title: string;
  /** Y axis unit, e.g. "Gbit/s" or "ms". */
  readonly unit: string;
  readonly groups: readonly ChartGroup[];
}

export interface ChartSpec {
  readonly title: string;
  /** A line under the title (machine, date). */
  readonly subtitle?: string;
  /** Bar order and legend (path names). */
  readonly series: readonly string[];
  readonly panels: readonly ChartPanel[];
  /** Panels per row (default 2). */
  readonly columns?: number;
}

const PALETTE: Record<string, string> = { direct: '#7f7f7f', ambit: '#1f6fb4', stunnel: '#e8811a', waypoint: '#2ca02c', 'node-relay': '#b9b9b9' };
const FALLBACK = ['#9467bd', '#8c564b', '#d62728', '#17becf'];
const PANEL_W = 480;
const PANEL_H = 300;
const M = { left: 64, right: 16, top: 40, bottom: 44 };

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** The smallest 1/2/2.5/5 × 10^k at or above v, so the axis ends on a round number. */
export function niceCeil(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v * (1 - 1e-9)) return m * p;
  return 10 * p;
}

function label(v: number): string {
  if (v >= 100) return String(Math.round(v));
  return String(Number(v.toPrecision(3)));
}

function colorOf(series: readonly string[], name: string): string {
  return PALETTE[name] ?? FALLBACK[series.indexOf(name) % FALLBACK.length]!;
}

function renderPanel(spec: ChartSpec, panel: ChartPanel, x0: number, y0: number): string {
  const plotW = PANEL_W - M.left - M.right;
  const plotH = PANEL_H - M.top - M.bottom;
  const px = x0 + M.left;
  const py = y0 + M.top;
  const all = panel.groups.flatMap((g) => spec.series.map((s) => g.values[s])).filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  const max = niceCeil(Math.max(0, ...all) * 1.08); // headroom for value labels
  const y = (v: number): number => py + plotH - (v / max) * plotH;
  const out: string[] = [];
  out.push(`<text x="${x0 + PANEL_W / 2}" y="${y0 + 22}" class="panel-title" text-anchor="middle">${esc(panel.title)}</text>`);
  // Y grid and tick labels: 5 intervals.
  for (let i = 0; i <= 5; i++) {
    const v = (max * i) / 5;
    const yy = y(v).toFixed(1);
    out.push(`<line x1="${px}" y1="${yy}" x2="${px + plotW}" y2="${yy}" class="grid"/>`);
    out.push(`<text x="${px - 6}" y="${yy}" class="tick" text-anchor="end" dominant-baseline="middle">${label(v)}</text>`);
  }
  out.push(
    `<text transform="translate(${x0 + 16},${py + plotH / 2}) rotate(-90)" class="axis" text-anchor="middle">${esc(panel.unit)}</text>`,
  );
  const groupW = plotW / Math.max(1, panel.groups.length);
  const barW = (groupW * 0.78) / Math.max(1, spec.series.length);
  panel.groups.forEach((g, gi) => {
    const gx = px + gi * groupW + groupW * 0.11;
    spec.series.forEach((s, si) => {
      const v = g.values[s];
      const bx = gx + si * barW;
      if (typeof v !== 'number' || !Number.isFinite(v)) {
        out.push(`<text x="${(bx + barW / 2).toFixed(1)}" y="${py + plotH - 4}" class="value" text-anchor="middle">n/a</text>`);
        return;
      }
      const top = y(v);
      out.push(
        `<rect x="${(bx + 1).toFixed(1)}" y="${top.toFixed(1)}" width="${(barW - 2).toFixed(1)}" height="${(py + plotH - top).toFixed(1)}" fill="${colorOf(spec.series, s)}"><title>${esc(`${s} ${g.label}: ${label(v)} ${panel.unit}`)}</title></rect>`,
      );
      out.push(`<text x="${(bx + barW / 2).toFixed(1)}" y="${(top - 4).toFixed(1)}" class="value" text-anchor="middle">${label(v)}</text>`);
    });
    out.push(`<text x="${(px + gi * groupW + groupW / 2).toFixed(1)}" y="${py + plotH + 20}" class="group" text-anchor="middle">${esc(g.label)}</text>`);
  });
  out.push(`<line x1="${px}" y1="${py + plotH}" x2="${px + plotW}" y2="${py + plotH}" class="axis-line"/>`);
  out.push(`<line x1="${px}" y1="${py}" x2="${px}" y2="${py + plotH}" class="axis-line"/>`);
  return out.join('\n');
}

/** Renders the whole chart: title, legend, then the panels in a grid. */
export function renderBarChartSvg(spec: ChartSpec): string {
  const cols = Math.max(1, Math.min(spec.columns ?? 2, spec.panels.length));
  const rows = Math.ceil(spec.panels.length / cols);
  const headH = spec.subtitle ? 84 : 66;
  const width = cols * PANEL_W;
  const height = headH + rows * PANEL_H + 8;
  const out: string[] = [];
  out.push(`<?xml version="1.0" encoding="UTF-8"?>`);
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">`);
  out.push(
    '<style>.title{font-size:18px;font-weight:bold}.subtitle{font-size:12px;fill:#555}.panel-title{font-size:14px;font-weight:bold}' +
      '.tick,.value{font-size:10px;fill:#333}.group{font-size:12px}.axis{font-size:12px;fill:#333}.legend{font-size:12px}' +
      '.grid{stroke:#e3e3e3;stroke-width:1}.axis-line{stroke:#333;stroke-width:1}</style>',
  );
  out.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
  out.push(`<text x="${width / 2}" y="26" class="title" text-anchor="middle">${esc(spec.title)}</text>`);
  if (spec.subtitle) out.push(`<text x="${width / 2}" y="46" class="subtitle" text-anchor="middle">${esc(spec.subtitle)}</text>`);
  // Legend: centred row of swatches.
  const itemW = 120;
  let lx = width / 2 - (spec.series.length * itemW) / 2;
  const ly = headH - 18;
  for (const s of spec.series) {
    out.push(`<rect x="${lx}" y="${ly - 10}" width="14" height="14" fill="${colorOf(spec.series, s)}"/>`);
    out.push(`<text x="${lx + 20}" y="${ly + 1}" class="legend">${esc(s)}</text>`);
    lx += itemW;
  }
  spec.panels.forEach((p, i) => {
    out.push(renderPanel(spec, p, (i % cols) * PANEL_W, headH + Math.floor(i / cols) * PANEL_H));
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}

/** The standard bench chart: throughput per iperf3 mode, then latency percentiles per rate. */
export function benchChartSpec(input: {
  readonly title?: string;
  readonly subtitle?: string;
  readonly paths: readonly string[];
  /** Gbit/s per path for each mode label (e.g. "1 stream", "-R", "-P 4"). */
  readonly throughput: readonly ChartGroup[];
  /** Per request rate: ms per path for p50, p90, p99. */
  readonly latency: ReadonlyArray<{ readonly rate: number; readonly p50: ChartGroup['values']; readonly p90: ChartGroup['values']; readonly p99: ChartGroup['values'] }>;
}): ChartSpec {
  return {
    title: input.title ?? 'Ambit benchmark: throughput and latency per path',
    subtitle: input.subtitle,
    series: input.paths,
    panels: [
      { title: 'TCP throughput (iperf3)', unit: 'Gbit/s', groups: input.throughput },
      ...input.latency.map((l) => ({
        title: `HTTP latency at ${l.rate} req/s (1 KB responses)`,
        unit: 'ms',
        groups: [
          { label: 'p50', values: l.p50 },
          { label: 'p90', values: l.p90 },
          { label: 'p99', values: l.p99 },
        ],
      })),
    ],
  };
}
