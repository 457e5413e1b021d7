// Unit tests of CertManager: on-demand issuance and sharing, the CSR concurrency limit and
// priorities, rotation at half-life and backoff retries under an injected clock and mocked timers.

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BuiltinCaClient,
  CertManager,
  backoffDelayMs,
  refreshAtMs,
  uriSans,
  type CaClient,
  type WorkloadCertificate,
} from '../../src/identity/index.js';
import { MeshError, isMeshError } from '../../src/common/errors.js';
import { captureLogs, type LogCapture } from '../helpers/log-capture.js';

const ID = 'spiffe://cluster.local/ns/default/sa/echo';
const TTL = 3600;

/** A CA that delegates to a real one but can be told to fail or to hold requests. */
class ScriptedCa implements CaClient {
  readonly name = 'scripted';
  calls = 0;
  active = 0;
  maxActive = 0;
  failNext = 0;
  readonly order: string[] = [];
  #gate: Promise<void> | undefined;
  #openGate: (() => void) | undefined;
  #callWaiters: Array<{ n: number; resolve: () => void }> = [];

  constructor(private readonly inner: CaClient) {}

  hold(): void {
    this.#gate = new Promise((resolve) => (this.#openGate = resolve));
  }

  release(): void {
    this.#openGate?.();
    this.#gate = undefined;
  }

