// The CONNECT header check, rule by rule (RFC 9113 §8.2.1, §8.2.2, §8.3, §8.3.1, §8.5; RFC 9110
// §7.2), and the
// adapter from Node's decoded header object.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connectHeaderProblem, headerFieldsOf, type HeaderField } from '../../src/hbone/index.js';

const BASE: HeaderField[] = [[':method', 'CONNECT'], [':authority', '10.0.0.1:8080']];

const cases: Array<{ name: string; extra: HeaderField[]; base?: HeaderField[]; problem: RegExp | undefined }> = [
  { name: 'a plain HBONE CONNECT', extra: [['baggage', 'k8s.namespace.name=default'], ['forwarded', 'for="10.0.0.2"']], problem: undefined },
  { name: 'te: trailers (any case), also two te fields joined by Node', extra: [['te', 'Trailers'], ['te', 'trailers, trailers']], problem: undefined },
  { name: 'obs-text and inner tab/space in a value', extra: [['x-a', 'caf\u00e9 \t ok']], problem: undefined },
  { name: 'host equal to :authority, any case', base: [[':method', 'CONNECT'], [':authority', 'Echo.default:80']], extra: [['host', 'echo.DEFAULT:80']], problem: undefined },
  { name: 'CR in a value', extra: [['x-a', 'a\rb']], problem: /value of "x-a" contains CR, LF or NUL/ },
  { name: 'LF in a value', extra: [['x-a', 'a\nSet-Cookie: x']], problem: /CR, LF or NUL/ },
  { name: 'NUL in a value', extra: [['x-a', 'a\0']], problem: /CR, LF or NUL/ },
  { name: 'CR in :authority', base: [[':method', 'CONNECT'], [':authority', '10.0.0.1:80\r']], extra: [], problem: /":authority" contains CR/ },
  { name: 'leading space', extra: [['x-a', ' a']], problem: /starts or ends with whitespace/ },
  { name: 'trailing tab', extra: [['x-a', 'a\t']], problem: /starts or ends with whitespace/ },
  { name: 'empty name', extra: [['', 'v']], problem: /empty field name/ },
  { name: 'upper-case name', extra: [['X-Forwarded-For', '1.2.3.4']], problem: /"X-Forwarded-For" is not a lower-case token/ },
  { name: 'space in a name', extra: [['x a', 'v']], problem: /not a lower-case token/ },
  { name: 'colon inside a regular name', extra: [['x:a', 'v']], problem: /not a lower-case token/ },
  { name: 'non-ASCII name', extra: [['x\u00e9', 'v']], problem: /not a lower-case token/ },
  { name: 'connection', extra: [['connection', 'close']], problem: /connection-specific field connection/ },
  { name: 'keep-alive', extra: [['keep-alive', 'timeout=5']], problem: /connection-specific field keep-alive/ },
  { name: 'proxy-connection', extra: [['proxy-connection', 'keep-alive']], problem: /connection-specific/ },
  { name: 'transfer-encoding', extra: [['transfer-encoding', 'chunked']], problem: /connection-specific/ },
  { name: 'upgrade', extra: [['upgrade', 'h2c']], problem: /connection-specific field upgrade/ },
  { name: 'te: gzip', extra: [['te', 'gzip']], problem: /te other than "trailers"/ },
  { name: 'te: trailers, gzip', extra: [['te', 'trailers, gzip']], problem: /te other than "trailers"/ },
  { name: 'CONNECT with :scheme', extra: [[':scheme', 'https']], problem: /CONNECT with :scheme/ },
  { name: 'CONNECT with :path', extra: [[':path', '/']], problem: /CONNECT with :path/ },
  { name: 'unknown pseudo-header', extra: [[':protocol', 'websocket']], problem: /unknown pseudo-header ":protocol"/ },
  { name: 'repeated pseudo-header', extra: [[':authority', '10.0.0.2:80']], problem: /:authority appears twice/ },
  { name: 'host differing from :authority', extra: [['host', 'evil.example']], problem: /host differs from :authority/ },
  { name: 'two host fields', extra: [['host', 'evil.example'], ['host', '10.0.0.1:8080']], problem: /host appears twice/ },
];

for (const c of cases) {
  test(`connectHeaderProblem: ${c.name}`, () => {
    const problem = connectHeaderProblem([...(c.base ?? BASE), ...c.extra]);
    if (c.problem === undefined) assert.equal(problem, undefined);
    else assert.match(problem ?? '(none)', c.problem);
  });
}

test('GET with :scheme and :path is not malformed (only CONNECT must omit them)', () => {
  assert.equal(connectHeaderProblem([[':method', 'GET'], [':scheme', 'https'], [':path', '/'], [':authority', 'a']]), undefined);
});

test('messages name the field but never carry its value', () => {
  const problem = connectHeaderProblem([...BASE, ['authorization', 'Bearer s3cr3t\r\n']]);
  assert.match(problem ?? '', /"authorization"/);
  assert.doesNotMatch(problem ?? '', /s3cr3t/);
  const long = connectHeaderProblem([...BASE, ['X'.repeat(5000), 'v']]) ?? '';
  assert.ok(long.length < 200, `a long name is cut in the message (${long.length} chars)`);
});

test('headerFieldsOf: arrays become one field each; symbol keys (sensitive headers) are skipped', () => {
  const headers = Object.assign(Object.create(null) as Record<string, unknown>, {
    ':method': 'CONNECT',
    'set-cookie': ['a=1', 'b=2'],
    'x-n': 5,
    [Symbol('sensitive')]: ['x-n'],
  });
  assert.deepEqual(headerFieldsOf(headers as never), [[':method', 'CONNECT'], ['set-cookie', 'a=1'], ['set-cookie', 'b=2'], ['x-n', '5']]);
});
