// Fuzz: random and mutated HTTP/1.1 request streams (heads, Content-Length and chunked bodies,
// trailers, pipelining, Expect, HTTP/1.0, CONNECT) thrown at a live WaypointProxy through real
// HBONE tunnels, cut into random chunks. Properties: the process never crashes (an uncaught error
// fails the run), no tunnel hangs (each ends within a bound once the client is done), everything
// the waypoint writes parses as complete HTTP/1.1 responses, unmutated streams get exactly their
// answers, and a well-formed request on a fresh tunnel works after every batch.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Route } from '../../src/waypoint/index.js';
import { FUZZ_SEED, fuzz, splitAt, within } from '../helpers/fuzz.js';
import { parseResponse, WireError, type WireResponse } from '../helpers/http1-wire.js';
import { DEFAULT_CLUSTER, NS, startWaypointRig, type WaypointRig } from '../helpers/waypoint-rig.js';

/** Requests per property run, sent concurrently on their own tunnels. */
const BATCH = 24;
const RUNS = 300;
/** Quiet time after which a tunnel that still waits for bytes is ended by the client, ms. */
const IDLE_MS = 200;
/** After the client ended its half, the waypoint must have closed the tunnel within, ms. */
const CLOSE_BOUND_MS = 5000;
/** A clean stream (its last request closes) must be answered and closed within, ms. */
const CLEAN_BOUND_MS = 15_000;

const SENTINEL = 'GET /fz-end HTTP/1.1\r\nHost: reviews\r\nConnection: close\r\n\r\n';

function route(name: string, match: Route['match'], action: Route['action']): Route {
  return { name, source: { kind: 'HTTPRoute', namespace: NS, name: 'fz', rule: 0, match: 0 }, match, action };
}

interface Message {
  readonly method: string;
  readonly path: string;
  readonly bytes: string;
  /** The status a correct waypoint answers it with. */
  readonly status: number;
}

const token = fc.stringMatching(/^[a-z0-9]{1,8}$/);
const bodyBytes = fc.string({ unit: fc.constantFrom('a', 'b', '\r', '\n', '0', ' ', 'é', ':'), maxLength: 300 });
const extraHeader = fc.oneof(
  fc.tuple(fc.stringMatching(/^X-[A-Za-z0-9-]{1,10}$/), fc.stringMatching(/^[ -~]{0,20}$/).map((v) => v.trim())).map(([n, v]) => `${n}: ${v}`),
  fc.constantFrom('Connection: keep-alive', 'TE: trailers', 'Accept: */*', 'Content-Type: application/grpc', 'Cookie: a=1', 'Expect: 100-continue', 'X-Forwarded-Proto: https'),
);

/**
 * A well-formed request; `last` may close the connection (Connection: close). HEAD only in
 * streams left clean: the answer to a mangled HEAD could not be told from a GET's.
 */
const message = (last: boolean, head: boolean): fc.Arbitrary<Message> =>
  fc
    .record({
      method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', ...(head ? ['HEAD'] : [])),
      kind: fc.constantFrom('fwd', 'fwd', 'fwd', 'redirect', 'direct'),
      seg: token,
      query: fc.option(token, { nil: undefined }),
      headers: fc.array(extraHeader, { maxLength: 4 }),
      framing: fc.constantFrom('none', 'length', 'chunked'),
      body: bodyBytes,
      chunks: fc.array(fc.integer({ min: 0, max: 400 }), { maxLength: 4 }),
      trailers: fc.boolean(),
      close: last ? fc.boolean() : fc.constant(false),
      absolute: fc.boolean(),
    })
    .map((m) => {
      const path = `/${m.kind === 'fwd' ? 'fz' : m.kind}/${m.seg}${m.query ? `?q=${m.query}` : ''}`;
      // Absolute-form targets are routed by their path like origin-form ones (RFC 9112 §3.2.2).
      const target = m.absolute ? `http://reviews${path}` : path;
      const head = [`${m.method} ${target} HTTP/1.1`, 'Host: reviews', ...m.headers];
      if (m.close) head.push('Connection: close');
      let body = '';
      if (m.framing === 'length') {
        // Every message is latin1 text (one byte per character) all the way to the wire.
        head.push(`Content-Length: ${m.body.length}`);
        body = m.body;
      } else if (m.framing === 'chunked') {
        head.push('Transfer-Encoding: chunked');
        const b = Buffer.from(m.body, 'latin1');
        for (const part of splitAt(b, m.chunks)) body += `${part.length.toString(16)}\r\n${part.toString('latin1')}\r\n`;
        body += m.trailers ? '0\r\nX-Trailer: t\r\n\r\n' : '0\r\n\r\n';
      }
      const bytes = `${head.join('\r\n')}\r\n\r\n${body}`;
      // Local replies to gRPC requests are HTTP 200 with a grpc-status (Envoy's local reply).
      const grpc = m.headers.includes('Content-Type: application/grpc');
      const status = m.kind === 'fwd' || grpc ? 200 : m.kind === 'redirect' ? 302 : 503;
      return { method: m.method, path, bytes, status };
    });

