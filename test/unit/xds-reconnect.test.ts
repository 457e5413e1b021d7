// ztunnel's xDS reconnect policy as a table: which stream ends double the backoff (10 ms ×2, capped
// at 15 s), which come back after 10 ms, which reconnect at once, and how each is counted.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isRotation, nextReconnect, XDS_INITIAL_BACKOFF_MS, XDS_MAX_BACKOFF_MS, type StreamEnd } from '../../src/xds/index.js';

const UNAVAILABLE = 14;

const cases: Array<[string, StreamEnd, number, { reason: string; delayMs: number; nextBackoffMs: number }]> = [
  ['connect failed: doubled and waited', { kind: 'connect-failed', detail: 'ECONNREFUSED' }, 10, { reason: 'ConnectionError', delayMs: 20, nextBackoffMs: 20 }],
  ['connect failed at the cap stays at 15 s', { kind: 'connect-failed', detail: 'x' }, 10_000, { reason: 'ConnectionError', delayMs: 15_000, nextBackoffMs: 15_000 }],
  ['Unknown: rotation', { kind: 'status', code: 2, details: '' }, 640, { reason: 'Reconnect', delayMs: 10, nextBackoffMs: 10 }],
  ['Cancelled: rotation', { kind: 'status', code: 1, details: '' }, 640, { reason: 'Reconnect', delayMs: 10, nextBackoffMs: 10 }],
  ['DeadlineExceeded: rotation', { kind: 'status', code: 4, details: '' }, 640, { reason: 'Reconnect', delayMs: 10, nextBackoffMs: 10 }],
  ['Unavailable "transport is closing": rotation', { kind: 'status', code: UNAVAILABLE, details: 'transport is closing' }, 640, { reason: 'Reconnect', delayMs: 10, nextBackoffMs: 10 }],
  ['Unavailable "received prior goaway": rotation', { kind: 'status', code: UNAVAILABLE, details: 'x: received prior goaway: code: NO_ERROR' }, 640, { reason: 'Reconnect', delayMs: 10, nextBackoffMs: 10 }],
  ['other Unavailable: an error, doubled', { kind: 'status', code: UNAVAILABLE, details: 'Connection dropped' }, 640, { reason: 'Error', delayMs: 1280, nextBackoffMs: 1280 }],
  ['PermissionDenied: an error, doubled', { kind: 'status', code: 7, details: 'no' }, 10, { reason: 'Error', delayMs: 20, nextBackoffMs: 20 }],
  ['a local error: at once, backoff reset', { kind: 'error', detail: 'write failed' }, 640, { reason: 'Error', delayMs: 0, nextBackoffMs: 10 }],
  ['a clean end: at once, backoff reset', { kind: 'complete' }, 640, { reason: 'Complete', delayMs: 0, nextBackoffMs: 10 }],
];

for (const [name, end, backoff, expected] of cases) {
  test(`reconnect: ${name}`, () => assert.deepEqual(nextReconnect(end, backoff), expected));
}

test('a control plane that stays away: 20, 40, 80 ms ... capped at 15 s', () => {
  assert.equal(XDS_INITIAL_BACKOFF_MS, 10);
  assert.equal(XDS_MAX_BACKOFF_MS, 15_000);
  const delays: number[] = [];
  let backoff = XDS_INITIAL_BACKOFF_MS;
  for (let i = 0; i < 12; i++) {
    const d = nextReconnect({ kind: 'connect-failed', detail: '' }, backoff);
    delays.push(d.delayMs);
    backoff = d.nextBackoffMs;
  }
  assert.deepEqual(delays, [20, 40, 80, 160, 320, 640, 1280, 2560, 5120, 10240, 15000, 15000]);
});

test('isRotation: only the listed Unavailable messages count', () => {
  assert.equal(isRotation(UNAVAILABLE, 'transport is closing'), true);
  assert.equal(isRotation(UNAVAILABLE, 'No connection established'), false);
  assert.equal(isRotation(0, ''), false);
});
