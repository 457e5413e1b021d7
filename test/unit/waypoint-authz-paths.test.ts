// Paths as waypoint policies see them: Istio's BASE normalization (what policies match and what
// the backend receives), Envoy URI templates ({*}, {**}) and their validation, and match forms.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compilePathTemplate, matchForm, methodProblem, normalizePath, pathTemplateProblem } from '../../src/waypoint/security/index.js';

const normalized: [string, string][] = [
  ['/a/b', '/a/b'],
  ['/', '/'],
  ['/%61%62%63', '/abc'],
  ['/%41%5A%5f%2D%2e%7E%30%39', '/AZ_-.~09'],
  ['/some%2fdata', '/some%2fdata'],
  ['/some%5Cdata', '/some%5Cdata'],
  ['/a%20b', '/a%20b'],
  ['/%2561', '/%2561'],
  ['/some\\data', '/some/data'],
  ['/public/./data/abc/../xyz', '/public/data/xyz'],
  ['/a/%2e%2e/b', '/b'],
  ['/a/%2E/b', '/a/b'],
  ['/../../etc', '/etc'],
  ['/a/b/..', '/a/'],
  ['/a/b/.', '/a/b/'],
  ['/a//b', '/a//b'],
  ['/a\\..\\admin', '/admin'],
  ['http://host:80/x/../y', '/y'],
  ['http://host', '/'],
  ['*', '*'],
];

for (const [raw, want] of normalized) {
  test(`normalizePath ${JSON.stringify(raw)} → ${want}`, () => assert.deepEqual(normalizePath(raw), { ok: true, path: want }));
}

for (const [raw, reason] of [
  ['/a%00b', 'path holds %00'],
  ['/a#frag', 'path holds a fragment'],
  ['relative/path', 'path does not start with "/"'],
] as const) {
  test(`normalizePath refuses ${JSON.stringify(raw)} (400)`, () => assert.deepEqual(normalizePath(raw), { ok: false, reason }));
}

test('methods must be upper case', () => {
  assert.equal(methodProblem('GET'), undefined);
  assert.equal(methodProblem('PROPFIND'), undefined);
  assert.match(methodProblem('get') ?? '', /not upper case/);
});

const templates: [string, string, boolean][] = [
  ['/foo/{*}', '/foo/bar', true],
  ['/foo/{*}', '/foo/bar/baz', false],
  ['/foo/{*}', '/foo/', false],
  ['/foo/{**}', '/foo/', true],
  ['/foo/{**}', '/foo/bar/baz.txt', true],
  ['/foo/{**}', '/foo', false],
  ['/foo/{**}/', '/foo/bar/', true],
  ['/foo/{**}/', '/foo//', true],
  ['/foo/{**}/', '/foo/bar', false],
  ['/foo/{*}/bar/{**}', '/foo/buzz/bar/', true],
  ['/foo/{*}/bar/{**}', '/foo/buzz/bar/baz', true],
  ['/foo/{*}/bar/{**}', '/foo/buzz/qux/baz', false],
  ['/a.b/{*}', '/aXb/c', false],
  ['/a.b/{*}', '/a.b/c', true],
  ['/v1/{*}', '/v1/a%2Fb', true],
];
for (const [tpl, path, want] of templates) {
  test(`template ${tpl} ${want ? 'matches' : 'does not match'} ${path}`, () => {
    assert.equal(pathTemplateProblem(tpl), undefined);
    assert.equal(compilePathTemplate(tpl).test(path), want);
  });
}

for (const tpl of ['/*/baz/{*}', '/**/baz/{*}', '/{**}/foo/{*}', '/foo/{*}.txt', 'foo/{*}', '/foo//{*}', '/foo/{x}/{*}']) {
  test(`template ${tpl} is invalid`, () => assert.notEqual(pathTemplateProblem(tpl), undefined));
}

test('match forms: exact, prefix, suffix, presence; only an edge * is special', () => {
  const cases: [string, string, boolean][] = [
    ['abc', 'abc', true], ['abc', 'abcd', false], ['abc*', 'abcd', true], ['abc*', 'abc', true], ['abc*', 'xabc', false],
    ['*abc', 'xabc', true], ['*abc', 'abcx', false], ['*', 'x', true], ['*', '', false], ['a*b', 'a*b', true], ['a*b', 'axb', false],
  ];
  for (const [form, v, want] of cases) assert.equal(matchForm(form)(v), want, `${form} vs ${v}`);
  assert.equal(matchForm('Example.COM')('example.com'), false);
  assert.equal(matchForm('Example.COM', true)('example.com'), true);
  assert.equal(matchForm('*.Example.com', true)('API.example.COM'), true);
});
