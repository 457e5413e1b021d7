// Table-driven tests of the request transformations a route asks for: header mutation, the
// Gateway API path-modifier table (URLRewrite/RequestRedirect) and redirect Location building.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { HeaderMutation, PathModifier, Redirect } from '../../src/waypoint/model/route-model.js';
import { applyHeaderMutation, redirectLocation, rewritePath, type HeaderMap, type RedirectRequest } from '../../src/waypoint/routing/index.js';

const headerCases: Array<{ name: string; before: Record<string, string[]>; mutation: HeaderMutation | undefined; after: Record<string, string[]> }> = [
  { name: 'undefined mutation is a no-op', before: { a: ['1'] }, mutation: undefined, after: { a: ['1'] } },
  { name: 'set replaces every value', before: { a: ['1', '2'], b: ['x'] }, mutation: { set: [{ name: 'a', value: '3' }] }, after: { a: ['3'], b: ['x'] } },
  { name: 'set creates', before: {}, mutation: { set: [{ name: 'a', value: '1' }] }, after: { a: ['1'] } },
  {
    name: 'add appends as a separate entry (conformance reads back old,new)',
    before: { 'x-header-add': ['some-other-value'] },
    mutation: { add: [{ name: 'x-header-add', value: 'add-appends-values' }] },
    after: { 'x-header-add': ['some-other-value', 'add-appends-values'] },
  },
  { name: 'add creates', before: {}, mutation: { add: [{ name: 'a', value: '1' }] }, after: { a: ['1'] } },
  { name: 'remove deletes every value; absent names are fine', before: { a: ['1', '2'], b: ['x'] }, mutation: { remove: ['a', 'zzz'] }, after: { b: ['x'] } },
  {
    name: 'set, then add, then remove',
    before: { a: ['old'], b: ['old'], c: ['old'] },
    mutation: { set: [{ name: 'a', value: 's' }, { name: 'c', value: 's' }], add: [{ name: 'a', value: 'x' }, { name: 'b', value: 'x' }], remove: ['c'] },
    after: { a: ['s', 'x'], b: ['old', 'x'] },
  },
];

for (const c of headerCases) {
  test(`applyHeaderMutation: ${c.name}`, () => {
    const h: HeaderMap = new Map(Object.entries(c.before).map(([k, v]) => [k, [...v]]));
    applyHeaderMutation(h, c.mutation);
    assert.deepEqual(Object.fromEntries(h), c.after);
  });
}

test('applyHeaderMutation never mutates a values array another map may share', () => {
  const shared = ['1'];
  const original: HeaderMap = new Map([['a', shared]]);
  const copy: HeaderMap = new Map(original);
  applyHeaderMutation(copy, { add: [{ name: 'a', value: '2' }] });
  assert.deepEqual(shared, ['1']);
  assert.deepEqual(original.get('a'), ['1']);
  assert.deepEqual(copy.get('a'), ['1', '2']);
});

// apis/v1/httproute_types.go HTTPPathModifier.ReplacePrefixMatch table, then the conformance
// HTTPRouteRewritePath /strip-prefix cases, then our own edges.
const prefixTable: Array<[path: string, prefix: string, replace: string, result: string]> = [
  ['/foo/bar', '/foo', '/xyz', '/xyz/bar'],
  ['/foo/bar', '/foo', '/xyz/', '/xyz/bar'],
  ['/foo/bar', '/foo/', '/xyz', '/xyz/bar'],
  ['/foo/bar', '/foo/', '/xyz/', '/xyz/bar'],
  ['/foo', '/foo', '/xyz', '/xyz'],
  ['/foo/', '/foo', '/xyz', '/xyz/'],
  ['/foo/bar', '/foo', '', '/bar'],
  ['/foo/', '/foo', '', '/'],
  ['/foo', '/foo', '', '/'],
  ['/foo/', '/foo', '/', '/'],
  ['/foo', '/foo', '/', '/'],
  ['/strip-prefix', '/strip-prefix', '/', '/'],
  ['/strip-prefix/three', '/strip-prefix', '/', '/three'],
  ['/prefix/one/two', '/prefix/one', '/one', '/one/two'],
  ['/a/b', '/', '/xyz', '/xyz/a/b'],
  ['/', '/', '/xyz', '/xyz/'],
  ['/a/b', '/', '/', '/a/b'],
  ['/FOO/bar', '/foo', '/xyz', '/xyz/bar'],
  ['/foobar', '/foo', '/xyz', '/xyzbar'],
  ['/other', '/foo', '/xyz', '/other'],
];

