// Benchmark output: the terminal table (rows = measurements, columns = paths, then the subject's
// ratios to each baseline), the machine description, and the JSON file with every raw figure.

import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import * as os from 'node:os';

/** One measured quantity across paths (a table row). */
export interface Measurement {
  /** Stable key, e.g. `throughput.single`, `latency.1000.p99`. */
  readonly id: string;
  readonly label: string;
  readonly unit: string;
  /** Which direction is better: a ratio > 1 is good for `higher`, < 1 for `lower`. */
  readonly better: 'higher' | 'lower';
  /** Value per path name; null when not measured (e.g. agent CPU on the direct path). */
  readonly values: Readonly<Record<string, number | null>>;
}

export interface TableOptions {
  /** Column order (e.g. ['direct', 'ambit', 'stunnel']). */
  readonly paths: readonly string[];
  /** The path whose ratios are shown (default 'ambit'). */
  readonly subject?: string;
  /** Ratio columns: subject / baseline (default ['direct', 'stunnel', 'node-relay'], those present). */
  readonly baselines?: readonly string[];
}

/** 3 significant digits, no exponent; whole numbers from 100 up; '—' for missing. */
export function formatValue(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  if (Math.abs(v) >= 100) return String(Math.round(v));
  if (v === 0) return '0';
  return String(Number(v.toPrecision(3)));
}

/** subject / baseline, or null when either is missing or the baseline is 0. */
export function ratio(m: Measurement, subject: string, baseline: string): number | null {
  const a = m.values[subject];
  const b = m.values[baseline];
  if (a === null || a === undefined || b === null || b === undefined || b === 0) return null;
  return a / b;
}

/** A fixed-width text table for the terminal. */
export function formatTable(measurements: readonly Measurement[], opts: TableOptions): string {
  const subject = opts.subject ?? 'ambit';
  const baselines = (opts.baselines ?? ['direct', 'stunnel', 'node-relay']).filter((b) => b !== subject && opts.paths.includes(b));
  const header = ['measurement', 'unit', ...opts.paths, ...baselines.map((b) => `${subject}/${b}`)];
  const rows = measurements.map((m) => [
    m.label,
    m.unit,
    ...opts.paths.map((p) => formatValue(m.values[p])),
    ...baselines.map((b) => {
      const r = ratio(m, subject, b);
      return r === null ? '—' : `${r.toFixed(2)}×`;
    }),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  // Text columns left-aligned, figures right-aligned.
  const line = (cells: string[]): string => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n') + '\n';
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

/** The JSON result file: the table's figures plus every raw tool result. */
export interface BenchResultFile {
  readonly version: 1;
  /** ISO 8601 start of the run. */
  readonly date: string;
  /** The exact command line, e.g. `npm run bench -- --quick`. */
  readonly command: string;
  readonly machine: MachineInfo;
  readonly paths: readonly string[];
  readonly measurements: readonly Measurement[];
  /** Raw results as the tools returned them (iperf3 JSON summaries, load results per run...). */
  readonly raw: unknown;
}

/** Writes the result file (pretty-printed, directories created). */
export function writeResultJson(path: string, result: BenchResultFile): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, JSON.stringify(result, null, 2) + '\n');
}