/** Mutations that break framing, tokens or structure. */
const MANY_FIELDS = Array.from({ length: 120 }, (_, i) => `X-M${i}: v\r\n`).join('');
const INSERTS = [MANY_FIELDS, 'X-Fold: a\r\n b\r\n', 'Host: other\r\n', 'Host: bad host\r\n', 'GET http://reviews/fz/abs HTTP/1.1\r\nHost: x\r\n\r\n', 'OPTIONS * HTTP/1.1\r\nHost: reviews\r\n\r\n', 'GET /v10 HTTP/1.0\r\n\r\n', 'Upgrade: h2c\r\n', '\r\n', '\r\n\r\n', '\n', '\r', '\0', ' ', ':', '\t', '\x7f', '\xff', 'Content-Length: 5\r\n', 'Transfer-Encoding: chunked\r\n', 'Content-Length: 0\r\nContent-Length: 9\r\n', '0\r\n\r\n', 'GET / HTTP/1.1\r\n', 'CONNECT x:1 HTTP/1.1\r\n\r\n', 'HTTP/1.0', 'zz\r\n', '\r\nX-A: b'];
const mutation = fc.oneof(
  fc.record({ op: fc.constant('flip' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ op: fc.constant('insert' as const), at: fc.nat(), text: fc.constantFrom(...INSERTS) }),
  fc.record({ op: fc.constant('delete' as const), at: fc.nat(), n: fc.integer({ min: 1, max: 12 }) }),
  fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('dup' as const), at: fc.nat(), n: fc.integer({ min: 1, max: 40 }) }),
);
type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;

function mutate(bytes: Buffer, muts: readonly Mutation[]): Buffer {
  let b = bytes;
  for (const m of muts) {
    const at = b.length === 0 ? 0 : m.at % b.length;
    switch (m.op) {
      case 'flip': {
        b = Buffer.from(b);
        if (b.length > 0) b[at] = m.byte;
        break;
      }
      case 'insert': b = Buffer.concat([b.subarray(0, at), Buffer.from(m.text, 'latin1'), b.subarray(at)]); break;
      case 'delete': b = Buffer.concat([b.subarray(0, at), b.subarray(at + m.n)]); break;
      case 'truncate': b = b.subarray(0, at); break;
      case 'dup': b = Buffer.concat([b.subarray(0, at + m.n), b.subarray(at)]); break;
    }
  }
  return b;
}

interface Case {
  readonly messages: readonly Message[];
  readonly mutations: readonly Mutation[];
  /** Random bytes instead of requests. */
  readonly noise: Buffer | undefined;
  readonly cuts: readonly number[];
}

const caseArb: fc.Arbitrary<Case> = fc
  .tuple(fc.integer({ min: 1, max: 3 }), fc.constantFrom('clean', 'mutated', 'mutated', 'noise'))
  .chain(([n, kind]) =>
    fc.record({
      messages: fc.tuple(...Array.from({ length: n }, (_, i) => message(i === n - 1, kind === 'clean'))),
      mutations: kind === 'mutated' ? fc.array(mutation, { minLength: 1, maxLength: 3 }) : fc.constant([]),
      noise: kind === 'noise' ? fc.uint8Array({ minLength: 1, maxLength: 200 }).map((a) => Buffer.from(a)) : fc.constant(undefined),
      cuts: fc.array(fc.nat(), { maxLength: 6 }),
    }),
  );

/**
 * Splits the waypoint's output into responses; every byte must belong to a complete one, except
 * (`cut`) a last one the waypoint was still writing when the client hung up: a client that ends
 * its half gives up its pending answers (Node's server, like Envoy, aborts them), so only the
 * start of that one must be valid.
 */
function parseAll(buf: Buffer, methods: readonly string[], cut: boolean): WireResponse[] {
  const out: WireResponse[] = [];
  let rest = buf;
  while (rest.length > 0) {
    // Interim answers (100 Continue) to a request the client then abandoned: complete on their own.
    if (/^(HTTP\/1\.1 1\d\d [^\r\n]*\r\n(?:[^\r\n]+\r\n)*\r\n)+$/.test(rest.toString('latin1'))) break;
    let p: ReturnType<typeof parseResponse>;
    try {
      p = parseResponse(rest, methods[out.length] ?? 'GET', true);
    } catch (err) {
      const truncated = err instanceof WireError && /^truncated/.test(err.message);
      if (cut && truncated && /^HTTP\/1\.1 [1-5]\d\d /.test(rest.toString('latin1'))) break;
      throw err;
    }
    if (p === 'incomplete') throw new WireError('incomplete at EOF');
    out.push(p.response);
    rest = rest.subarray(p.used);
  }
  return out;
}

