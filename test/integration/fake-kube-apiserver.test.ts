// The fake API server speaks the list/watch protocol of the API concepts doc, checked here with
// plain HTTPS requests (no client library): what the cluster-source tests rely on is real protocol.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:https';
import { FakeKubeApiServer, ambitResources } from '../helpers/fake-kube-apiserver.js';
import { goodObject } from '../helpers/k8s-good-objects.js';

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  /** Body lines (a watch: one JSON event per line). */
  readonly lines: string[];
}

/**
 * One request; for a watch, reads until `events` lines arrived, then closes (or until the server
 * ends the body). Tokens and CA are the server's unless overridden.
 */
function call(server: FakeKubeApiServer, method: string, path: string, opts: { token?: string; body?: string; contentType?: string; events?: number } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const url = new URL(server.url + path);
    const req = request(
      { host: url.hostname, port: url.port, path: url.pathname + url.search, method, ca: server.caPem, headers: { authorization: `Bearer ${opts.token ?? server.token}`, ...(opts.contentType ? { 'content-type': opts.contentType } : {}) } },
      (res) => {
        let text = '';
        const done = (): void => resolve({ status: res.statusCode ?? 0, headers: res.headers, lines: text.split('\n').filter((l) => l !== '') });
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
          if (opts.events !== undefined && text.split('\n').filter((l) => l !== '').length >= opts.events) {
            done();
            req.destroy();
          }
        });
        res.on('end', done);
      },
    );
    req.on('error', (err) => (opts.events !== undefined ? undefined : reject(err)));
    req.end(opts.body);
  });
}

const event = (line: string): { type: string; object: { kind?: string; code?: number; reason?: string; metadata: { name?: string; resourceVersion?: string } } } => JSON.parse(line);

