// The worker model's parts in one thread (MessageChannel ends stand in for main and a worker): state
// catch-up before a connection, requests across threads, the worker's certificate cache, merged
// metrics (counters never go back when a worker dies), and what a worker's config leaves out.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MessageChannel } from 'node:worker_threads';
import { Counter, Gauge, Registry } from 'prom-client';
import { MeshError, isMeshError } from '../../src/common/errors.js';
import { silentLogger } from '../../src/common/log.js';
import { loadConfig } from '../../src/config/index.js';
import type { WorkloadCertificate } from '../../src/identity/index.js';
import { createRegistry } from '../../src/metrics/index.js';
import { ProxyState, type Authorization, type StateSnapshot } from '../../src/state/index.js';
import { configForWorker, MergedMetrics, RemoteCerts, RpcChannel, StateFollower, StatePublisher, withBoundPorts, type MetricsJson } from '../../src/workers/index.js';
import { encodeOpenMetrics } from '../../src/metrics/index.js';
import { metricSum } from '../helpers/prometheus-text.js';

function policy(name: string): Authorization {
  return { name, namespace: 'default', scope: 'Namespace', action: 'Deny', dryRun: false, rules: [] };
}

function snapshot(...policies: string[]): StateSnapshot {
  return { workloads: [], services: [], policies: policies.map(policy) };
}

test('state: a worker that syncs sees what main applied, without yielding to its event loop', () => {
  const main = new ProxyState();
  main.apply(snapshot('first'));
  const publisher = new StatePublisher(main);
  const { link, detach } = publisher.attach();
  const worker = new ProxyState();
  let applies = 0;
  worker.onChange(() => applies++);
  const follower = new StateFollower(link, worker, (err) => assert.fail(String(err)));
  follower.sync();
  assert.deepEqual(worker.snapshot().policies.map((p) => p.name), ['first'], 'the snapshot current at attach');
  // Main applies twice; the very next sync — same tick, no message event has run — has the newest.
  main.apply(snapshot('first', 'deny-a'));
  main.apply(snapshot('deny-b'));
  follower.sync();
  assert.deepEqual(worker.snapshot().policies.map((p) => p.name), ['deny-b']);
  assert.equal(follower.version, publisher.currentVersion);
  assert.equal(applies, 2, 'initial + newest: intermediate versions are skipped, none applied twice');
  follower.sync();
  assert.equal(applies, 2, 'up to date: sync is a no-op');
  detach();
  publisher.close();
  follower.close();
});

test('state: snapshots delivered by message events are applied once each, in order', async () => {
  const main = new ProxyState();
  const publisher = new StatePublisher(main);
  const { link } = publisher.attach();
  const seen: string[][] = [];
  const worker = new ProxyState();
  worker.onChange(() => seen.push(worker.snapshot().policies.map((p) => p.name)));
  const follower = new StateFollower(link, worker, () => undefined);
  main.apply(snapshot('a'));
  main.apply(snapshot('b'));
  // Let the message events run (a fixed 50 ms was not always enough on a loaded machine, and a
  // sync() before them rightly skips to the newest snapshot).
  for (let i = 0; i < 500 && follower.version !== publisher.currentVersion; i++) await new Promise((r) => setTimeout(r, 10));
  follower.sync();
  assert.deepEqual(seen, [[], ['a'], ['b']]);
  publisher.close();
  follower.close();
});

function rpcPair(): { main: RpcChannel; worker: RpcChannel; close(): void } {
  const { port1, port2 } = new MessageChannel();
  return {
    main: new RpcChannel(port1),
    worker: new RpcChannel(port2),
    close: () => {
      port1.close();
      port2.close();
    },
  };
}

test('rpc: answers, MeshError codes across threads, unknown methods, notes', async () => {
  const { main, worker, close } = rpcPair();
  worker.handle('add', (p: { a: number; b: number }) => p.a + p.b);
  worker.handle('refuse', () => {
    throw new MeshError('CA_ERROR', 'no certificate for you');
  });
  assert.equal(await main.request('add', { a: 2, b: 3 }), 5);
  await assert.rejects(main.request('refuse', undefined), (err: unknown) => isMeshError(err, 'CA_ERROR') && /no certificate/.test((err as Error).message));
  await assert.rejects(main.request('nope', undefined), /no handler for nope/);
  const notes: unknown[] = [];
  main.onNote('log', (t) => notes.push(t));
  worker.note('log', 'line\n');
  await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(notes, ['line\n']);
  close();
});

test('rpc: a request times out, and failAll ends every pending one (the peer died)', async () => {
  const { main, worker, close } = rpcPair();
  worker.handle('hang', () => new Promise(() => undefined));
  await assert.rejects(main.request('hang', undefined, 30), /timed out after 30 ms/);
  const pending = main.request('hang', undefined);
  main.failAll(new MeshError('INTERNAL', 'worker 1 exited (code 1)'));
  await assert.rejects(pending, /worker 1 exited/);
  await assert.rejects(main.request('hang', undefined), /worker 1 exited/, 'no request after the end');
  assert.equal(main.pendingRequests, 0);
  close();
});

function cert(identity: string, serial: string, notAfterMs: number): WorkloadCertificate {
  return { identity, certChainPem: '', keyPem: '', rootsPem: '', notBefore: new Date(0), notAfter: new Date(notAfterMs), serialNumber: serial };
}