async function runCase(rig: WaypointRig, c: Case): Promise<void> {
  const clean = c.noise === undefined && c.mutations.length === 0;
  const joined = Buffer.from(c.messages.map((m) => m.bytes).join(''), 'latin1');
  const input = c.noise ?? mutate(joined, c.mutations);
  const { stream } = await within(rig.connect(), CLOSE_BOUND_MS, 'CONNECT to the waypoint');
  const received: Buffer[] = [];
  let last = Date.now();
  let ended = false;
  stream.on('data', (d: Buffer) => {
    received.push(d);
    last = Date.now();
  });
  const closed = new Promise<void>((resolve) => {
    stream.once('close', () => {
      ended = true;
      resolve();
    });
  });
  stream.on('error', () => {});
  // A client ends its half once the server ended the connection (EOF).
  stream.once('end', () => stream.end());
  for (const part of splitAt(Buffer.concat([input, Buffer.from(SENTINEL)]), c.cuts)) stream.write(part);
  // A clean stream ends with the sentinel's Connection: close (or an earlier one): the waypoint
  // closes the tunnel. A mangled one may leave it waiting for bytes: the client ends it after a
  // quiet spell, and the waypoint must close then.
  let cut = false;
  if (clean) await within(closed, CLEAN_BOUND_MS, `clean stream not closed by the waypoint (input ${JSON.stringify(input.toString('latin1').slice(0, 300))})`);
  else {
    while (!ended && Date.now() - last < IDLE_MS) await new Promise((r) => setTimeout(r, 25));
    if (!ended) {
      cut = true;
      stream.end();
    }
    await within(closed, CLOSE_BOUND_MS, `tunnel still open ${CLOSE_BOUND_MS} ms after the client ended (input ${JSON.stringify(input.toString('latin1').slice(0, 300))})`);
  }
  const out = Buffer.concat(received);
  const methods = clean ? [...c.messages.map((m) => m.method), 'GET'] : [];
  let responses: WireResponse[];
  try {
    responses = parseAll(out, methods, cut);
  } catch (err) {
    throw new Error(`invalid output ${JSON.stringify(out.toString('latin1').slice(0, 400))} for input ${JSON.stringify(input.toString('latin1').slice(0, 400))}: ${(err as Error).message}`);
  }
  for (const r of responses) assert.ok(r.status >= 100 && r.status <= 599);
  if (clean) {
    // Exactly one answer per request (plus the sentinel's unless an earlier one closed), in order.
    const closes = c.messages.findIndex((m) => /\r\nConnection: close\r\n/.test(m.bytes));
    const want = closes >= 0 ? c.messages.slice(0, closes + 1).map((m) => m.status) : [...c.messages.map((m) => m.status), 200];
    assert.deepEqual(responses.map((r) => r.status), want, `for ${JSON.stringify(joined.toString('latin1').slice(0, 400))} cut ${JSON.stringify(c.cuts)}: got ${JSON.stringify(out.toString("latin1").slice(0, 4000))}`);
  }
}

test('fuzz: HTTP/1.1 request streams through HBONE tunnels to a live waypoint', async (t) => {
  const rig = await startWaypointRig();
  t.after(() => rig.close());
  rig.config({
    http: [
      route('redirect', { path: { type: 'PathPrefix', value: '/redirect' } }, { kind: 'redirect', redirect: { statusCode: 302, hostname: 'elsewhere' } }),
      route('direct', { path: { type: 'PathPrefix', value: '/direct' } }, { kind: 'direct', status: 503, body: 'direct' }),
      route('fwd', {}, { kind: 'forward', backends: [{ cluster: DEFAULT_CLUSTER, weight: 1 }] }),
    ],
  });
  let batches = 0;
  const started = Date.now();
  const agent = rig.agent();
  const runs = await fuzz(
    'waypoint HTTP/1.1',
    fc.asyncProperty(fc.array(caseArb, { minLength: BATCH, maxLength: BATCH }), async (cases) => {
      await Promise.all(cases.map((c) => runCase(rig, c)));
      batches++;
      // The waypoint still serves a well-formed request on a fresh tunnel.
      const ok = await within(rig.request({ path: `/fz-after/${batches}`, agent }), CLOSE_BOUND_MS, 'a well-formed request after the batch');
      assert.equal(ok.status, 200);
    }),
    RUNS,
  );
  // No tunnel left behind.
  agent.destroy();
  const deadline = Date.now() + 5000;
  const tunnels = (): number => (rig.proxy.configDump() as { stats: { tunnels: number } }).stats.tunnels;
  while (tunnels() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  assert.equal(tunnels(), 0, 'every tunnel closed');
  t.diagnostic(`seed ${FUZZ_SEED}: ${runs * BATCH} inputs in ${Date.now() - started} ms`);
});
