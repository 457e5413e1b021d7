// Bodies of the 503/504 the waypoint makes when no upstream answered, as Envoy's router writes them
// (router.cc: sendNoHealthyUpstreamResponse, onResponseTimeout, onUpstreamReset), and Envoy's
// HTTP → gRPC status mapping of local replies.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { grpcStatusForHttp, upstreamFailureBody } from '../../src/waypoint/local-reply.js';

const RESET = 'upstream connect error or disconnect/reset before headers.';

const BODIES: Array<[flags: string, attempts: number, body: string]> = [
  ['UH', 0, 'no healthy upstream'],
  ['UH', 2, 'no healthy upstream'],
  ['UT', 1, 'upstream request timeout'],
  ['UT,URX', 3, 'upstream request timeout'],
  ['UO', 1, `${RESET} reset reason: overflow`],
  ['UF', 1, `${RESET} reset reason: remote connection failure`],
  ['UF,URX', 3, `${RESET} retried and the latest reset reason: remote connection failure`],
  ['UC', 1, `${RESET} reset reason: connection termination`],
  ['UC,UO', 2, `${RESET} retried and the latest reset reason: connection termination`],
];

for (const [flags, attempts, body] of BODIES) {
  test(`upstreamFailureBody(${flags}, ${attempts}) = ${body}`, () => {
    assert.equal(upstreamFailureBody(flags, attempts), body);
  });
}

test('grpcStatusForHttp: 503/504 ⇒ UNAVAILABLE, 404 ⇒ UNIMPLEMENTED, 403 ⇒ PERMISSION_DENIED, other ⇒ UNKNOWN', () => {
  assert.deepEqual([503, 504, 404, 403, 401, 400, 500].map(grpcStatusForHttp), [14, 14, 12, 7, 16, 13, 2]);
});
