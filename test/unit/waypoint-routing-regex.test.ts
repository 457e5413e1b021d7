// Table-driven tests of compileRegex: RE2 syntax translated to JavaScript with whole-string
// matching, and refusal (MeshError CONFIG_INVALID) of what RE2 lacks or what is not valid RE2.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isMeshError } from '../../src/common/errors.js';
import { compileRegex } from '../../src/waypoint/routing/index.js';

const accepted: Array<{ name: string; pattern: string; ignoreCase?: boolean; yes: string[]; no: string[] }> = [
  { name: 'whole-string match, not a search', pattern: 'abc', yes: ['abc'], no: ['xabc', 'abcx', 'ABC'] },
  { name: 'alternation is grouped before anchoring', pattern: 'a|ab', yes: ['a', 'ab'], no: ['abc', 'b'] },
  { name: 'path-like pattern', pattern: '/v[0-9]+/.*', yes: ['/v12/foo', '/v1/'], no: ['/v/foo', '/v1'] },
  { name: 'counted repetition is exact', pattern: '\\d{3}', yes: ['123'], no: ['1234', '12'] },
  { name: 'bounded repetition', pattern: 'a{2,3}', yes: ['aa', 'aaa'], no: ['a', 'aaaa'] },
  { name: 'RE2 takes x{,3} literally', pattern: 'x{,3}', yes: ['x{,3}'], no: ['xxx'] },
  { name: 'stray ] and } are literals', pattern: 'a]}', yes: ['a]}'], no: ['a'] },
  { name: 'leading ] in a class is literal', pattern: '[]a]+', yes: [']a]'], no: ['b'] },
  { name: 'escaped punctuation is literal', pattern: '\\-\\#\\:\\.', yes: ['-#:.'], no: ['-#:x'] },
  { name: 'leading (?i) sets case-insensitivity', pattern: '(?i)/API/v1', yes: ['/api/V1', '/API/v1'], no: ['/api/v2'] },
  { name: 'ignoreCase option', pattern: '/api', ignoreCase: true, yes: ['/API', '/Api'], no: ['/apix'] },
  { name: 'RE2 \\s is ASCII whitespace only', pattern: 'a\\sb', yes: ['a b', 'a\tb'], no: ['a\u00a0b'] },
  { name: '\\S excludes only ASCII whitespace', pattern: '\\S', yes: ['x', '\u00a0'], no: [' '] },
  { name: '\\Q...\\E quotes metacharacters', pattern: '\\Q.*+\\E', yes: ['.*+'], no: ['ab'] },
  { name: 'POSIX classes', pattern: '[[:digit:][:upper:]]+', yes: ['1A2B'], no: ['1a'] },
  { name: 'Unicode general category', pattern: '\\pL+', yes: ['abcé'], no: ['ab1'] },
  { name: 'Unicode script by bare name', pattern: '\\p{Greek}+', yes: ['αβγ'], no: ['abc'] },
  { name: 'negated Unicode script', pattern: '\\p{^Greek}+', yes: ['abc'], no: ['αβγ'] },
  { name: 'hex escapes, braced and plain', pattern: '\\x{41}\\x42', yes: ['AB'], no: ['ab'] },
  { name: 'octal escape', pattern: 'a\\012b', yes: ['a\nb'], no: ['a\\012b'] },
  { name: 'RE2 named group (?P<name>)', pattern: '(?P<svc>[a-z]+)\\.default', yes: ['foo.default'], no: ['foo.other'] },
  { name: 'named group (?<name>)', pattern: '(?<v>v\\d)/x', yes: ['v1/x'], no: ['v/x'] },
  { name: '\\A and \\z anchors', pattern: '\\Aabc\\z', yes: ['abc'], no: ['abc\n'] },
  { name: '. excludes newline by default', pattern: 'a.b', yes: ['axb'], no: ['a\nb'] },
  { name: '(?s) lets . match newline', pattern: '(?s)a.b', yes: ['a\nb'], no: ['ab'] },
  { name: '(?m) keeps whole-string matching', pattern: '(?m)a$\\n^b', yes: ['a\nb'], no: ['a\nbc', 'xa\nb'] },
  { name: '(?m) alone does not turn a match into a line search', pattern: '(?m)a', yes: ['a'], no: ['a\nb'] },
  { name: 'lazy quantifier', pattern: 'a+?b', yes: ['aab'], no: ['b'] },
  { name: '. matches one code point (UTF-8 in RE2)', pattern: 'x.y', yes: ['x😀y'], no: ['xy'] },
  { name: 'empty pattern matches only the empty string', pattern: '', yes: [''], no: ['a'] },
];

for (const c of accepted) {
  test(`compileRegex accepts: ${c.name}`, () => {
    const re = compileRegex(c.pattern, { ignoreCase: c.ignoreCase });
    for (const s of c.yes) assert.equal(re.test(s), true, `${c.pattern} should match ${JSON.stringify(s)}`);
    for (const s of c.no) assert.equal(re.test(s), false, `${c.pattern} should not match ${JSON.stringify(s)}`);
  });
}

const refused: Array<{ pattern: string; reason: RegExp }> = [
  { pattern: '(a)\\1', reason: /backreferences/ },
  { pattern: '(a)\\9', reason: /backreferences/ },
  { pattern: '(?P<n>a)(?P=n)', reason: /backreferences/ },
  { pattern: '(?<n>a)\\k<n>', reason: /named backreferences/ },
  { pattern: '(?=a)a', reason: /lookahead/ },
  { pattern: 'a(?!b)', reason: /lookahead/ },
  { pattern: '(?<=a)b', reason: /lookbehind/ },
  { pattern: '(?<!a)b', reason: /lookbehind/ },
  { pattern: 'a*+', reason: /possessive/ },
  { pattern: 'a++', reason: /possessive/ },
  { pattern: 'a?+', reason: /possessive/ },
  { pattern: 'a{2}+', reason: /possessive/ },
  { pattern: '(?>ab|a)c', reason: /atomic/ },
  { pattern: 'a{1001}', reason: /at most 1000/ },
  { pattern: 'a{3,2}', reason: /max below min/ },
  { pattern: '(a', reason: /.+/ },
  { pattern: '[a', reason: /missing closing \]/ },
  { pattern: 'a\\', reason: /trailing backslash/ },
  { pattern: '\\Z', reason: /invalid escape/ },
  { pattern: '*a', reason: /.+/ },
  { pattern: 'a(?i:b)', reason: /inline flags/ },
  { pattern: '(?U)a+', reason: /ungreedy/ },
  { pattern: '(?#comment)a', reason: /comments/ },
  { pattern: '\\p{NoSuchScript}', reason: /.+/ },
];

for (const c of refused) {
  test(`compileRegex refuses ${JSON.stringify(c.pattern)}`, () => {
    assert.throws(
      () => compileRegex(c.pattern),
      (err: unknown) => {
        assert.ok(isMeshError(err, 'CONFIG_INVALID'), `expected CONFIG_INVALID, got ${String(err)}`);
        assert.match(err.message, c.reason);
        assert.ok(err.message.includes(JSON.stringify(c.pattern)), 'the message names the pattern');
        return true;
      },
    );
  });
}
