// grpc-timeout at the waypoint: the header's grammar (gRPC PROTOCOL-HTTP2: 1–8 digits and a unit,
// malformed ⇒ ignored) and how it combines with the route timeout (Envoy max_grpc_timeout).

import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { formatGrpcTimeout, grpcRouteTimeoutMs, parseGrpcTimeout } from '../../src/waypoint/grpc-timeout.js';

describe('parseGrpcTimeout', () => {
  const cases: Array<[string | undefined, number | undefined]> = [
    ['1H', 3_600_000], ['2M', 120_000], ['3S', 3000], ['250m', 250], ['1500u', 1], ['2500000n', 2], ['1n', 1],
    ['0S', 0], ['99999999m', 99_999_999],
    [undefined, undefined], ['', undefined], ['100', undefined], ['m', undefined], ['123456789m', undefined],
    ['1.5S', undefined], ['-1S', undefined], [' 1S', undefined], ['1s', undefined], ['1SS', undefined],
  ];
  for (const [input, want] of cases) it(`${JSON.stringify(input)} ⇒ ${want}`, () => assert.equal(parseGrpcTimeout(input), want));
});

describe('grpcRouteTimeoutMs', () => {
  const cases: Array<[number, string | undefined, number, string]> = [
    [0, undefined, 0, 'neither: no timeout'],
    [1000, undefined, 1000, 'no header: the route timeout'],
    [0, '500m', 500, 'no route timeout: the header, uncapped'],
    [1000, '500m', 500, 'the shorter header'],
    [1000, '5S', 1000, 'capped by the route timeout'],
    [1000, '0S', 1000, '0 is infinite: the route timeout'],
    [1000, 'bad', 1000, 'malformed: ignored'],
  ];
  for (const [route, header, want, name] of cases) it(name, () => assert.equal(grpcRouteTimeoutMs(route, header), want));
});

describe('formatGrpcTimeout', () => {
  for (const [ms, want] of [[400, '400m'], [99_999_999, '99999999m'], [100_000_000, '100000S']] as const) {
    it(`${ms} ms ⇒ ${want}`, () => assert.equal(formatGrpcTimeout(ms), want));
  }
});
