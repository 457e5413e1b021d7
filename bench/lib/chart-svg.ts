// Grouped bar charts as plain SVG text (no dependencies): one panel per quantity, one bar per series
// in each group with an optional min–max whisker, shared legend. The bench's layout: bench-chart.ts.

/** One cluster of bars: e.g. "1 stream" with a value per path. */
export interface ChartGroup {
  readonly label: string;
  readonly values: Readonly<Record<string, number | null>>;
  /** Range drawn as a whisker over each bar (the bench: min–max across rounds); none when absent or min = max. */
  readonly spread?: Readonly<Record<string, { readonly min: number; readonly max: number } | null>>;
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
  /** Legend entry for the whiskers (e.g. "min–max across rounds"); none when absent. */
  readonly whiskerLegend?: string;
}

const PALETTE: Record<string, string> = { direct: '#7f7f7f', ambit: '#1f6fb4', stunnel: '#e8811a', waypoint: '#2ca02c', 'node-relay': '#b9b9b9' };
/** `ambit-w1`, `ambit-w2`, ...: shades of Ambit's blue, in series order. */
const AMBIT_SHADES = ['#1f6fb4', '#6aaee6', '#0d3f70', '#a9cff2'];
const FALLBACK = ['#9467bd', '#8c564b', '#d62728', '#17becf'];
const WHISKER = '#222222';
const PANEL_W = 480;
const PANEL_H = 320;
const M = { left: 64, right: 16, top: 40, bottom: 44 };
/** Widest bar, px (a panel with one group and few series would otherwise draw slabs). */
const MAX_BAR_W = 56;
/** Width of one character of a value label (10 px DejaVu Sans digits), px: decides rotation. */
const VALUE_CHAR_W = 6.2;
/**
 * A whisker may reach this many times the panel's tallest bar; beyond, it is cut there and marked
 * with a triangle, so that one bad round does not flatten every bar of the panel (the exact range
 * stays in the bar's tooltip and in the table).
 */
const WHISKER_CAP = 1.5;

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
  const fixed = PALETTE[name];
  if (fixed !== undefined) return fixed;
  if (name.startsWith('ambit-')) {
    const shades = series.filter((s) => s.startsWith('ambit-'));
    return AMBIT_SHADES[shades.indexOf(name) % AMBIT_SHADES.length]!;
  }
  return FALLBACK[series.indexOf(name) % FALLBACK.length]!;
}

const finite = (v: number | null | undefined): v is number => typeof v === 'number' && Number.isFinite(v);

/** The series with a figure somewhere in the panel (all of them if none has): no empty bar slots. */
function panelSeries(spec: ChartSpec, panel: ChartPanel): readonly string[] {
  const shown = spec.series.filter((s) => panel.groups.some((g) => finite(g.values[s])));
  return shown.length > 0 ? shown : spec.series;
}

interface Bar {
  readonly series: string;
  readonly group: ChartGroup;
  /** Centre x, px. */
  readonly cx: number;
  readonly value: number;
  /** The whisker, cut at the panel's cap; null when none. */
  readonly whisker: { readonly min: number; readonly max: number; readonly clipped: boolean } | null;
  /** Value label: upright (rotated) in a panel where some label is wider than its bar. */
  readonly text: string;
  readonly rotated: boolean;
}

/** Vertical room a value label needs above its anchor, px. */
const labelRoom = (b: Bar): number => (b.rotated ? b.text.length * VALUE_CHAR_W + 8 : 16);

