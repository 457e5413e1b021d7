// The VirtualService path rewrites the waypoint runs: Envoy prefix_rewrite (plain string, matched
// prefix swapped, ignoreUriCase aware) and regex_rewrite (RE2 GlobalReplace with \N groups);
// Istio durations as the translation reads them.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseIstioDuration } from '../../src/controlplane/index.js';
import type { PathModifier } from '../../src/waypoint/model/route-model.js';
import { rewritePath } from '../../src/waypoint/routing/index.js';

test('PrefixRewrite is Envoy prefix_rewrite: the matched characters swapped, nothing else', () => {
  const rows: [string, PathModifier, string][] = [
    ['/foo/x', { type: 'PrefixRewrite', prefix: '/foo', value: '/bar' }, '/bar/x'],
    ['/foo/x', { type: 'PrefixRewrite', prefix: '/foo', value: '/bar/' }, '/bar//x'],
    ['/foox', { type: 'PrefixRewrite', prefix: '/foo', value: '/bar' }, '/barx'],
    ['/foo/x', { type: 'PrefixRewrite', prefix: '/foo/', value: '/bar' }, '/barx'],
    ['/x', { type: 'PrefixRewrite', prefix: '/', value: '/v2' }, '/v2x'],
    ['/x', { type: 'PrefixRewrite', prefix: '/', value: '/' }, '/x'],
    ['/FOO/x', { type: 'PrefixRewrite', prefix: '/foo', value: '/bar', ignoreCase: true }, '/bar/x'],
    ['/FOO/x', { type: 'PrefixRewrite', prefix: '/foo', value: '/bar' }, '/FOO/x'],
    ['/other', { type: 'PrefixRewrite', prefix: '/foo', value: '/bar' }, '/other'],
  ];
  for (const [path, m, out] of rows) assert.equal(rewritePath(path, m), out, `${path} ${JSON.stringify(m)}`);
});

test('RegexRewrite is Envoy regex_rewrite: every match replaced, \\N groups, \\\\ a backslash, $ literal', () => {
  const rows: [string, string, string, string][] = [
    ['/service/foo/v1/api', '^/service/([^/]+)(/.*)$', '\\2/instance/\\1', '/v1/api/instance/foo'],
    ['/aaa/bbb', 'a', 'x', '/xxx/bbb'],
    ['/a/b', '/', '\\\\', '\\a\\b'],
    ['/price', 'price', '$1\\0', '/$1price'],
    ['/keep', 'zzz', 'y', '/keep'],
    ['/Foo', '(?i)foo', 'bar', '/bar'],
  ];
  for (const [path, pattern, substitution, out] of rows) {
    assert.equal(rewritePath(path, { type: 'RegexRewrite', pattern, substitution }), out, `${path} ${pattern} → ${substitution}`);
  }
  assert.throws(() => rewritePath('/x', { type: 'RegexRewrite', pattern: '(a)\\1', substitution: '' }), { code: 'CONFIG_INVALID' });
});

test('Istio durations: Go syntax, rounded up to a millisecond; anything else refused', () => {
  const rows: [unknown, number | undefined][] = [
    ['10s', 10_000], ['1.5s', 1500], ['250ms', 250], ['5m', 300_000], ['1h30m', 5_400_000], ['100us', 1], ['0', 0], ['0s', 0], ['.5s', 500],
    ['', undefined], ['10', undefined], ['-1s', undefined], ['1d', undefined], [10, undefined], ['1 s', undefined],
  ];
  for (const [text, ms] of rows) assert.equal(parseIstioDuration(text), ms, String(text));
});