  /** Resolves once `n` sign calls have started. */
  waitCalls(n: number): Promise<void> {
    if (this.calls >= n) return Promise.resolve();
    return new Promise((resolve) => this.#callWaiters.push({ n, resolve }));
  }

  async sign(csrPem: string, spiffeId: string, ttlSeconds: number): Promise<string[]> {
    this.calls++;
    this.order.push(spiffeId);
    this.active++;
    this.maxActive = Math.max(this.maxActive, this.active);
    for (const w of this.#callWaiters.filter((x) => this.calls >= x.n)) w.resolve();
    try {
      if (this.#gate) await this.#gate;
      if (this.failNext > 0) {
        this.failNext--;
        throw new MeshError('CA_ERROR', 'scripted CA failure');
      }
      return await this.inner.sign(csrPem, spiffeId, ttlSeconds);
    } finally {
      this.active--;
    }
  }

  close(): void {}
}

interface Harness {
  readonly ca: ScriptedCa;
  readonly cm: CertManager;
  readonly logs: LogCapture;
  now(): number;
  /** Moves the injected clock and the mocked timers forward together. */
  advance(ms: number): void;
  /** Moves only the clock (time passes while no timer is due, e.g. a suspended node). */
  jump(ms: number): void;
}

async function harness(t: TestContext, opts: { maxConcurrentCsrs?: number; caSkewMs?: number } = {}): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'ambit-cm-test-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  let clock = Date.now();
  const now = (): number => clock;
  const inner = await BuiltinCaClient.open({ stateDir: dir, trustDomain: 'cluster.local', logger: captureLogs().logger, now: () => clock + (opts.caSkewMs ?? 0) });
  const ca = new ScriptedCa(inner);
  const logs = captureLogs();
  const cm = new CertManager({
    ca,
    ttlSeconds: TTL,
    logger: logs.logger,
    now,
    random: () => 0.5,
    ...(opts.maxConcurrentCsrs ? { maxConcurrentCsrs: opts.maxConcurrentCsrs } : {}),
  });
  cm.start();
  t.after(() => cm.destroy());
  t.mock.timers.enable({ apis: ['setTimeout'] });
  return {
    ca,
    cm,
    logs,
    now,
    advance(ms) {
      clock += ms;
      t.mock.timers.tick(ms);
    },
    jump(ms) {
      clock += ms;
    },
  };
}

function nextRotation(cm: CertManager): Promise<{ cert: WorkloadCertificate; previous: WorkloadCertificate | undefined }> {
  return new Promise((resolve) => {
    const off = cm.onRotate((_id, cert, previous) => {
      off();
      resolve({ cert, previous });
    });
  });
}

test('backoff: 1 s doubling, ±20 % jitter, capped at 150 s', () => {
  const mid = (): number => 0.5;
  assert.deepEqual(
    [1, 2, 3, 4, 5, 6, 7, 8, 9, 12].map((a) => backoffDelayMs(a, mid)),
    [1000, 2000, 4000, 8000, 16000, 32000, 64000, 128000, 150000, 150000],
  );
  assert.equal(backoffDelayMs(1, () => 0), 800);
  assert.equal(backoffDelayMs(3, () => 0.999999), 4800);
  assert.equal(backoffDelayMs(20, () => 0.999999), 150000);
});

test('fetch issues on demand with a fresh P-256 key, caches, and shares one in-flight request', async (t) => {
  const h = await harness(t);
  const all = await Promise.all([h.cm.fetch(ID), h.cm.fetch(ID), h.cm.fetch(ID, 'warmup')]);
  assert.equal(h.ca.calls, 1, 'concurrent fetches share one CSR');
  assert.ok(all[0] === all[1] && all[1] === all[2]);
  const cert = all[0]!;
  assert.equal(cert.identity, ID);
  const leaf = new X509Certificate(cert.certChainPem);
  assert.deepEqual(uriSans(leaf), [ID]);
  assert.ok(leaf.checkPrivateKey(createPrivateKey(cert.keyPem)));
  assert.match(cert.keyPem, /^-----BEGIN PRIVATE KEY-----/, 'PKCS#8');
  assert.equal(leaf.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
  assert.equal(cert.serialNumber, leaf.serialNumber);
  assert.ok(Math.abs(cert.notAfter.getTime() - (h.now() + TTL * 1000)) <= 1000);
  assert.equal(await h.cm.fetch(ID), cert, 'served from cache');
  assert.equal(h.cm.cached(ID), cert);
  assert.equal(h.ca.calls, 1);

  const other = await h.cm.fetch('spiffe://cluster.local/ns/x/sa/y');
  assert.notEqual(createPrivateKey(other.keyPem).export({ format: 'pem', type: 'pkcs8' }), cert.keyPem, 'a fresh key per issuance');
});

test('list() has the /config_dump certificates shape and states', async (t) => {
  const h = await harness(t);
  h.ca.hold();
  const pending = h.cm.fetch(ID);
  assert.deepEqual(h.cm.list(), [{ identity: ID, state: 'Initializing', certChain: [], rootCerts: [] }]);
  h.ca.release();
  const cert = await pending;
  const [dump] = h.cm.list();
  assert.equal(dump!.state, 'Available');
  assert.equal(dump!.certChain.length, 1);
  assert.equal(dump!.rootCerts.length, 1);
  const leafDump = dump!.certChain[0]!;
  assert.equal(Buffer.from(leafDump.pem, 'base64').toString(), cert.certChainPem);
  assert.equal(leafDump.serialNumber, cert.serialNumber);
  assert.match(leafDump.validFrom, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  assert.equal(leafDump.expirationTime, cert.notAfter.toISOString().replace('.000Z', 'Z'));
  assert.equal(Buffer.from(dump!.rootCerts[0]!.pem, 'base64').toString(), cert.rootsPem);
});

test('at most 8 CSRs run at once; the rest wait their turn', async (t) => {
  const h = await harness(t);
  h.ca.hold();
  const ids = Array.from({ length: 20 }, (_, i) => `spiffe://cluster.local/ns/n${i}/sa/s`);
  const all = Promise.all(ids.map((id) => h.cm.fetch(id)));
  await h.ca.waitCalls(8);
  await new Promise((resolve) => setImmediate(resolve)); // let any 9th request get as far as it can
  assert.equal(h.ca.calls, 8);
  assert.equal(h.ca.active, 8);
  h.ca.release();
  const certs = await all;
  assert.deepEqual(certs.map((c) => c.identity), ids);
  assert.equal(h.ca.calls, 20);
  assert.equal(h.ca.maxActive, 8);
});

test('waiting requests are served realtime > warmup > background, and a waiter can be raised', async (t) => {
  const h = await harness(t, { maxConcurrentCsrs: 1 });
  const id = (n: string): string => `spiffe://cluster.local/ns/${n}/sa/s`;
  h.ca.hold();
  const first = h.cm.fetch(id('first'));
  await h.ca.waitCalls(1);
  const queued = [h.cm.fetch(id('bg'), 'background'), h.cm.fetch(id('warm'), 'warmup'), h.cm.fetch(id('rt'), 'realtime'), h.cm.fetch(id('bg2'), 'background')];
  const raised = h.cm.fetch(id('bg2'), 'realtime'); // a connection now waits for bg2
  h.ca.release();
  await Promise.all([first, ...queued, raised]);
  assert.deepEqual(h.ca.order, [id('first'), id('rt'), id('bg2'), id('warm'), id('bg')]);
});

test('rotation at half-life installs a new certificate and notifies listeners', async (t) => {
  const h = await harness(t);
  const c1 = await h.cm.fetch(ID);
  const rotated = nextRotation(h.cm);
  const dueIn = refreshAtMs(c1) - h.now();
  assert.ok(dueIn > 1000 && Math.abs(dueIn - (TTL * 1000) / 2) <= 61_000, `refresh due in ${dueIn} ms`);
  h.advance(dueIn - 1);
  assert.equal(h.ca.calls, 1, 'not yet');
  h.advance(1);
  const { cert: c2, previous } = await rotated;
  assert.equal(h.ca.calls, 2);
  assert.equal(previous, c1);
  assert.notEqual(c2.serialNumber, c1.serialNumber);
  assert.notEqual(c2.keyPem, c1.keyPem);
  assert.equal(h.cm.cached(ID), c2);
  assert.equal(await h.cm.fetch(ID), c2);

  // …and the next rotation is scheduled from the new certificate.
  const again = nextRotation(h.cm);
  h.advance(Math.ceil(refreshAtMs(c2) - h.now()));
  assert.notEqual((await again).cert.serialNumber, c2.serialNumber);
});

test('a failed rotation retries with backoff while the still-valid old certificate is served', async (t) => {
  const h = await harness(t);
  const c1 = await h.cm.fetch(ID);
  h.ca.failNext = 2;
  h.advance(Math.ceil(refreshAtMs(c1) - h.now()));
  const fail1 = await h.logs.waitFor('workload certificate request failed', 1);
  assert.equal(fail1.retryInMs, 1000);
  assert.equal(fail1.keepingValidCert, true);
  assert.equal(h.cm.cached(ID), c1, 'old certificate kept');
  assert.equal(await h.cm.fetch(ID), c1);
  assert.equal(h.cm.list()[0]!.state, 'Available');
  assert.equal(h.ca.calls, 2);

  h.advance(999);
  assert.equal(h.ca.calls, 2, 'no retry before the backoff delay');
  h.advance(1);
  const fail2 = await h.logs.waitFor('workload certificate request failed', 2);
  assert.equal(fail2.retryInMs, 2000, 'delay doubles');
  assert.equal(h.ca.calls, 3);

  const rotated = nextRotation(h.cm);
  h.advance(2000);
  const { cert: c2, previous } = await rotated;
  assert.equal(previous, c1);
  assert.equal(h.ca.calls, 4);
  assert.equal(h.cm.cached(ID), c2);
});

test('an expired certificate is never handed out', async (t) => {
  const h = await harness(t);
  const c1 = await h.cm.fetch(ID);
  h.jump(c1.notAfter.getTime() - h.now() + 1); // past expiry; the rotation timer never got to run
  assert.equal(h.cm.cached(ID), undefined);
  assert.equal(h.cm.list()[0]!.state, 'Unavailable: certificate expired');

  h.ca.failNext = 1;
  await assert.rejects(h.cm.fetch(ID), (err) => isMeshError(err, 'CA_ERROR'));
  assert.equal(h.cm.cached(ID), undefined);
  assert.match(h.cm.list()[0]!.state, /^Unavailable: scripted CA failure/);
  const calls = h.ca.calls;
  await assert.rejects(h.cm.fetch(ID), (err) => isMeshError(err, 'CA_ERROR'), 'fails fast while backing off');
  assert.equal(h.ca.calls, calls, 'no CSR storm while backing off');

  const rotated = nextRotation(h.cm);
  h.advance(1000);
  const { cert } = await rotated;
  assert.ok(cert.notAfter.getTime() > h.now());
  assert.equal(await h.cm.fetch(ID), cert);
});

test('a certificate that is already expired on arrival is refused', async (t) => {
  const h = await harness(t, { caSkewMs: -2 * TTL * 1000 }); // the CA's clock is two TTLs behind
  await assert.rejects(h.cm.fetch(ID), (err) => isMeshError(err, 'CA_ERROR') && /expired/.test(err.message));
  assert.equal(h.cm.cached(ID), undefined);
});

test('forget() drops the certificate and its rotation', async (t) => {
  const h = await harness(t);
  const c1 = await h.cm.fetch(ID);
  h.cm.forget(ID);
  assert.equal(h.cm.cached(ID), undefined);
  assert.deepEqual(h.cm.list(), []);
  h.advance(Math.ceil(refreshAtMs(c1) - h.now()) + 10_000);
  assert.equal(h.ca.calls, 1, 'no rotation for a forgotten identity');
  const c2 = await h.cm.fetch(ID);
  assert.notEqual(c2, c1);
});

test('destroy() fails queued requests and refuses new fetches', async (t) => {
  const h = await harness(t, { maxConcurrentCsrs: 1 });
  h.ca.hold();
  const inflight = h.cm.fetch(ID);
  const queued = h.cm.fetch('spiffe://cluster.local/ns/q/sa/q');
  await h.ca.waitCalls(1);
  h.cm.destroy();
  await assert.rejects(queued, (err) => isMeshError(err, 'CA_ERROR'));
  await assert.rejects(h.cm.fetch(ID), (err) => isMeshError(err, 'CA_ERROR'));
  h.ca.release();
  await inflight; // a CSR already at the CA still completes for its caller
});

test('close() lets in-flight requests finish, then refuses new fetches', async (t) => {
  const h2 = await harness(t);
  await h2.cm.fetch(ID);
  h2.ca.hold();
  const other = h2.cm.fetch('spiffe://cluster.local/ns/o/sa/o');
  await h2.ca.waitCalls(2);
  const closed = h2.cm.close();
  h2.ca.release();
  await closed;
  assert.equal((await other).identity, 'spiffe://cluster.local/ns/o/sa/o');
  await assert.rejects(h2.cm.fetch(ID), (err) => isMeshError(err, 'CA_ERROR'));
});
