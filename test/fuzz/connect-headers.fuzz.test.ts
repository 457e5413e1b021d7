// Fuzz: CONNECT header validation. (1) connectHeaderProblem on random field lists against a
// reference written from the RFC text (RFC 9113 §8.2.1, §8.2.2, §8.3, §8.3.1, §8.5; RFC 9110
// §7.2), never throwing; (2) fewer cases as raw HPACK through a real mTLS HTTP/2 session to HboneServer: a
// request is answered 200, 400 + END_STREAM, or RST_STREAM PROTOCOL_ERROR; what reaches the
// handler is always well-formed; a 400 is only for a malformed request; the session stays usable.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { connectHeaderProblem, headerFieldsOf, type HeaderField } from '../../src/hbone/index.js';
import { fuzz } from '../helpers/fuzz.js';
import { SERVER_ID, startRig } from '../helpers/hbone-fixture.js';
import { hboneClientTls } from '../helpers/hbone-tls.js';
import { rawHeaderClient, type RawField, type RawHeaderClient } from '../helpers/h2-raw-headers.js';

// ---- reference: the rules, restated character by character ----

/** RFC 9110 §5.6.2 tchar, minus upper case (RFC 9113 §8.2.1). */
const TCHAR_LOWER = new Set([...'!#$%&\'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyz'].map((c) => c.charCodeAt(0)));
const PSEUDO = [':method', ':scheme', ':authority', ':path'];
const CONNECTION = ['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade'];

function referenceMalformed(fields: readonly HeaderField[]): boolean {
  const pseudo = new Map<string, string>();
  let host: string | undefined;
  for (const [name, value] of fields) {
    if (name.length === 0) return true;
    if (name[0] === ':') {
      if (!PSEUDO.includes(name) || pseudo.has(name)) return true;
      pseudo.set(name, value);
    } else {
      for (let i = 0; i < name.length; i++) if (!TCHAR_LOWER.has(name.charCodeAt(i))) return true;
      if (CONNECTION.includes(name)) return true;
      if (name === 'te' && value.split(',').some((t) => t.trim().toLowerCase() !== 'trailers')) return true;
      if (name === 'host') {
        if (host !== undefined) return true;
        host = value;
      }
    }
    for (let i = 0; i < value.length; i++) {
      const c = value.charCodeAt(i);
      if (c === 0x00 || c === 0x0a || c === 0x0d) return true;
    }
    const edge = (c: number | undefined): boolean => c === 0x20 || c === 0x09;
    if (value.length > 0 && (edge(value.charCodeAt(0)) || edge(value.charCodeAt(value.length - 1)))) return true;
  }
  if (pseudo.get(':method') === 'CONNECT' && (pseudo.has(':scheme') || pseudo.has(':path'))) return true;
  const authority = pseudo.get(':authority');
  return host !== undefined && authority !== undefined && host.toLowerCase() !== authority.toLowerCase();
}

// ---- generators, biased towards the rules' edges ----

const latin1 = (max: number): fc.Arbitrary<string> => fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: max }).map((a) => String.fromCharCode(...a));
const tokenName = fc.stringMatching(/^[a-z0-9-]{1,12}$/);
const name = fc.oneof(
  { weight: 6, arbitrary: tokenName },
  { weight: 2, arbitrary: fc.constantFrom(...CONNECTION, 'te', 'host', 'baggage', 'forwarded', 'traceparent') },
  { weight: 2, arbitrary: fc.constantFrom(...PSEUDO, ':protocol', ':status', ':') },
  { weight: 1, arbitrary: fc.constantFrom('', 'X-Upper', 'a b', 'a:b', 'caf\u00e9', 'x\u0000', 'x\t') },
  { weight: 1, arbitrary: latin1(10) },
);
const value = fc.oneof(
  { weight: 6, arbitrary: fc.stringMatching(/^[!-~]([ -~]{0,18}[!-~])?$/) },
  { weight: 2, arbitrary: fc.constantFrom('trailers', 'Trailers', 'trailers, trailers', 'gzip', 'trailers, gzip', 'CONNECT', 'GET', '10.0.0.1:8080', '') },
  { weight: 2, arbitrary: fc.tuple(fc.stringMatching(/^[a-z]{0,4}$/), fc.constantFrom('\r', '\n', '\0', ' ', '\t', '\x01', '\x7f'), fc.stringMatching(/^[a-z]{0,4}$/)).map(([a, c, b]) => a + c + b) },
  { weight: 1, arbitrary: latin1(24) },
);
const field = fc.tuple(name, value) as fc.Arbitrary<HeaderField>;
const BASE: HeaderField[] = [[':method', 'CONNECT'], [':authority', '10.0.0.1:8080']];
/** A valid-looking CONNECT with extra fields, sometimes shuffled, sometimes without the base. */
const request = fc
  .tuple(fc.array(field, { maxLength: 5 }), fc.boolean(), fc.boolean())
  .map(([extra, withBase, shuffle]) => {
    const all = [...(withBase ? BASE : []), ...extra];
    return shuffle ? [...all].reverse() : all;
  });

