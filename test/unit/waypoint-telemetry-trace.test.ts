// Unit tests for the waypoint's trace propagation: W3C traceparent/tracestate, B3 multi and
// single header, x-request-id; table-driven with a fixed id source, plus the random id formats.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseTraceparent, propagateTraceContext, RANDOM_IDS, type TraceIdSource } from '../../src/waypoint/telemetry/index.js';

const NEW_TRACE = '11111111111111111111111111111111';
const NEW_SPAN = '2222222222222222';
const FIXED: TraceIdSource = { traceId: () => NEW_TRACE, spanId: () => NEW_SPAN, requestId: () => 'generated-id' };

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT = '00f067aa0ba902b7';
const B3_TRACE = '80f198ee56343ba864fe8b2a57d3eff7';
const B3_SPAN = 'e457b5a2e4d86bd1';
const B3_PARENT = '05e3ac9a4f6e3b90';

interface Case {
  readonly name: string;
  readonly in: Record<string, string | string[]>;
  /** Headers after propagation (exactly; absent names must be absent). */
  readonly out: Record<string, string | string[]>;
  readonly traceId: string;
  readonly parentSpanId: string | undefined;
  readonly sampled: boolean;
  readonly newTrace: boolean;
}

const fresh = (flags = '00') => `00-${NEW_TRACE}-${NEW_SPAN}-${flags}`;

