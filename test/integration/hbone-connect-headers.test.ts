// Malformed CONNECT requests sent as raw HPACK over a real mTLS HTTP/2 session to HboneServer:
// each is refused on its own stream (400 + END_STREAM, or nghttp2's RST_STREAM), never reaches
// the handler with a prohibited field, and the same session then serves a valid request.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connectHeaderProblem, headerFieldsOf } from '../../src/hbone/index.js';
import { SERVER_ID, startRig, type HboneRig } from '../helpers/hbone-fixture.js';
import { hboneClientTls } from '../helpers/hbone-tls.js';
import { rawHeaderClient, type RawField, type RawHeaderClient } from '../helpers/h2-raw-headers.js';
import { captureLogs } from '../helpers/log-capture.js';

const NGHTTP2_PROTOCOL_ERROR = 1;
const BASE: RawField[] = [[':method', 'CONNECT'], [':authority', '10.0.0.1:8080']];

async function setup(t: { after(fn: () => unknown): void }): Promise<{ rig: HboneRig; client: RawHeaderClient; logs: ReturnType<typeof captureLogs> }> {
  const logs = captureLogs('debug');
  const rig = await startRig({ logger: logs.logger });
  // The handler answers at once: these tests are about what reaches it, not about upstreams.
  rig.handler = (req) => req.stream.respond({ ':status': 200 }, { endStream: true });
  const client = await rawHeaderClient(rig.serverPort, hboneClientTls(rig.clientCert, [SERVER_ID]));
  t.after(async () => {
    client.close();
    await rig.close();
  });
  return { rig, client, logs };
}

async function assertSessionServes(client: RawHeaderClient, rig: HboneRig, after: string): Promise<void> {
  const before = rig.inbound.length;
  assert.deepEqual(await client.send(BASE), { kind: 'response', status: 200, endStream: true }, `valid request after ${after}`);
  assert.equal(rig.inbound.length, before + 1);
}

test('host differing from :authority (passed through by nghttp2) gets 400 + END_STREAM from our check, logged and counted', async (t) => {
  const { rig, client, logs } = await setup(t);
  const outcome = await client.send([...BASE, ['host', 'evil.example:80']]);
  assert.deepEqual(outcome, { kind: 'response', status: 400, endStream: true });
  assert.equal(rig.inbound.length, 0, 'the handler never saw it');
  const line = await logs.waitFor('hbone request refused');
  assert.equal(line.level, 20, 'debug');
  assert.match(String(line.err), /host differs from :authority/);
  assert.deepEqual(rig.errors.map((e) => [e.phase, (e.err as { code?: string }).code]), [['h2', 'BAD_HEADER']]);
  await assertSessionServes(client, rig, 'the 400');
});

// nghttp2 (Node 20) resets these streams with PROTOCOL_ERROR before they reach JS: RFC 9113 §8.1.1's
// stream error. Our check would answer 400 if a future stack let them through; either is a refusal.
const resetByStack: Array<[string, RawField[]]> = [
  ['upper-case name', [...BASE, ['X-A', 'v']]],
  ['connection', [...BASE, ['connection', 'close']]],
  ['keep-alive', [...BASE, ['keep-alive', '5']]],
  ['proxy-connection', [...BASE, ['proxy-connection', 'x']]],
  ['transfer-encoding', [...BASE, ['transfer-encoding', 'chunked']]],
  ['upgrade', [...BASE, ['upgrade', 'h2c']]],
  ['te: gzip', [...BASE, ['te', 'gzip']]],
  ['CONNECT with :scheme', [...BASE, [':scheme', 'https']]],
  ['CONNECT with :path', [...BASE, [':path', '/']]],
  ['unknown pseudo-header', [...BASE, [':protocol', 'websocket']]],
];

test('connection-specific fields, upper case, te, :scheme/:path on CONNECT: refused on the stream, session kept', async (t) => {
  const { rig, client } = await setup(t);
  for (const [name, fields] of resetByStack) {
    const outcome = await client.send(fields);
    const refused =
      (outcome.kind === 'reset' && outcome.code === NGHTTP2_PROTOCOL_ERROR) ||
      (outcome.kind === 'response' && outcome.status === 400 && outcome.endStream);
    assert.ok(refused, `${name}: ${JSON.stringify(outcome)}`);
    assert.equal(rig.inbound.length, 0, `${name} reached the handler`);
    await assertSessionServes(client, rig, name);
    rig.inbound.length = 0;
  }
});

// Node's on_invalid_header callback drops these fields and lets the request through without them
// (node_http2.cc OnInvalidHeader); if a stack delivered them, our check answers 400.
const droppedByStack: Array<[string, RawField[]]> = [
  ['CR in a value', [...BASE, ['x-a', 'a\rb']]],
  ['LF in a value', [...BASE, ['x-a', 'a\nb']]],
  ['NUL in a value', [...BASE, ['x-a', 'a\0b']]],
  ['empty name', [...BASE, ['', 'v']]],
  ['space in a name', [...BASE, ['x a', 'v']]],
  ['trailing space in a value', [...BASE, ['x-a', 'v ']]],
];

test('invalid names and CR/LF/NUL values: never delivered to the handler, session kept', async (t) => {
  const { rig, client } = await setup(t);
  for (const [name, fields] of droppedByStack) {
    const before = rig.inbound.length;
    const outcome = await client.send(fields);
    if (outcome.kind === 'response' && outcome.status === 200) {
      const seen = rig.inbound[before]!.req.headers;
      assert.equal(connectHeaderProblem(headerFieldsOf(seen)), undefined, `${name}: the handler got a malformed field`);
    } else {
      assert.deepEqual(outcome, { kind: 'response', status: 400, endStream: true }, name);
    }
    await assertSessionServes(client, rig, name);
  }
});
