// Benchmark output: the terminal table (rows = measurements, columns = paths with min–max across
// rounds, then the subjects' ratios to each baseline, footnotes), the machine, and the JSON file.

import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import * as os from 'node:os';

/** How a figure varied across rounds: the table shows `median (min–max)`, the JSON keeps all three. */
export interface Spread {
  readonly min: number;
  readonly max: number;
  /** Rounds that produced a figure (failed runs excluded). */
  readonly rounds: number;
}

/** One measured quantity across paths (a table row). */
export interface Measurement {
  /** Stable key, e.g. `throughput.single`, `latency.1000.p99`. */
  readonly id: string;
  readonly label: string;
  readonly unit: string;
  /** Which direction is better: a ratio > 1 is good for `higher`, < 1 for `lower`. */
  readonly better: 'higher' | 'lower';
  /** Median across rounds per path name; null when not measured (e.g. agent CPU on the direct path). */
  readonly values: Readonly<Record<string, number | null>>;
  /** Min and max across rounds per path name, beside the median in `values`; null when not measured. */
  readonly spread?: Readonly<Record<string, Spread | null>>;
  /** A caveat on the row, printed as a numbered footnote under the table (e.g. what conn/s compares). */
  readonly note?: string;
  /**
   * Paths the row cannot measure, with the reason (e.g. iperf3 on an HTTP-only path): their cell
   * reads `n/a: <reason>` instead of a figure or '—', so a skipped measurement is never silent.
   */
  readonly notApplicable?: Readonly<Record<string, string>>;
}

export interface TableOptions {
  /** Column order (e.g. ['direct', 'ambit', 'stunnel']). */
  readonly paths: readonly string[];
  /**
   * The paths whose ratios are shown (default: those named `ambit` or `ambit-…`, e.g. `ambit-w1`,
   * `ambit-w2` when the bench runs the agent with several worker counts).
   */
  readonly subjects?: readonly string[];
  /**
   * Ratio columns: subject / baseline (default ['direct', 'stunnel', 'node-relay'], those present);
   * a path may be both a subject and a baseline (its ratio to itself is left out).
   */
  readonly baselines?: readonly string[];
  /** Footnotes for the whole table, printed after the rows' own notes. */
  readonly notes?: readonly string[];
}

/** 3 significant digits, no exponent; whole numbers from 100 up; '—' for missing. */
export function formatValue(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  if (Math.abs(v) >= 100) return String(Math.round(v));
  if (v === 0) return '0';
  return String(Number(v.toPrecision(3)));
}

/** `median (min–max)`, or the median alone when fewer than 2 rounds produced a figure. */
export function formatFigure(median: number | null | undefined, spread: Spread | null | undefined): string {
  const v = formatValue(median);
  if (v === '—' || spread === null || spread === undefined || spread.rounds < 2) return v;
  return `${v} (${formatValue(spread.min)}–${formatValue(spread.max)})`;
}

/** subject / baseline, or null when either is missing or the baseline is 0. */
export function ratio(m: Measurement, subject: string, baseline: string): number | null {
  const a = m.values[subject];
  const b = m.values[baseline];
  if (a === null || a === undefined || b === null || b === undefined || b === 0) return null;
  return a / b;
}

/** Splits `text` into lines of at most `width` characters at spaces, each after `indent`. */
function wrap(text: string, width: number, first: string, indent: string): string[] {
  const lines: string[] = [];
  let line = first;
  for (const word of text.split(/\s+/).filter(Boolean)) {
    const start = line === first || line === indent;
    if (!start && line.length + 1 + word.length > width) {
      lines.push(line);
      line = indent + word;
    } else line += (start ? '' : ' ') + word;
  }
  lines.push(line);
  return lines;
}

/** Width of wrapped footnotes, characters. */
const NOTE_WIDTH = 110;

/**
 * A fixed-width text table for the terminal: medians with their min–max across rounds, the
 * subjects' ratios (of medians) to each baseline, then numbered footnotes (`[1]` after a row's label).
 */