const CASES: Case[] = [
  {
    name: 'no headers: new trace, unsampled, request id generated',
    in: {},
    out: { 'x-request-id': 'generated-id', traceparent: fresh() },
    traceId: NEW_TRACE, parentSpanId: undefined, sampled: false, newTrace: true,
  },
  {
    name: 'valid traceparent: trace id and flags kept, new parent-id, tracestate untouched',
    in: { 'x-request-id': 'abc', traceparent: `00-${TRACE}-${PARENT}-01`, tracestate: 'congo=t61rcWkgMzE,rojo=00f067aa0ba902b7' },
    out: { 'x-request-id': 'abc', traceparent: `00-${TRACE}-${NEW_SPAN}-01`, tracestate: 'congo=t61rcWkgMzE,rojo=00f067aa0ba902b7' },
    traceId: TRACE, parentSpanId: PARENT, sampled: true, newTrace: false,
  },
  {
    name: 'valid traceparent, not sampled: flags 00 kept',
    in: { traceparent: `00-${TRACE}-${PARENT}-00` },
    out: { 'x-request-id': 'generated-id', traceparent: `00-${TRACE}-${NEW_SPAN}-00` },
    traceId: TRACE, parentSpanId: PARENT, sampled: false, newTrace: false,
  },
  {
    name: 'higher version with extra field: parsed as 00, written as 00',
    in: { traceparent: `01-${TRACE}-${PARENT}-01-future` },
    out: { 'x-request-id': 'generated-id', traceparent: `00-${TRACE}-${NEW_SPAN}-01` },
    traceId: TRACE, parentSpanId: PARENT, sampled: true, newTrace: false,
  },
  ...[
    ['upper-case hex', `00-${TRACE.toUpperCase()}-${PARENT}-01`],
    ['all-zero trace id', `00-${'0'.repeat(32)}-${PARENT}-01`],
    ['all-zero parent id', `00-${TRACE}-${'0'.repeat(16)}-01`],
    ['version ff', `ff-${TRACE}-${PARENT}-01`],
    ['version 00 with a fifth field', `00-${TRACE}-${PARENT}-01-extra`],
    ['short trace id', `00-${TRACE.slice(1)}-${PARENT}-01`],
    ['garbage', 'not-a-traceparent'],
  ].map(([what, tp]): Case => ({
    name: `invalid traceparent (${what}): new trace, tracestate dropped`,
    in: { traceparent: tp!, tracestate: 'congo=t61rcWkgMzE' },
    out: { 'x-request-id': 'generated-id', traceparent: fresh() },
    traceId: NEW_TRACE, parentSpanId: undefined, sampled: false, newTrace: true,
  })),
  {
    name: 'two traceparent headers: invalid, new trace',
    in: { traceparent: [`00-${TRACE}-${PARENT}-01`, `00-${TRACE}-${PARENT}-01`] },
    out: { 'x-request-id': 'generated-id', traceparent: fresh() },
    traceId: NEW_TRACE, parentSpanId: undefined, sampled: false, newTrace: true,
  },
  {
    name: 'B3 multi: trace kept, new span, parent = incoming span, sampled kept; traceparent joins the B3 trace',
    in: { 'x-b3-traceid': B3_TRACE, 'x-b3-spanid': B3_SPAN, 'x-b3-parentspanid': B3_PARENT, 'x-b3-sampled': '1' },
    out: {
      'x-request-id': 'generated-id',
      'x-b3-traceid': B3_TRACE, 'x-b3-spanid': NEW_SPAN, 'x-b3-parentspanid': B3_SPAN, 'x-b3-sampled': '1',
      traceparent: `00-${B3_TRACE}-${NEW_SPAN}-01`,
    },
    traceId: B3_TRACE, parentSpanId: B3_SPAN, sampled: true, newTrace: false,
  },
  {
    name: 'B3 multi, 64-bit trace id, no span id: traceparent gets it left-padded, stale parent removed',
    in: { 'x-b3-traceid': 'a3ce929d0e0e4736', 'x-b3-parentspanid': B3_PARENT, 'x-b3-sampled': '0' },
    out: { 'x-request-id': 'generated-id', 'x-b3-traceid': 'a3ce929d0e0e4736', 'x-b3-spanid': NEW_SPAN, 'x-b3-sampled': '0', traceparent: `00-0000000000000000a3ce929d0e0e4736-${NEW_SPAN}-00` },
    traceId: '0000000000000000a3ce929d0e0e4736', parentSpanId: undefined, sampled: false, newTrace: false,
  },
  {
    name: 'B3 debug flag: new traceparent sampled',
    in: { 'x-b3-traceid': B3_TRACE, 'x-b3-spanid': B3_SPAN, 'x-b3-flags': '1' },
    out: { 'x-request-id': 'generated-id', 'x-b3-traceid': B3_TRACE, 'x-b3-spanid': NEW_SPAN, 'x-b3-parentspanid': B3_SPAN, 'x-b3-flags': '1', traceparent: `00-${B3_TRACE}-${NEW_SPAN}-01` },
    traceId: B3_TRACE, parentSpanId: B3_SPAN, sampled: true, newTrace: false,
  },
  {
    name: 'invalid x-b3-traceid: B3 headers left as they are, new trace',
    in: { 'x-b3-traceid': 'xyz', 'x-b3-spanid': B3_SPAN },
    out: { 'x-request-id': 'generated-id', 'x-b3-traceid': 'xyz', 'x-b3-spanid': B3_SPAN, traceparent: fresh() },
    traceId: NEW_TRACE, parentSpanId: undefined, sampled: false, newTrace: true,
  },
  {
    name: 'traceparent and B3 both present: each format keeps its own trace, one new span',
    in: { traceparent: `00-${TRACE}-${PARENT}-01`, 'x-b3-traceid': B3_TRACE, 'x-b3-spanid': B3_SPAN, 'x-b3-sampled': '1' },
    out: { 'x-request-id': 'generated-id', traceparent: `00-${TRACE}-${NEW_SPAN}-01`, 'x-b3-traceid': B3_TRACE, 'x-b3-spanid': NEW_SPAN, 'x-b3-parentspanid': B3_SPAN, 'x-b3-sampled': '1' },
    traceId: TRACE, parentSpanId: PARENT, sampled: true, newTrace: false,
  },
  {
    name: 'b3 single, all four fields: new span, incoming span becomes the parent',
    in: { b3: `${B3_TRACE}-${B3_SPAN}-1-${B3_PARENT}` },
    out: { 'x-request-id': 'generated-id', b3: `${B3_TRACE}-${NEW_SPAN}-1-${B3_SPAN}`, traceparent: `00-${B3_TRACE}-${NEW_SPAN}-01` },
    traceId: B3_TRACE, parentSpanId: B3_SPAN, sampled: true, newTrace: false,
  },
  {
    name: 'b3 single, trace and span only: no sampling state, so no parent field',
    in: { b3: `${B3_TRACE}-${B3_SPAN}` },
    out: { 'x-request-id': 'generated-id', b3: `${B3_TRACE}-${NEW_SPAN}`, traceparent: `00-${B3_TRACE}-${NEW_SPAN}-00` },
    traceId: B3_TRACE, parentSpanId: B3_SPAN, sampled: false, newTrace: false,
  },
  {
    name: 'b3 single, sampling state only: kept, new trace',
    in: { b3: '0' },
    out: { 'x-request-id': 'generated-id', b3: '0', traceparent: fresh() },
    traceId: NEW_TRACE, parentSpanId: undefined, sampled: false, newTrace: true,
  },
  {
    name: 'b3 single, malformed: kept, new trace',
    in: { b3: `${B3_TRACE}-nothex-1` },
    out: { 'x-request-id': 'generated-id', b3: `${B3_TRACE}-nothex-1`, traceparent: fresh() },
    traceId: NEW_TRACE, parentSpanId: undefined, sampled: false, newTrace: true,
  },
  {
    name: 'empty x-request-id: replaced',
    in: { 'x-request-id': '' },
    out: { 'x-request-id': 'generated-id', traceparent: fresh() },
    traceId: NEW_TRACE, parentSpanId: undefined, sampled: false, newTrace: true,
  },
];