function renderPanel(spec: ChartSpec, panel: ChartPanel, x0: number, y0: number): string {
  const plotW = PANEL_W - M.left - M.right;
  const plotH = PANEL_H - M.top - M.bottom;
  const px = x0 + M.left;
  const py = y0 + M.top;
  const series = panelSeries(spec, panel);
  const groupW = plotW / Math.max(1, panel.groups.length);
  const barW = Math.min(MAX_BAR_W, (groupW * 0.8) / Math.max(1, series.length));
  const tallest = Math.max(0, ...panel.groups.flatMap((g) => series.map((s) => g.values[s])).filter(finite));
  const cap = tallest * WHISKER_CAP;
  const bars: Bar[] = [];
  const missing: Array<{ cx: number }> = [];
  panel.groups.forEach((g, gi) => {
    const gx = px + gi * groupW + (groupW - barW * series.length) / 2;
    series.forEach((s, si) => {
      const cx = gx + si * barW + barW / 2;
      const v = g.values[s];
      if (!finite(v)) return void missing.push({ cx });
      const sp = g.spread?.[s];
      const whisker =
        sp !== null && sp !== undefined && finite(sp.min) && finite(sp.max) && sp.max > sp.min
          ? { min: sp.min, max: Math.min(sp.max, Math.max(cap, v)), clipped: sp.max > Math.max(cap, v) }
          : null;
      bars.push({ series: s, group: g, cx, value: v, whisker, text: label(v), rotated: false });
    });
  });
  // One orientation per panel: upright labels as soon as one of them is wider than its bar.
  if (bars.some((b) => b.text.length * VALUE_CHAR_W > barW + 2)) bars.forEach((b, i) => (bars[i] = { ...b, rotated: true }));
  // The axis ends where every label still fits above its bar or whisker.
  const need = bars.map((b) => (Math.max(b.value, b.whisker?.max ?? 0) * plotH) / Math.max(1, plotH - labelRoom(b)));
  const max = niceCeil(Math.max(0, ...need));
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
  for (const m of missing) out.push(`<text x="${m.cx.toFixed(1)}" y="${py + plotH - 4}" class="value" text-anchor="middle">n/a</text>`);
  for (const b of bars) {
    const top = y(b.value);
    const cx = b.cx.toFixed(1);
    const sp = b.group.spread?.[b.series];
    const range = b.whisker !== null && sp ? ` (${label(sp.min)}–${label(sp.max)} across rounds)` : '';
    out.push(
      `<rect x="${(b.cx - barW / 2 + 1).toFixed(1)}" y="${top.toFixed(1)}" width="${(barW - 2).toFixed(1)}" height="${(py + plotH - top).toFixed(1)}" fill="${colorOf(spec.series, b.series)}"><title>${esc(`${b.series} ${b.group.label}: ${label(b.value)} ${panel.unit}${range}`)}</title></rect>`,
    );
    let anchor = top;
    if (b.whisker !== null) {
      const [lo, hi] = [y(b.whisker.min), y(b.whisker.max)];
      const c = Math.min(4, barW / 4);
      out.push(`<line x1="${cx}" y1="${lo.toFixed(1)}" x2="${cx}" y2="${hi.toFixed(1)}" class="whisker"/>`);
      out.push(`<line x1="${(b.cx - c).toFixed(1)}" y1="${lo.toFixed(1)}" x2="${(b.cx + c).toFixed(1)}" y2="${lo.toFixed(1)}" class="whisker"/>`);
      if (b.whisker.clipped) {
        out.push(`<path d="M${(b.cx - 4).toFixed(1)},${(hi + 6).toFixed(1)} L${cx},${hi.toFixed(1)} L${(b.cx + 4).toFixed(1)},${(hi + 6).toFixed(1)} Z" class="clip"/>`);
      } else {
        out.push(`<line x1="${(b.cx - c).toFixed(1)}" y1="${hi.toFixed(1)}" x2="${(b.cx + c).toFixed(1)}" y2="${hi.toFixed(1)}" class="whisker"/>`);
      }
      anchor = Math.min(top, hi);
    }
    out.push(
      b.rotated
        ? `<text transform="translate(${cx},${(anchor - 4).toFixed(1)}) rotate(-90)" class="value" text-anchor="start" dominant-baseline="middle">${b.text}</text>`
        : `<text x="${cx}" y="${(anchor - 4).toFixed(1)}" class="value" text-anchor="middle">${b.text}</text>`,
    );
  }
  panel.groups.forEach((g, gi) => {
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
      // A white halo keeps value labels legible where they cross a whisker or a grid line.
      '.value{paint-order:stroke;stroke:#fff;stroke-width:3px;stroke-linejoin:round}' +
      `.grid{stroke:#e3e3e3;stroke-width:1}.axis-line{stroke:#333;stroke-width:1}.whisker{stroke:${WHISKER};stroke-width:1.2}.clip{fill:${WHISKER}}</style>`,
  );
  out.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
  out.push(`<text x="${width / 2}" y="26" class="title" text-anchor="middle">${esc(spec.title)}</text>`);
  if (spec.subtitle) out.push(`<text x="${width / 2}" y="46" class="subtitle" text-anchor="middle">${esc(spec.subtitle)}</text>`);
  // Legend: centred row of swatches, then the whisker's meaning. An item is 120 px, wider for a long name.
  const itemW = (name: string): number => Math.max(120, 20 + name.length * 7 + 16);
  const whiskerW = spec.whiskerLegend === undefined ? 0 : 24 + spec.whiskerLegend.length * 7;
  let lx = width / 2 - (spec.series.reduce((a, s) => a + itemW(s), 0) + whiskerW) / 2;
  const ly = headH - 18;
  for (const s of spec.series) {
    out.push(`<rect x="${lx}" y="${ly - 10}" width="14" height="14" fill="${colorOf(spec.series, s)}"/>`);
    out.push(`<text x="${lx + 20}" y="${ly + 1}" class="legend">${esc(s)}</text>`);
    lx += itemW(s);
  }
  if (spec.whiskerLegend !== undefined) {
    out.push(`<line x1="${lx + 7}" y1="${ly - 10}" x2="${lx + 7}" y2="${ly + 4}" class="whisker"/>`);
    out.push(`<line x1="${lx + 3}" y1="${ly - 10}" x2="${lx + 11}" y2="${ly - 10}" class="whisker"/>`);
    out.push(`<line x1="${lx + 3}" y1="${ly + 4}" x2="${lx + 11}" y2="${ly + 4}" class="whisker"/>`);
    out.push(`<text x="${lx + 20}" y="${ly + 1}" class="legend">${esc(spec.whiskerLegend)}</text>`);
  }
  spec.panels.forEach((p, i) => {
    out.push(renderPanel(spec, p, (i % cols) * PANEL_W, headH + Math.floor(i / cols) * PANEL_H));
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}