test('certs: one round trip per identity while valid, shared in flight, refetched once expired', async () => {
  let now = 1_000;
  const asked: string[] = [];
  let serial = 0;
  const certs = new RemoteCerts(
    async (identity) => {
      asked.push(identity);
      return cert(identity, String(++serial), now + 100);
    },
    silentLogger(),
    () => now,
  );
  const id = 'spiffe://cluster.local/ns/default/sa/a';
  const [x, y] = await Promise.all([certs.fetch(id), certs.fetch(id)]);
  assert.equal(x, y);
  assert.equal((await certs.fetch(id)).serialNumber, '1');
  assert.deepEqual(asked, [id]);
  now += 100; // expired: never served
  assert.equal((await certs.fetch(id)).serialNumber, '2');
  assert.equal(asked.length, 2);
  // A rotation pushed by main replaces it; an older one never does.
  certs.install(cert(id, 'rotated', now + 1_000));
  certs.install(cert(id, 'stale', now + 10));
  assert.equal((await certs.fetch(id)).serialNumber, 'rotated');
  assert.equal(asked.length, 2);
});

test('certs: a refusal from main reaches the caller and is not cached', async () => {
  let fail = true;
  const certs = new RemoteCerts(async (identity) => {
    if (fail) throw new MeshError('CA_ERROR', 'CA down');
    return cert(identity, 'ok', Date.now() + 60_000);
  }, silentLogger());
  await assert.rejects(certs.fetch('spiffe://x/ns/a/sa/b'), (e: unknown) => isMeshError(e, 'CA_ERROR'));
  fail = false;
  assert.equal((await certs.fetch('spiffe://x/ns/a/sa/b')).serialNumber, 'ok');
});

/** A worker-like registry: one counter, one gauge, no process metrics. */
async function workerJson(opened: number, open: number): Promise<MetricsJson> {
  const r = new Registry();
  new Counter({ name: 'istio_tcp_connections_opened_total', help: 'h', labelNames: ['reporter'], registers: [r] }).inc({ reporter: 'source' }, opened);
  new Gauge({ name: 'istio_tcp_sockets_open', help: 'h', labelNames: ['reporter'], registers: [r] }).set({ reporter: 'source' }, open);
  return (await r.getMetricsAsJSON()) as unknown as MetricsJson;
}

test('metrics: one exposition summing the workers; process metrics and istio_build once; counters kept when a worker dies', async () => {
  const main = createRegistry({ tag: '1.0' });
  const merged = new MergedMetrics();
  const w1 = await workerJson(5, 2);
  const w2 = await workerJson(7, 3);
  let body = await encodeOpenMetrics(await merged.merge(main, [{ id: 1, json: w1 }, { id: 2, json: w2 }]));
  assert.equal(metricSum(body, 'istio_tcp_connections_opened_total', { reporter: 'source' }), 12);
  assert.equal(metricSum(body, 'istio_tcp_sockets_open', {}), 5);
  assert.equal(metricSum(body, 'ambit_worker_connections_opened_total', { worker: '1' }), 5);
  assert.equal(metricSum(body, 'ambit_worker_connections_opened_total', { worker: '2' }), 7);
  assert.equal(metricSum(body, 'istio_build', {}), 1);
  assert.equal(body.split('\n').filter((l) => l.startsWith('process_cpu_seconds_total ')).length, 1);
  // Worker 2 dies; its replacement starts from zero and counts 1 more.
  merged.retire(2, w2);
  body = await encodeOpenMetrics(await merged.merge(main, [{ id: 1, json: w1 }, { id: 2, json: await workerJson(1, 1) }]));
  assert.equal(metricSum(body, 'istio_tcp_connections_opened_total', { reporter: 'source' }), 13, 'never below what was shown');
  assert.equal(metricSum(body, 'istio_tcp_sockets_open', {}), 3, 'gauges: live workers only');
  assert.equal(metricSum(body, 'ambit_worker_connections_opened_total', { worker: '2' }), 8);
});

test("a worker's config has no credentials, survives structured clone, and takes the first worker's ports", () => {
  const config = loadConfig([], { AUTH_TOKEN: 'literal-secret', CA_HEADER_X_KEY: 'hdr-secret', XDS_HEADER_Y: 'x-secret', AMBIT_PORT_SOCKS5: '0', AMBIT_PORT_HBONE: '0' });
  assert.throws(() => structuredClone(config), /could not be cloned/, 'the literal token form holds a function');
  const forWorker = configForWorker(config);
  const cloned = structuredClone(forWorker);
  assert.doesNotMatch(JSON.stringify(cloned), /literal-secret|hdr-secret|x-secret/);
  assert.deepEqual(cloned.ca.authToken, { kind: 'none' });
  const bound = withBoundPorts(forWorker, {
    outbound: { address: '::', family: 'IPv6', port: 15001 },
    socks5: { address: '::', family: 'IPv6', port: 40123 },
    hbone: [{ address: '::', family: 'IPv6', port: 40124 }],
    inboundPlaintext: [{ address: '::', family: 'IPv6', port: 15006 }],
  });
  assert.deepEqual(bound.ports, { ...config.ports, socks5: 40123, hbone: 40124 });
});
