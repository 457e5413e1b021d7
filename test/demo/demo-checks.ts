// The waypoint demo's own assertions: every scenario checks what it shows, so a wrong behaviour
// stops the demo with the expectation and what was seen (and its CI smoke test fails).

/** A scenario did not behave as the tutorial says. */
export class DemoCheckError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DemoCheckError';
  }
}

export function expect(ok: boolean, what: string, seen: string): void {
  if (!ok) throw new DemoCheckError(`expected ${what}; saw ${seen}`);
}

/**
 * `count` of `n` draws with probability `share` (0..1): within 4.5 standard deviations (+1 for
 * rounding) of n·share, and never 0 or n unless the share is. A correct split fails this about
 * once in 10^5 runs; a wrong one (90/10 served as 50/50, a weight ignored) fails it every time at
 * the demo's counts.
 */
export function withinShare(count: number, n: number, share: number): boolean {
  if (share <= 0) return count === 0;
  if (share >= 1) return count === n;
  if (count === 0 || count === n) return false;
  const sd = Math.sqrt(n * share * (1 - share));
  return Math.abs(count - n * share) <= 4.5 * sd + 1;
}

export function expectShare(count: number, n: number, share: number, what: string): void {
  expect(withinShare(count, n, share), `${what} ≈ ${Math.round(share * 100)}% of ${n}`, `${count}`);
}
