// Which upstream answers a route's retry policy retries (Envoy retry_on: retriable-status-codes,
// 5xx, gateway-error, and for gRPC unavailable / cancelled by grpc-status), table-driven.

import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { statusRetriable } from '../../src/waypoint/request-forwarder.js';
import type { RetryPolicy } from '../../src/waypoint/model/route-model.js';
import type { HeaderMap } from '../../src/waypoint/routing/index.js';

const policy = (retryOn: string[], codes: number[] = []): RetryPolicy => ({ attempts: 2, codes, retryOn, backoffMs: 25 });
const grpc = (status: string): HeaderMap => new Map([['grpc-status', [status]]]);
const none: HeaderMap = new Map();

const cases: Array<[string, number, HeaderMap, RetryPolicy, boolean]> = [
  ['a listed code', 409, none, policy([], [409]), true],
  ['an unlisted code', 410, none, policy([], [409]), false],
  ['5xx: any 5xx', 500, none, policy(['5xx']), true],
  ['5xx: not a 4xx', 429, none, policy(['5xx']), false],
  ['gateway-error: 502', 502, none, policy(['gateway-error']), true],
  ['gateway-error: 503', 503, none, policy(['gateway-error']), true],
  ['gateway-error: 504', 504, none, policy(['gateway-error']), true],
  ['gateway-error: not 500', 500, none, policy(['gateway-error']), false],
  ['connect-failure alone: no status retried', 503, none, policy(['connect-failure', 'reset']), false],
  ['unavailable: grpc-status 14', 200, grpc('14'), policy(['unavailable']), true],
  ['unavailable: not grpc-status 1', 200, grpc('1'), policy(['unavailable']), false],
  ['cancelled: grpc-status 1', 200, grpc('1'), policy(['cancelled']), true],
  ['cancelled: no grpc-status', 200, none, policy(['cancelled']), false],
  ['grpc-status 14 without unavailable', 200, grpc('14'), policy(['5xx', 'cancelled']), false],
];

for (const [name, status, headers, p, want] of cases) {
  test(`retry_on: ${name}`, () => assert.equal(statusRetriable(status, headers, p), want));
}
