// Durations in Istio networking objects (VirtualService timeout/perTryTimeout/fixedDelay,
// DestinationRule connectTimeout/interval/baseEjectionTime, ...): google.protobuf.Duration, which
// istiod reads from YAML in Go's time.ParseDuration syntax (`10s`, `1.5s`, `5m`, `1h30m`, `250ms`).

/** Nanoseconds per unit, as Go's time package spells them. */
const UNIT_NS: Readonly<Record<string, number>> = { ns: 1, us: 1e3, 'µs': 1e3, 'μs': 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
const DURATION = /^(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+$/;
const PART = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/g;

/**
 * Milliseconds of a duration, rounded up to a whole millisecond (so 100µs is 1 ms, never 0 = off);
 * `0` alone is zero. undefined when the text is not a non-negative Go duration.
 */
export function parseIstioDuration(text: unknown): number | undefined {
  if (typeof text !== 'string') return undefined;
  if (text === '0') return 0;
  if (!DURATION.test(text)) return undefined;
  let ns = 0;
  for (const m of text.matchAll(PART)) ns += Number(m[1]) * (UNIT_NS[m[2] as string] as number);
  return Number.isFinite(ns) ? Math.ceil(ns / 1e6) : undefined;
}
