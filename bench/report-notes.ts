// The report's words next to its figures: each path's configuration (log level, how a new
// connection crosses it), the conn/s caveat, and the footnotes on what every figure is.

import type { PathConfig } from './lib/index.js';
import type { BenchPath } from './paths/index.js';

type Described = Pick<BenchPath, 'name' | 'description' | 'logLevel' | 'connections'>;

/** `pathConfig` of the JSON: per path, its description, log level and connection handling. */
export function pathConfig(paths: readonly Described[]): Record<string, PathConfig> {
  return Object.fromEntries(paths.map((p) => [p.name, { description: p.description, logLevel: p.logLevel, connections: p.connections }]));
}

/**
 * The conn/s row's footnote: the paths do different work per new connection (Ambit opens a stream
 * on an HTTP/2 session whose TLS handshake is already done; stunnel does a full handshake each time),
 * so the row is a comparison of what each design costs, not of equal work.
 */
export function connRateNote(paths: readonly Described[]): string {
  return `Not equal work per connection. ${paths.map((p) => `${p.name}: ${p.connections}.`).join(' ')}`;
}

/** Footnotes on the whole table: what a cell holds, and each path's log level. */
export function reportNotes(paths: readonly Described[], rounds: number): string[] {
  const cell =
    rounds > 1
      ? `Each cell: the median of ${rounds} rounds, then (min–max) across those rounds; ratios are of medians.`
      : 'Each cell: the figure of the one round (no spread with a single round); ratios are of those figures.';
  return [cell, `Log levels: ${paths.map((p) => `${p.name}: ${p.logLevel}.`).join(' ')}`];
}
