// Waypoint request-path rules, table-driven: HTTP/1.1 upstream framing (h1RequestHeaders), the
// trailer fields never forwarded (forwardableTrailers), HTTP/2 request fields and the HTTP/1.1
// Host rule (request-validation), and the GOAWAY frame watch of h2 tunnels (split frames too).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { forwardableTrailers } from '../../src/waypoint/header-map.js';
import { watchGoaway } from '../../src/waypoint/h2-goaway-watch.js';
import { h1HostProblem, h2RequestProblem } from '../../src/waypoint/request-validation.js';
import { h1RequestHeaders } from '../../src/waypoint/upstream-exchange.js';
import { clientErrorReason } from '../../src/waypoint/bad-request-counter.js';

const map = (o: Record<string, string | string[]>): Map<string, string[]> => new Map(Object.entries(o).map(([k, v]) => [k, Array.isArray(v) ? v : [v]]));

test('h1RequestHeaders: a body of unknown length is chunked whatever the method; a known length kept', () => {
  const rows: Array<[string, Record<string, string>, boolean, Record<string, string>]> = [
    ['GET with a body, no length', { host: 'a' }, true, { host: 'a', 'transfer-encoding': 'chunked' }],
    ['DELETE with a body, no length', { host: 'a' }, true, { host: 'a', 'transfer-encoding': 'chunked' }],
    ['POST with a length', { host: 'a', 'content-length': '5' }, true, { host: 'a', 'content-length': '5' }],
    ['no body', { host: 'a' }, false, { host: 'a' }],
    ['no body, length 0 kept', { host: 'a', 'content-length': '0' }, false, { host: 'a', 'content-length': '0' }],
  ];
  for (const [name, headers, body, want] of rows) assert.deepEqual(h1RequestHeaders(map(headers), body), want, name);
});

test('forwardableTrailers: framing, routing, hop-by-hop and named-by-Connection fields dropped', () => {
  const t = forwardableTrailers(map({
    'x-sum': 's', 'grpc-status': '0', connection: 'close, x-private', 'x-private': 'p', host: 'evil', 'content-length': '5',
    'transfer-encoding': 'chunked', te: 'trailers', trailer: 'x', 'keep-alive': '1', authorization: 'a', 'set-cookie': 'c', ':status': '200',
  }));
  assert.deepEqual([...t.keys()].sort(), ['grpc-status', 'x-sum']);
});

test('h2RequestProblem: RFC 9113 §8.2 field rules', () => {
  const rows: Array<[string, string[], boolean]> = [
    ['plain', [':method', 'GET', ':path', '/', 'x-a', 'b'], false],
    ['upper-case name', ['X-A', 'b'], true],
    ['space in name', ['x a', 'b'], true],
    ['connection-specific', ['connection', 'close'], true],
    ['keep-alive', ['keep-alive', '1'], true],
    ['transfer-encoding', ['transfer-encoding', 'chunked'], true],
    ['te trailers', ['te', 'trailers'], false],
    ['te gzip', ['te', 'gzip'], true],
    ['NUL in value', ['x-a', 'a\0b'], true],
    ['CR in value', ['x-a', 'a\rb'], true],
    ['leading space', ['x-a', ' b'], true],
    ['trailing tab', ['x-a', 'b\t'], true],
    ['empty value', ['x-a', ''], false],
    ['inner space', ['x-a', 'a b'], false],
  ];
  for (const [name, raw, bad] of rows) assert.equal(h2RequestProblem(raw) !== undefined, bad, name);
});

test('h1HostProblem: exactly one valid Host for HTTP/1.1 (RFC 9112 §3.2)', () => {
  const rows: Array<[string, string, string[], boolean]> = [
    ['one', '1.1', ['Host', 'reviews'], false],
    ['with port', '1.1', ['host', 'reviews.default:8080'], false],
    ['IPv6 literal', '1.1', ['Host', '[fd00::1]:80'], false],
    ['IPv4', '1.1', ['Host', '10.0.0.1'], false],
    ['empty (allowed by the grammar)', '1.1', ['Host', ''], false],
    ['missing', '1.1', ['X', 'y'], true],
    ['missing, HTTP/1.0', '1.0', [], false],
    ['two', '1.1', ['Host', 'a', 'host', 'b'], true],
    ['two equal', '1.1', ['Host', 'a', 'Host', 'a'], true],
    ['space', '1.1', ['Host', 'a b'], true],
    ['slash', '1.1', ['Host', 'a/b'], true],
    ['bad port', '1.1', ['Host', 'a:8x'], true],
  ];
  for (const [name, version, raw, bad] of rows) assert.equal(h1HostProblem(version, raw) !== undefined, bad, name);
});

test('clientErrorReason: parser errors named, socket errors not counted', () => {
  const rows: Array<[string | undefined, string | undefined]> = [
    ['HPE_INVALID_METHOD', 'invalid_method'],
    ['HPE_HEADER_OVERFLOW', 'header_overflow'],
    ['HPE_UNEXPECTED_CONTENT_LENGTH', 'unexpected_content_length'],
    ['ERR_HTTP_REQUEST_TIMEOUT', 'headers_timeout'],
    ['ECONNRESET', undefined],
    [undefined, undefined],
  ];
  for (const [code, want] of rows) assert.equal(clientErrorReason(Object.assign(new Error('x'), { code })), want, String(code));
});

/** Frame bytes: 9-byte header + payload. */
function frame(type: number, payload: Buffer, stream = 0): Buffer {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type;
  h.writeUInt32BE(stream, 5);
  return Buffer.concat([h, payload]);
}
const goaway = (code: number): Buffer => {
  const p = Buffer.alloc(8 + 3);
  p.writeUInt32BE(7, 0);
  p.writeUInt32BE(code, 4);
  p.write('dbg', 8);
  return frame(7, p);
};

test('watchGoaway: a GOAWAY with an error code is seen however the frames are cut; NO_ERROR and DATA look-alikes are not', () => {
  const settings = frame(4, Buffer.alloc(6));
  // A DATA frame whose payload looks like a GOAWAY header must not fire.
  const data = frame(0, Buffer.concat([goaway(1), Buffer.alloc(3)]), 1);
  const rows: Array<[string, Buffer, number | undefined]> = [
    ['protocol error', Buffer.concat([settings, data, goaway(1)]), 1],
    ['frame size error', Buffer.concat([settings, goaway(6)]), 6],
    ['graceful', Buffer.concat([settings, goaway(0)]), undefined],
    ['data only', Buffer.concat([settings, data]), undefined],
  ];
  for (const [name, bytes, want] of rows) {
    for (const step of [bytes.length, 1, 2, 5, 9, 10]) {
      const s = new PassThrough();
      s.resume();
      const seen: number[] = [];
      watchGoaway(s, (code) => seen.push(code));
      for (let i = 0; i < bytes.length; i += step) s.write(bytes.subarray(i, i + step));
      assert.deepEqual(seen, want === undefined ? [] : [want], `${name}, chunks of ${step}`);
    }
  }
});