test('fake API server: list, watch from a resourceVersion, bookmarks, 410 Expired, 404, auth, status patch', async (t) => {
  const server = new FakeKubeApiServer({ resources: ambitResources() });
  await server.start();
  t.after(() => server.close());
  server.apply(goodObject('Pod', 'a'));
  server.apply(goodObject('Pod', 'b', 'other'));
  server.apply(goodObject('HTTPRoute', 'r'));

  assert.equal((await call(server, 'GET', '/api/v1/pods', { token: 'wrong' })).status, 401);

  // List: a typed List with the cluster's resourceVersion; built-in items without kind/apiVersion.
  const list = await call(server, 'GET', '/api/v1/pods');
  const body = JSON.parse(list.lines.join('')) as { kind: string; metadata: { resourceVersion: string }; items: Array<Record<string, unknown>> };
  assert.equal(list.status, 200);
  assert.equal(body.kind, 'PodList');
  assert.equal(body.metadata.resourceVersion, String(server.state.rv));
  assert.equal(body.items.length, 2);
  assert.equal(body.items[0]!['kind'], undefined);
  const routes = JSON.parse((await call(server, 'GET', '/apis/gateway.networking.k8s.io/v1beta1/namespaces/default/httproutes')).lines.join('')) as { items: Array<Record<string, unknown>> };
  assert.equal(routes.items[0]!['apiVersion'], 'gateway.networking.k8s.io/v1beta1', 'custom resources carry kind/apiVersion, at the version asked');
  const ns = JSON.parse((await call(server, 'GET', '/api/v1/namespaces/other/pods')).lines.join('')) as { items: unknown[] };
  assert.equal(ns.items.length, 1, 'a namespaced list holds that namespace only');

  // Paging: limit + continue, pinned to the first page's resourceVersion; 410 once compacted.
  const page1 = JSON.parse((await call(server, 'GET', '/api/v1/pods?limit=1')).lines.join('')) as { metadata: { continue: string; resourceVersion: string }; items: unknown[] };
  assert.equal(page1.items.length, 1);
  server.apply(goodObject('Pod', 'c'));
  const page2 = JSON.parse((await call(server, 'GET', `/api/v1/pods?limit=1&continue=${page1.metadata.continue}`)).lines.join('')) as { metadata: { continue?: string; resourceVersion: string }; items: unknown[] };
  assert.equal(page2.metadata.resourceVersion, page1.metadata.resourceVersion);
  assert.equal(page2.metadata.continue, undefined, 'pod c, written after page 1, is not in this list');

  // Watch from a resourceVersion: the events after it, in order, chunked.
  const from = Number(body.metadata.resourceVersion);
  const w = await call(server, 'GET', `/api/v1/pods?watch=true&resourceVersion=${from}`, { events: 1 });
  assert.equal(w.headers['transfer-encoding'], 'chunked');
  assert.deepEqual(w.lines.map(event).map((e) => [e.type, e.object.metadata.name, e.object.kind]), [['ADDED', 'c', 'Pod']]);

  // Live events and a bookmark, only when asked for.
  const live = call(server, 'GET', `/api/v1/pods?watch=true&resourceVersion=${server.state.rv}&allowWatchBookmarks=true`, { events: 3 });
  const plain = call(server, 'GET', `/api/v1/pods?watch=true&resourceVersion=${server.state.rv}`, { events: 2 });
  while (server.watchCount('Pod') < 2) await new Promise((resolve) => setTimeout(resolve, 5));
  server.apply(goodObject('Pod', 'c'));
  server.bookmark();
  server.delete('Pod', 'default', 'c');
  const liveEvents = (await live).lines.map(event);
  assert.deepEqual(liveEvents.map((e) => e.type), ['MODIFIED', 'BOOKMARK', 'DELETED']);
  assert.equal(liveEvents[1]!.object.metadata.resourceVersion, liveEvents[0]!.object.metadata.resourceVersion);
  assert.equal(Number(liveEvents[2]!.object.metadata.resourceVersion), Number(liveEvents[0]!.object.metadata.resourceVersion) + 1, 'DELETED carries the deletion’s resourceVersion');
  assert.deepEqual((await plain).lines.map(event).map((e) => e.type), ['MODIFIED', 'DELETED']);

  // Too old: HTTP 200 and one ERROR event with a 410 Expired Status, then the end of the body.
  server.compact();
  const gone = await call(server, 'GET', `/api/v1/pods?watch=true&resourceVersion=${from}`);
  assert.equal(gone.status, 200);
  assert.equal(gone.lines.length, 1);
  const err = event(gone.lines[0]!);
  assert.deepEqual([err.type, err.object.kind, err.object.code, err.object.reason], ['ERROR', 'Status', 410, 'Expired']);
  assert.equal((await call(server, 'GET', `/api/v1/pods?limit=1&continue=${page1.metadata.continue}`)).status, 410);

  // A CRD not installed: 404 with a Status.
  server.setServed('TCPRoute', false);
  const missing = await call(server, 'GET', '/apis/gateway.networking.k8s.io/v1alpha2/tcproutes');
  assert.equal(missing.status, 404);
  assert.equal((JSON.parse(missing.lines.join('')) as { reason: string }).reason, 'NotFound');
  assert.equal((await call(server, 'GET', '/apis/gateway.networking.k8s.io/v2/httproutes')).status, 404, 'an unserved version is 404');

  // Status subresource: merge patch only; status changes, spec does not.
  const path = '/apis/gateway.networking.k8s.io/v1/namespaces/default/httproutes/r/status';
  assert.equal((await call(server, 'PATCH', path, { body: '{"status":{"x":1}}', contentType: 'application/json-patch+json' })).status, 415);
  const patched = await call(server, 'PATCH', path, { body: '{"status":{"x":1},"spec":{"hostnames":["evil"]}}', contentType: 'application/merge-patch+json' });
  const obj = JSON.parse(patched.lines.join('')) as { status: unknown; spec: { hostnames?: unknown } };
  assert.deepEqual(obj.status, { x: 1 });
  assert.equal(obj.spec.hostnames, undefined);
});
