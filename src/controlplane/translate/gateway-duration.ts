// Gateway API durations (GEP-2257): `1h30m`, `500ms`, `0s`; up to four <number><unit> parts with
// units h, m, s, ms, no fractions. Used by HTTPRoute timeouts and retry backoff.

/** The GEP-2257 grammar, as the CRD's CEL/pattern validation writes it. */
const DURATION = /^([0-9]{1,5}(h|m|s|ms)){1,4}$/;
const PART = /([0-9]{1,5})(ms|h|m|s)/g;
const UNIT_MS: Readonly<Record<string, number>> = { h: 3_600_000, m: 60_000, s: 1_000, ms: 1 };

/** Milliseconds of a GEP-2257 duration; undefined when the text does not follow the grammar. */
export function parseGatewayDuration(text: string): number | undefined {
  if (!DURATION.test(text)) return undefined;
  let ms = 0;
  for (const m of text.matchAll(PART)) ms += Number(m[1]) * (UNIT_MS[m[2] as string] as number);
  return ms;
}