function headerMap(h: Record<string, string | string[]>): Map<string, string[]> {
  return new Map(Object.entries(h).map(([k, v]) => [k, Array.isArray(v) ? [...v] : [v]]));
}

for (const c of CASES) {
  test(`trace propagation: ${c.name}`, () => {
    const headers = headerMap(c.in);
    const ctx = propagateTraceContext(headers, FIXED);
    assert.deepEqual(Object.fromEntries(headers), Object.fromEntries(headerMap(c.out)));
    assert.equal(ctx.traceId, c.traceId);
    assert.equal(ctx.spanId, NEW_SPAN);
    assert.equal(ctx.parentSpanId, c.parentSpanId);
    assert.equal(ctx.sampled, c.sampled);
    assert.equal(ctx.newTrace, c.newTrace);
    assert.equal(ctx.requestId, headers.get('x-request-id')![0]);
  });
}

test('parseTraceparent: valid and invalid values never throw', () => {
  assert.deepEqual(parseTraceparent(`00-${TRACE}-${PARENT}-01`), { traceId: TRACE, parentId: PARENT, flags: '01' });
  for (const bad of ['', '-', '00', `00-${TRACE}-${PARENT}`, `00-${TRACE}-${PARENT}-1`, `00-${TRACE}-${PARENT}-0g`, `0-${TRACE}-${PARENT}-01`]) {
    assert.equal(parseTraceparent(bad), undefined, bad);
  }
});

test('random ids: W3C-valid traceparent, distinct span ids, UUID v4 request ids', () => {
  const spans = new Set<string>();
  const requestIds = new Set<string>();
  // More than one 4 KiB pool refill's worth of span ids.
  for (let i = 0; i < 1200; i++) {
    const headers = new Map<string, string[]>();
    const ctx = propagateTraceContext(headers, RANDOM_IDS);
    const tp = headers.get('traceparent')![0]!;
    assert.match(tp, /^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
    assert.notEqual(parseTraceparent(tp), undefined);
    assert.equal(tp, `00-${ctx.traceId}-${ctx.spanId}-00`);
    assert.match(ctx.requestId, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    spans.add(ctx.spanId);
    requestIds.add(ctx.requestId);
  }
  assert.equal(spans.size, 1200);
  assert.equal(requestIds.size, 1200);
});
