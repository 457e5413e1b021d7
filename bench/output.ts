// Writes a run's results: latest.json plus a dated copy (every raw figure, machine, date) and
// latest.svg (throughput, latency, conn/s, proxy CPU and RSS per path) in the output directory.

import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { benchChartSpec, renderBarChartSvg, writeResultJson, type BenchResultFile, type MachineInfo } from './lib/index.js';
import type { Summary } from './summary.js';

export interface WrittenFiles {
  readonly json: string;
  readonly datedJson: string;
  readonly svg: string;
}

/** `2025-01-31T12:34:56.789Z` → `2025-01-31T12-34-56Z`: sortable and valid on every filesystem. */
export function fileStamp(date: Date): string {
  return date.toISOString().replace(/\.\d+Z$/, 'Z').replace(/:/g, '-');
}

export function writeOutputs(outDir: string, result: BenchResultFile, summary: Summary): WrittenFiles {
  mkdirSync(outDir, { recursive: true });
  const json = join(outDir, 'latest.json');
  const datedJson = join(outDir, `bench-${fileStamp(new Date(result.date))}.json`);
  const svg = join(outDir, 'latest.svg');
  writeResultJson(json, result);
  copyFileSync(json, datedJson);
  const m: MachineInfo = result.machine;
  const spec = benchChartSpec({
    paths: result.paths,
    subtitle: `${result.date.slice(0, 10)} · ${m.cores} cores ${m.cpuModel} · kernel ${m.kernel} · Node ${m.node} · ${result.command}`,
    ...summary.chartGroups(),
  });
  writeFileSync(svg, renderBarChartSvg(spec));
  return { json, datedJson, svg };
}
