// The terminal report of a run: the main table (L4 figures, ratios to the baselines), the keep-alive
// requests/s section (ratios to nginx and to Ambit L4), then the L7 target check.

import { formatTable, type Measurement } from './lib/index.js';
import { formatL7Targets, isWaypointPath, l4PathFor, NGINX_PATH, type L7TargetReport } from './l7-targets.js';

/**
 * Ratio columns of the requests/s section: the L4 subject(s) and the waypoint(s) against nginx (the
 * L7 reference) and against the L4-only path, whichever of them the run has.
 */
export function rpsRatioColumns(paths: readonly string[]): { subjects: string[]; baselines: string[] } {
  const l4 = l4PathFor(paths.find(isWaypointPath) ?? null, paths);
  const subjects = paths.filter((p) => /^ambit(-|$)/.test(p) || isWaypointPath(p));
  const baselines = [NGINX_PATH, ...(l4 === null ? [] : [l4])].filter((b) => paths.includes(b));
  return { subjects, baselines };
}

export interface ReportTextInput {
  readonly paths: readonly string[];
  readonly measurements: readonly Measurement[];
  /** Footnotes of the main table. */
  readonly notes: readonly string[];
  /** Footnotes of the requests/s section. */
  readonly rpsNotes: readonly string[];
  readonly targets: L7TargetReport;
}

export function reportText(r: ReportTextInput): string {
  const main = r.measurements.filter((m) => !m.id.startsWith('rps.'));
  const rps = r.measurements.filter((m) => m.id.startsWith('rps.'));
  const parts: string[] = [];
  if (main.length > 0) parts.push(formatTable(main, { paths: r.paths, notes: r.notes }));
  if (rps.length > 0) {
    parts.push(`HTTP keep-alive requests/s, as fast as each path answers\n\n${formatTable(rps, { paths: r.paths, ...rpsRatioColumns(r.paths), notes: r.rpsNotes })}`);
  }
  parts.push(formatL7Targets(r.targets));
  return parts.join('\n');
}
