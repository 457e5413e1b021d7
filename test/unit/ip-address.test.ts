// Table-driven tests for IP canonicalisation and CIDR containment used by state and config parsing.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalIp, cidrContains, parseCidr } from '../../src/state/index.js';

test('canonicalIp', () => {
  const cases: [string, string | undefined][] = [
    ['10.0.0.1', '10.0.0.1'],
    ['FD00:0:0::1', 'fd00::1'],
    ['2001:db8:0:0:0:0:0:1', '2001:db8::1'],
    ['::ffff:1.2.3.4', '::ffff:1.2.3.4'],
    ['10.0.0.256', undefined],
    ['010.0.0.1', undefined],
    ['fe80::1%eth0', undefined],
    ['example.com', undefined],
  ];
  for (const [input, want] of cases) assert.equal(canonicalIp(input), want, input);
});

test('parseCidr and cidrContains', () => {
  const cases: [string, string, boolean][] = [
    ['10.0.0.0/8', '10.255.1.1', true],
    ['10.0.0.0/8', '11.0.0.1', false],
    ['10.1.2.3', '10.1.2.3', true],
    ['10.1.2.3', '10.1.2.4', false],
    ['0.0.0.0/0', '192.168.1.1', true],
    ['0.0.0.0/0', '::1', false],
    ['fd00::/64', 'fd00::abcd', true],
    ['fd00::/64', 'fd00:0:0:1::1', false],
    ['::ffff:10.0.0.0/120', '::ffff:10.0.0.7', true],
    ['::/0', 'fd00::1', true],
  ];
  for (const [cidrText, ip, want] of cases) {
    const cidr = parseCidr(cidrText);
    assert.ok(typeof cidr !== 'string', cidrText);
    assert.equal(cidrContains(cidr, canonicalIp(ip) as string), want, `${cidrText} ∋ ${ip}`);
  }
  assert.match(parseCidr('10.0.0.0/33') as string, /prefix length/);
  assert.match(parseCidr('x/8') as string, /not an IP/);
});
