// The report's words next to its figures: each path's configuration (log level, how a new
// connection crosses it), the conn/s caveat, and the footnotes on what every figure is (incl. req/s).

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

/** What the requests/s section's figures are: the client, the load, the normalisation. */
export function rpsNotes(s: { readonly rpsConnections: number; readonly rpsThreads: number; readonly rpsSeconds: number; readonly rpsWarmupS: number }): string[] {
  return [
    `wrk (Debian's wrk 4.x) from the client pod: ${s.rpsConnections} HTTP/1.1 keep-alive connections, one request in flight on each, ` +
      `${s.rpsThreads} wrk thread, ${s.rpsSeconds} s measured${s.rpsWarmupS > 0 ? ` after a ${s.rpsWarmupS} s warm-up` : ''}, 1 KB responses. ` +
      'wrk because it is the cheapest client per request (C, epoll), so on a small machine most of the CPU is left to the path under test; ' +
      'hey (Go net/http) spends more client CPU per request, and h2load is HTTP/2-first. A run with any error (non-2xx, socket error, timeout) counts as failed, not as a figure.',
    "Latency rows here are wrk's under saturation (queueing included), not comparable to the fixed-rate rows above.",
    'Per 1k req/s: CPU seconds × 1000 / requests answered (vCPU per 1000 req/s); peak RSS ÷ (req/s ÷ 1000), MB per 1000 req/s at that rate.',
    'nginx: plain HTTP/1.1 reverse proxy (no TLS), one worker, in a pod of its own like a waypoint; ambit: L4 only; ' +
      'waypoint: the ambit path plus `ambit waypoint` in a pod of its own (HBONE mTLS on both of its hops, each request parsed and routed). Ratios are of medians.',
  ];
}