export function formatTable(measurements: readonly Measurement[], opts: TableOptions): string {
  const subjects = opts.subjects ?? opts.paths.filter((p) => /^ambit(-|$)/.test(p));
  const baselines = (opts.baselines ?? ['direct', 'stunnel', 'node-relay']).filter((b) => opts.paths.includes(b));
  const pairs = subjects.flatMap((s) => baselines.filter((b) => b !== s).map((b) => [s, b] as const));
  const header = ['measurement', 'unit', ...opts.paths, ...pairs.map(([s, b]) => `${s}/${b}`)];
  const notes: string[] = [];
  const rows = measurements.map((m) => {
    let label = m.label;
    if (m.note !== undefined) {
      if (!notes.includes(m.note)) notes.push(m.note);
      label += ` [${notes.indexOf(m.note) + 1}]`;
    }
    return [
      label,
      m.unit,
      ...opts.paths.map((p) => (m.notApplicable?.[p] !== undefined ? `n/a: ${m.notApplicable[p]}` : formatFigure(m.values[p], m.spread?.[p]))),
      ...pairs.map(([s, b]) => {
        const r = ratio(m, s, b);
        return r === null ? '—' : `${r.toFixed(2)}×`;
      }),
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  // Text columns left-aligned, figures right-aligned.
  const line = (cells: string[]): string => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  const footer = [...notes, ...(opts.notes ?? [])].flatMap((n, i) => {
    const mark = `[${i + 1}] `;
    return wrap(n, NOTE_WIDTH, mark, ' '.repeat(mark.length));
  });
  const table = [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)];
  return [...table, ...(footer.length > 0 ? ['', ...footer] : [])].join('\n') + '\n';
}

export interface MachineInfo {
  readonly cores: number;
  readonly cpuModel: string;
  /** `uname -r`. */
  readonly kernel: string;
  readonly node: string;
  readonly totalMemoryBytes: number;
  readonly hostname: string;
}

/** This machine: cores, CPU model (/proc/cpuinfo), kernel release, Node version. */
export function machineInfo(): MachineInfo {
  let cpuModel = os.cpus()[0]?.model ?? 'unknown';
  try {
    cpuModel = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? cpuModel;
  } catch {
    // not Linux: keep os.cpus()'s model
  }
  return {
    cores: os.availableParallelism(),
    cpuModel,
    kernel: os.release(), // the uname(2) release, i.e. `uname -r`
    node: process.version,
    totalMemoryBytes: os.totalmem(),
    hostname: os.hostname(),
  };
}

/** How one path was configured, in words (the JSON's `pathConfig`). */
export interface PathConfig {
  /** What carries the bytes. */
  readonly description: string;
  /** What the path's proxies log, at which level. */
  readonly logLevel: string;
  /** How one new client connection crosses the path (handshakes, pooling). */
  readonly connections: string;
}

/** The JSON result file: the table's figures plus every raw tool result. */
export interface BenchResultFile {
  readonly version: 1;
  /** ISO 8601 start of the run. */
  readonly date: string;
  /** The exact command line, e.g. `npm run bench -- --quick`. */
  readonly command: string;
  readonly machine: MachineInfo;
  readonly paths: readonly string[];
  /** Per path: description, log level, connection handling. */
  readonly pathConfig: Readonly<Record<string, PathConfig>>;
  /** Medians per path with their spread across rounds (and a note where a row needs one). */
  readonly measurements: readonly Measurement[];
  /** The table's footnotes for the whole run (what the figures are, log levels), as printed. */
  readonly notes: readonly string[];
  /** The L7 (waypoint) target check of this run (bench/l7-targets.ts); absent in older files. */
  readonly l7Targets?: unknown;
  /** Raw results as the tools returned them (iperf3 JSON summaries, load results per run...). */
  readonly raw: unknown;
}

/** Writes the result file (pretty-printed, directories created). */
export function writeResultJson(path: string, result: BenchResultFile): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, JSON.stringify(result, null, 2) + '\n');
}