test('fuzz: connectHeaderProblem agrees with the RFC reference and never throws', async () => {
  await fuzz(
    'connect headers (pure)',
    fc.property(request, (fields) => {
      const problem = connectHeaderProblem(fields);
      assert.equal(problem !== undefined, referenceMalformed(fields), `verdict ${JSON.stringify(problem)} for ${JSON.stringify(fields)}`);
      if (problem !== undefined) assert.ok(problem.length < 200, 'bounded message');
    }),
    2000,
  );
});

test('fuzz: headerFieldsOf flattens any decoded header object without throwing', async () => {
  const headerObject = fc.dictionary(name, fc.oneof(value, fc.array(value, { maxLength: 3 }), fc.integer()), { maxKeys: 6 });
  await fuzz(
    'header fields of',
    fc.property(headerObject, (obj) => {
      const fields = headerFieldsOf(obj as never);
      const expected = Object.values(obj).reduce<number>((n, v) => n + (Array.isArray(v) ? v.length : 1), 0);
      assert.equal(fields.length, expected);
      connectHeaderProblem(fields);
    }),
    300,
  );
});

const NGHTTP2_PROTOCOL_ERROR = 1;
/** Requests for the session property: half carry a `host`, equal to :authority or not, the one
 * rule the stack passes through to our check (RFC 9113 §8.3.1). */
const sessionRequest = fc
  .tuple(request, fc.option(fc.constantFrom('10.0.0.1:8080', '10.0.0.1:8080 ', 'evil.example:80', '10.0.0.2:8080'), { nil: undefined }))
  .map(([fields, host]) => (host === undefined ? fields : [...fields, ['host', host] as HeaderField]));

/**
 * Cases per client session. Each request nghttp2 resets as malformed counts toward its stream-reset
 * rate limit (the rapid-reset guard: about 1000 resets in a burst, refilled over time, then GOAWAY
 * INTERNAL_ERROR for the session): a bound on abuse, not a property under test, so sessions
 * rotate well before it (FUZZ_RUNS_SCALE can run thousands of cases in a few seconds).
 */
const CASES_PER_SESSION = 300;

test('fuzz: raw HPACK requests through a real HTTP/2 session to HboneServer', async (t) => {
  const rig = await startRig();
  rig.handler = (req) => req.stream.respond({ ':status': 200 }, { endStream: true });
  const connectClient = (): Promise<RawHeaderClient> => rawHeaderClient(rig.serverPort, hboneClientTls(rig.clientCert, [SERVER_ID]));
  let client = await connectClient();
  let cases = 0;
  t.after(async () => {
    client.close();
    await rig.close();
  });
  await fuzz(
    'connect headers (HTTP/2)',
    fc.asyncProperty(sessionRequest, async (fields) => {
      if (++cases % CASES_PER_SESSION === 0) {
        assert.ok(!client.session.destroyed, 'the session carried all its cases');
        client.close();
        client = await connectClient();
      }
      const before = rig.inbound.length;
      const outcome = await client.send(fields as RawField[]);
      if (outcome.kind === 'reset') {
        assert.equal(outcome.code, NGHTTP2_PROTOCOL_ERROR, 'a refusal by the stack is a stream error PROTOCOL_ERROR');
        assert.equal(rig.inbound.length, before);
      } else if (outcome.status === 400) {
        assert.ok(outcome.endStream, '400 carries END_STREAM');
        assert.equal(rig.inbound.length, before, 'a refused request never reaches the handler');
        assert.ok(referenceMalformed(fields), 'a 400 only for a malformed request');
      } else {
        assert.deepEqual(outcome, { kind: 'response', status: 200, endStream: true });
        const seen = rig.inbound[before]?.req.headers;
        assert.ok(seen, 'a 200 came from the handler');
        assert.equal(connectHeaderProblem(headerFieldsOf(seen)), undefined, `the handler got malformed fields: ${JSON.stringify(seen)}`);
      }
      const after = await client.send(BASE as RawField[]);
      assert.deepEqual(after, { kind: 'response', status: 200, endStream: true }, 'the session still serves a valid request');
    }),
    200,
  );
  assert.ok(!client.session.destroyed, 'the last session carried all its cases');
});
