// Request id and trace propagation through the waypoint: W3C trace-context (traceparent,
// tracestate) and Zipkin B3 (multi- and single-header), rewritten for the next hop in place.

import { randomFillSync, randomUUID } from 'node:crypto';

/** Where new ids come from; tests pass a fixed source to assert exact headers. */
export interface TraceIdSource {
  /** 32 lower-case hex digits, not all zero. */
  traceId(): string;
  /** 16 lower-case hex digits, not all zero. */
  spanId(): string;
  /** An x-request-id for a request that has none (UUID v4, as Envoy generates). */
  requestId(): string;
}

/** What the waypoint's span is, after propagation. */
export interface TraceContext {
  readonly requestId: string;
  /** The W3C trace id written to traceparent (32 hex). */
  readonly traceId: string;
  /** The waypoint's span: the parent-id the next hop sees (16 hex). */
  readonly spanId: string;
  /** The span id the request arrived with (traceparent, else B3), when there was one. */
  readonly parentSpanId: string | undefined;
  readonly sampled: boolean;
  /** True when no usable incoming trace id existed and this hop started the trace. */
  readonly newTrace: boolean;
}

type Headers = Map<string, string[]>;

const HEX32 = /^[0-9a-f]{32}$/;
const HEX16 = /^[0-9a-f]{16}$/;
const ZERO32 = '0'.repeat(32);
const ZERO16 = '0'.repeat(16);
// version-traceid-parentid-flags, then (only for versions above 00) more fields after a '-'.
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;

interface Traceparent {
  readonly traceId: string;
  readonly parentId: string;
  readonly flags: string;
}

/**
 * Parses a traceparent per W3C Trace Context §3.2: version `ff` is invalid; version 00 has exactly
 * four fields; a higher version may carry more after a '-' (parsed as 00, §3.2.4); trace and
 * parent ids must not be all zero; hex is lower case only. Anything else is undefined (never throws).
 */
export function parseTraceparent(value: string): Traceparent | undefined {
  const m = TRACEPARENT.exec(value);
  if (m === null) return undefined;
  const [, version, traceId, parentId, flags, rest] = m as unknown as [string, string, string, string, string, string | undefined];
  if (version === 'ff') return undefined;
  if (version === '00' && rest !== undefined) return undefined;
  if (traceId === ZERO32 || parentId === ZERO16) return undefined;
  return { traceId, parentId, flags };
}

/** The one value of a header; a repeated or empty header counts as absent. */
function single(headers: Headers, name: string): string | undefined {
  const v = headers.get(name);
  if (v === undefined || v.length !== 1) return undefined;
  const s = v[0]!.trim();
  return s === '' ? undefined : s;
}

/** A B3 trace id (64 or 128 bit, hex) as 32 hex digits: 64-bit ids are left-padded (OpenTelemetry's B3 propagator). */
function b3TraceId(s: string | undefined): string | undefined {
  if (s === undefined) return undefined;
  const t = s.toLowerCase();
  if (HEX32.test(t)) return t === ZERO32 ? undefined : t;
  if (HEX16.test(t)) return t === ZERO16 ? undefined : `${ZERO16}${t}`;
  return undefined;
}

function b3SpanId(s: string | undefined): string | undefined {
  if (s === undefined) return undefined;
  const t = s.toLowerCase();
  return HEX16.test(t) && t !== ZERO16 ? t : undefined;
}

/** B3 sampling state: '1'/'true' sampled, 'd' debug (implies sampled), '0'/'false' not; else undecided. */
function b3Sampled(s: string | undefined): boolean | undefined {
  if (s === undefined) return undefined;
  const t = s.toLowerCase();
  if (t === '1' || t === 'true' || t === 'd') return true;
  if (t === '0' || t === 'false') return false;
  return undefined;
}

interface B3Single {
  readonly traceId: string;
  /** As received (16 or 32 hex), written back unchanged. */
  readonly rawTraceId: string;
  readonly spanId: string;
  readonly sampling: string | undefined;
}

/** `b3: {TraceId}-{SpanId}[-{SamplingState}[-{ParentSpanId}]]`; a bare sampling state is not a context. */
function parseB3Single(value: string | undefined): B3Single | undefined {
  if (value === undefined) return undefined;
  const parts = value.split('-');
  if (parts.length < 2 || parts.length > 4) return undefined;
  const traceId = b3TraceId(parts[0]);
  const spanId = b3SpanId(parts[1]);
  if (traceId === undefined || spanId === undefined) return undefined;
  const sampling = parts[2];
  if (sampling !== undefined && b3Sampled(sampling) === undefined) return undefined;
  if (parts[3] !== undefined && b3SpanId(parts[3]) === undefined) return undefined;
  return { traceId, rawTraceId: parts[0]!.toLowerCase(), spanId, sampling };
}