for (const [path, prefix, value, want] of prefixTable) {
  test(`rewritePath ReplacePrefixMatch ${path} with ${JSON.stringify(prefix)} → ${JSON.stringify(value)} = ${want}`, () => {
    assert.equal(rewritePath(path, { type: 'ReplacePrefixMatch', prefix, value }), want);
  });
}

test('rewritePath ReplaceFullPath replaces the whole path', () => {
  for (const path of ['/', '/a', '/a/b/c']) {
    assert.equal(rewritePath(path, { type: 'ReplaceFullPath', value: '/full' }), '/full');
  }
});

const request: RedirectRequest = { scheme: 'http', host: 'reviews.default:8080', path: '/a/b', query: 'x=1&y=2', servicePort: 8080 };
const prefix = (p: string, v: string): PathModifier => ({ type: 'ReplacePrefixMatch', prefix: p, value: v });

const redirectCases: Array<{ name: string; req?: Partial<RedirectRequest>; redirect: Omit<Redirect, 'statusCode'>; want: string }> = [
  { name: 'all defaults: request scheme, Host without port, dialled port, path and query kept', redirect: {}, want: 'http://reviews.default:8080/a/b?x=1&y=2' },
  { name: 'dialled port 80 with http is omitted', req: { host: 'reviews', servicePort: 80 }, redirect: {}, want: 'http://reviews/a/b?x=1&y=2' },
  { name: 'dialled port 443 with https is omitted', req: { scheme: 'https', host: 'reviews:443', servicePort: 443 }, redirect: {}, want: 'https://reviews/a/b?x=1&y=2' },
  { name: 'dialled port 443 with http is kept', req: { host: 'reviews', servicePort: 443 }, redirect: {}, want: 'http://reviews:443/a/b?x=1&y=2' },
  { name: 'scheme https set ⇒ port 443, omitted', redirect: { scheme: 'https' }, want: 'https://reviews.default/a/b?x=1&y=2' },
  { name: 'scheme http set on an https request ⇒ port 80, omitted', req: { scheme: 'https' }, redirect: { scheme: 'http' }, want: 'http://reviews.default/a/b?x=1&y=2' },
  { name: 'scheme and port set', redirect: { scheme: 'https', port: 8443 }, want: 'https://reviews.default:8443/a/b?x=1&y=2' },
  { name: 'port set without scheme', redirect: { port: 9090 }, want: 'http://reviews.default:9090/a/b?x=1&y=2' },
  { name: 'port 80 set on http is omitted', redirect: { port: 80 }, want: 'http://reviews.default/a/b?x=1&y=2' },
  { name: 'hostname replaced, dialled port kept', redirect: { hostname: 'example.org' }, want: 'http://example.org:8080/a/b?x=1&y=2' },
  { name: 'ReplaceFullPath', redirect: { path: { type: 'ReplaceFullPath', value: '/new' } }, want: 'http://reviews.default:8080/new?x=1&y=2' },
  { name: 'ReplacePrefixMatch', redirect: { path: prefix('/a', '/z') }, want: 'http://reviews.default:8080/z/b?x=1&y=2' },
  { name: 'no query ⇒ no ?', req: { query: '' }, redirect: {}, want: 'http://reviews.default:8080/a/b' },
  { name: 'IPv6 Host keeps its brackets', req: { host: '[fd00::1]:8080' }, redirect: {}, want: 'http://[fd00::1]:8080/a/b?x=1&y=2' },
  { name: 'Host without port', req: { host: 'reviews.default.svc.cluster.local' }, redirect: { scheme: 'https' }, want: 'https://reviews.default.svc.cluster.local/a/b?x=1&y=2' },
  {
    name: 'everything set',
    redirect: { scheme: 'https', hostname: 'example.com', port: 8443, path: prefix('/a/', '/') },
    want: 'https://example.com:8443/b?x=1&y=2',
  },
];

for (const c of redirectCases) {
  test(`redirectLocation: ${c.name}`, () => {
    const r = { ...request, ...c.req };
    // The status code (301 Core, 302 default, 303/307/308) never changes the Location.
    for (const statusCode of [301, 302, 303, 307, 308] as const) {
      assert.equal(redirectLocation(r, { ...c.redirect, statusCode }), c.want, `status ${statusCode}`);
    }
  });
}