/**
 * Rewrites the trace headers of a request for its next hop and returns the waypoint's span.
 *
 * - x-request-id: kept when present (first non-empty value), else a new UUID v4 is set.
 * - traceparent valid: same trace id and flags, parent-id = a new span id; tracestate untouched.
 *   Absent or invalid: a new trace (random ids), tracestate dropped (it described another trace,
 *   W3C §3.3.1). The trace id then comes from B3 when B3 carries one, so both formats name one
 *   trace. Flags of a new trace: 01 only if B3 says sampled, else 00. Istio samples 1% by default,
 *   but that decision belongs to a tracer that exports spans; the waypoint exports none, so it never
 *   claims a sample (the node agent's CONNECT traceparent makes the same choice).
 * - B3 multi (x-b3-traceid valid): trace id kept, x-b3-spanid = the new span, x-b3-parentspanid =
 *   the incoming x-b3-spanid (removed if there was none), x-b3-sampled / x-b3-flags kept.
 * - B3 single (`b3`): rewritten the same way; a sampling-only value (`0`, `1`, `d`) is kept.
 * - Invalid B3 headers are left as they are. Nothing here throws on header content.
 *
 * The same new span id is used for every format: it is one span, the waypoint's.
 */
export function propagateTraceContext(headers: Headers, ids: TraceIdSource = RANDOM_IDS): TraceContext {
  let requestId = headers.get('x-request-id')?.find((v) => v !== '');
  if (requestId === undefined) {
    requestId = ids.requestId();
    headers.set('x-request-id', [requestId]);
  }
  const spanId = ids.spanId();

  const b3Trace = b3TraceId(single(headers, 'x-b3-traceid'));
  const b3Span = b3Trace === undefined ? undefined : b3SpanId(single(headers, 'x-b3-spanid'));
  const b3 = parseB3Single(single(headers, 'b3'));
  const b3SampledState =
    single(headers, 'x-b3-flags') === '1' ? true : (b3Sampled(single(headers, 'x-b3-sampled')) ?? b3Sampled(b3?.sampling));

  const incoming = parseTraceparent(single(headers, 'traceparent') ?? '');
  let traceId: string;
  let flags: string;
  let parentSpanId: string | undefined;
  if (incoming !== undefined) {
    traceId = incoming.traceId;
    flags = incoming.flags;
    parentSpanId = incoming.parentId;
  } else {
    traceId = b3Trace ?? b3?.traceId ?? ids.traceId();
    flags = b3SampledState === true ? '01' : '00';
    parentSpanId = b3Span ?? b3?.spanId;
    headers.delete('tracestate');
  }
  headers.set('traceparent', [`00-${traceId}-${spanId}-${flags}`]);

  if (b3Trace !== undefined) {
    headers.set('x-b3-spanid', [spanId]);
    if (b3Span !== undefined) headers.set('x-b3-parentspanid', [b3Span]);
    else headers.delete('x-b3-parentspanid');
  }
  if (b3 !== undefined) {
    headers.set('b3', [b3.sampling === undefined ? `${b3.rawTraceId}-${spanId}` : `${b3.rawTraceId}-${spanId}-${b3.sampling}-${b3.spanId}`]);
  }
  // The sampled bit of the W3C flags (bit 0) is what the next hop honours.
  const sampled = (parseInt(flags, 16) & 1) === 1;
  return { requestId, traceId, spanId, parentSpanId, sampled, newTrace: incoming === undefined && b3Trace === undefined && b3 === undefined };
}

// Random ids come from one pooled buffer refilled 4 KiB at a time: a request needs 8 bytes
// (a span id) and crypto's per-call overhead would dominate at that size.
const POOL_BYTES = 4096;
const pool = Buffer.allocUnsafe(POOL_BYTES);
let poolAt = POOL_BYTES;

function randomHex(bytes: number, zero: string): string {
  for (;;) {
    if (poolAt + bytes > POOL_BYTES) {
      randomFillSync(pool);
      poolAt = 0;
    }
    const s = pool.toString('hex', poolAt, poolAt + bytes);
    poolAt += bytes;
    // All-zero ids are invalid in both formats; the odds are 2^-64 at worst, draw again.
    if (s !== zero) return s;
  }
}

/** The production id source: CSPRNG ids, UUID v4 request ids. */
export const RANDOM_IDS: TraceIdSource = Object.freeze({
  traceId: () => randomHex(16, ZERO32),
  spanId: () => randomHex(8, ZERO16),
  requestId: () => randomUUID(),
});
