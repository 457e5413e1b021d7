// Table-driven tests for L4 authorization: every edge case of ztunnel src/rbac.rs semantics,
// CIDR handling for IPv4/IPv6, and the PeerAuthentication STRICT static policy.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { authorize, policyMatches, strictModePolicy, parseIp, parseCidr, cidrContains } from '../../src/rbac/index.js';
import type { RbacConnection } from '../../src/rbac/index.js';
import type { Authorization, RbacMatch, RbacRule, PolicyAction } from '../../src/state/types.js';

const EMPTY: RbacMatch = {
  namespaces: [],
  notNamespaces: [],
  principals: [],
  notPrincipals: [],
  serviceAccounts: [],
  notServiceAccounts: [],
  sourceIps: [],
  notSourceIps: [],
  destinationIps: [],
  notDestinationIps: [],
  destinationPorts: [],
  notDestinationPorts: [],
};
const m = (p: Partial<RbacMatch>): RbacMatch => ({ ...EMPTY, ...p });
const exact = (value: string) => ({ kind: 'exact', value }) as const;
const prefix = (value: string) => ({ kind: 'prefix', value }) as const;
const suffix = (value: string) => ({ kind: 'suffix', value }) as const;
const presence = { kind: 'presence' } as const;
const cidr = (ip: string, prefixLength: number) => ({ ip, prefixLength });

function pol(
  name: string,
  rules: readonly RbacRule[],
  action: PolicyAction = 'Allow',
  dryRun = false,
): Authorization {
  return { name, namespace: 'ns', scope: 'Namespace', action, dryRun, rules };
}
/** One rule, one clause, one match. */
const one = (match: RbacMatch, action: PolicyAction = 'Allow', name = 'p', dryRun = false) =>
  pol(name, [[[match]]], action, dryRun);

const plaintext: RbacConnection = { srcIp: '127.0.0.1', srcPort: 1234, dstIp: '127.0.0.2', dstPort: 8080, srcIdentity: undefined };
const tls: RbacConnection = {
  ...plaintext,
  srcIdentity: { trustDomain: 'td', namespace: 'namespace', serviceAccount: 'account' },
};
const tlsAlt: RbacConnection = {
  srcIp: '127.0.0.3',
  srcPort: 1234,
  dstIp: '127.0.0.4',
  dstPort: 9090,
  srcIdentity: { trustDomain: 'td-alt', namespace: 'ns-alt', serviceAccount: 'sa=alt' },
};

// [name, match, expected for plaintext, tls, tlsAlt] — mirrors ztunnel's per-field table.
const fieldCases: Array<[string, RbacMatch, boolean, boolean, boolean]> = [
  ['namespaces exact', m({ namespaces: [exact('namespace')] }), false, true, false],
  ['notNamespaces exact', m({ notNamespaces: [exact('namespace')] }), true, false, true],
  ['namespaces presence (no identity => empty ns)', m({ namespaces: [presence] }), false, true, true],
  ['namespaces prefix', m({ namespaces: [prefix('ns-')] }), false, false, true],
  ['namespaces suffix', m({ namespaces: [suffix('space')] }), false, true, false],
  ['serviceAccounts', m({ serviceAccounts: [{ namespace: 'namespace', serviceAccount: 'account' }] }), false, true, false],
  ['notServiceAccounts', m({ notServiceAccounts: [{ namespace: 'namespace', serviceAccount: 'account' }] }), true, false, true],
  ['serviceAccounts needs both ns and sa', m({ serviceAccounts: [{ namespace: 'ns-alt', serviceAccount: 'account' }] }), false, false, false],
  ['principals exact (no spiffe:// prefix)', m({ principals: [exact('td/ns/namespace/sa/account')] }), false, true, false],
  ['principals with spiffe:// never match', m({ principals: [exact('spiffe://td/ns/namespace/sa/account')] }), false, false, false],
  ['notPrincipals exact', m({ notPrincipals: [exact('td/ns/namespace/sa/account')] }), true, false, true],
  ['principals presence', m({ principals: [presence] }), false, true, true],
  ['notPrincipals presence (STRICT shape)', m({ notPrincipals: [presence] }), true, false, false],
  ['principals prefix', m({ principals: [prefix('td-alt/')] }), false, false, true],
  ['principals suffix', m({ principals: [suffix('/sa/account')] }), false, true, false],
  ['sourceIps /32', m({ sourceIps: [cidr('127.0.0.1', 32)] }), true, true, false],
  ['notSourceIps /32', m({ notSourceIps: [cidr('127.0.0.1', 32)] }), false, false, true],
  ['destinationIps /32', m({ destinationIps: [cidr('127.0.0.2', 32)] }), true, true, false],
  ['notDestinationIps /32', m({ notDestinationIps: [cidr('127.0.0.2', 32)] }), false, false, true],
  ['destinationIps /24 range', m({ destinationIps: [cidr('127.0.0.1', 24)] }), true, true, true],
  ['destinationIps /0', m({ destinationIps: [cidr('0.0.0.0', 0)] }), true, true, true],
  ['destinationPorts', m({ destinationPorts: [8080] }), true, true, false],
  ['notDestinationPorts', m({ notDestinationPorts: [8080] }), false, false, true],
  ['positive OR within a group', m({ destinationPorts: [1, 9090] }), false, false, true],
  ['positive and negative in one group', m({ namespaces: [presence], notNamespaces: [exact('namespace')] }), false, false, true],
  ['groups AND within a match', m({ destinationPorts: [8080], namespaces: [exact('namespace')] }), false, true, false],
  ['IPv6 CIDR never contains IPv4', m({ sourceIps: [cidr('::', 0)] }), false, false, false],
  ['IPv4-mapped CIDR /104 becomes 127.0.0.0/8', m({ sourceIps: [cidr('::ffff:127.0.0.0', 104)] }), true, true, true],
];

for (const [name, match, ePlain, eTls, eAlt] of fieldCases) {
  test(`match field: ${name}`, () => {
    const p = one(match);
    assert.equal(policyMatches(p, plaintext), ePlain, 'plaintext');
    assert.equal(policyMatches(p, tls), eTls, 'tls');
    assert.equal(policyMatches(p, tlsAlt), eAlt, 'tlsAlt');
  });
}

// [name, rules, expected for tls]
const structureCases: Array<[string, readonly RbacRule[], boolean]> = [
  ['no rules never matches', [], false],
  ['a rule with zero clauses matches everything', [[]], true],
  ['a clause with zero matches counts as matching', [[[]]], true],
  ['a clause whose only match is all-empty does not match', [[[EMPTY]]], false],
  ['all-empty matches are skipped, others still count', [[[EMPTY, m({ namespaces: [exact('namespace')] })]]], true],
  ['all-empty skipped, remaining match fails', [[[EMPTY, m({ namespaces: [exact('other')] })]]], false],
  ['clauses AND: both pass', [[[m({ namespaces: [exact('namespace')] })], [m({ destinationPorts: [8080] })]]], true],
  ['clauses AND: one fails', [[[m({ namespaces: [exact('namespace')] })], [m({ destinationPorts: [80] })]]], false],
  ['matches OR inside a clause', [[[m({ namespaces: [exact('a')] }), m({ namespaces: [exact('namespace')] })]]], true],
  ['rules OR', [[[m({ namespaces: [exact('a')] })]], [[m({ destinationPorts: [8080] })]]], true],
  ['rules OR: none pass', [[[m({ namespaces: [exact('a')] })]], [[m({ destinationPorts: [1] })]]], false],
  ['an empty clause AND a failing clause fails', [[[], [m({ destinationPorts: [1] })]]], false],
];

for (const [name, rules, expected] of structureCases) {
  test(`structure: ${name}`, () => {
    assert.equal(policyMatches(pol('p', rules), tls), expected);
  });
}

const v6 = (src: string, dst = '2001:db8::10', dstPort = 8080): RbacConnection => ({
  srcIp: src,
  srcPort: 5555,
  dstIp: dst,
  dstPort,
  srcIdentity: undefined,
});
// [name, match, connection, expected]
const ipCases: Array<[string, RbacMatch, RbacConnection, boolean]> = [
  ['v6 /32 contains', m({ sourceIps: [cidr('2001:db8::', 32)] }), v6('2001:db8::1'), true],
  ['v6 /32 excludes', m({ sourceIps: [cidr('2001:db8::', 32)] }), v6('2001:db9::1'), false],
  ['v6 /128 exact', m({ destinationIps: [cidr('2001:db8::10', 128)] }), v6('::1'), true],
  ['v6 /128 other host', m({ destinationIps: [cidr('2001:db8::11', 128)] }), v6('::1'), false],
  ['v6 non-byte prefix /61', m({ sourceIps: [cidr('2001:db8:0:8::', 61)] }), v6('2001:db8:0:f::1'), true],
  ['v6 non-byte prefix /61 excludes', m({ sourceIps: [cidr('2001:db8:0:8::', 61)] }), v6('2001:db8:0:10::1'), false],
  ['v6 long form equals short form', m({ sourceIps: [cidr('2001:0db8:0000:0000:0000:0000:0000:0001', 128)] }), v6('2001:db8::1'), true],
  ['v6 zone id ignored', m({ sourceIps: [cidr('fe80::', 10)] }), v6('fe80::1%eth0'), true],
  ['v6 bracketed address', m({ sourceIps: [cidr('::1', 128)] }), v6('[::1]'), true],
  ['v4 CIDR never contains v6', m({ sourceIps: [cidr('0.0.0.0', 0)] }), v6('::1'), false],
  ['v4-mapped v6 source matches v4 CIDR', m({ sourceIps: [cidr('10.0.0.0', 8)] }), v6('::ffff:10.1.2.3'), true],
  ['v4-mapped v6 dst matches v4 CIDR', m({ destinationIps: [cidr('10.1.2.3', 32)] }), v6('::1', '::ffff:10.1.2.3'), true],
  ['notSourceIps v6', m({ notSourceIps: [cidr('2001:db8::', 32)] }), v6('2001:db8::1'), false],
  ['unparseable source never in CIDR', m({ sourceIps: [cidr('0.0.0.0', 0)] }), v6('not-an-ip'), false],
  ['unparseable source passes notSourceIps', m({ notSourceIps: [cidr('0.0.0.0', 0)] }), v6('not-an-ip'), true],
];

for (const [name, match, conn, expected] of ipCases) {
  test(`ip: ${name}`, () => {
    assert.equal(policyMatches(one(match), conn), expected);
  });
}

test('ip parser: canonical bytes and rejects', () => {
  assert.deepEqual([...(parseIp('1.2.3.4') ?? [])], [1, 2, 3, 4]);
  assert.deepEqual([...(parseIp('::ffff:1.2.3.4') ?? [])], [1, 2, 3, 4]);
  assert.equal(parseIp('::')?.length, 16);
  assert.deepEqual([...(parseIp('64:ff9b::1.2.3.4') ?? [])].slice(12), [1, 2, 3, 4]);
  for (const bad of ['1.2.3', '1.2.3.256', '1::2::3', '12345::', ':1', '1:2:3:4:5:6:7:8:9', '', 'a.b.c.d']) {
    assert.equal(parseIp(bad), undefined, bad);
  }
  const net = parseCidr(cidr('10.0.0.0', 40));
  assert.equal(net?.prefixLength, 32, 'prefix is clamped to family width');
  assert.equal(cidrContains(net!, parseIp('10.0.0.0')!), true);
  assert.equal(parseCidr(cidr('bogus', 8)), undefined);
});

type Expect = { allowed: true; notes?: string[] } | { allowed: false; reason: string; policy?: string; notes?: string[] };
// [name, policies, connection, expected decision]
const decisionCases: Array<[string, Authorization[], RbacConnection, Expect]> = [
  ['no policies allows', [], tls, { allowed: true, notes: [] }],
  ['non-matching DENY allows', [one(m({ destinationPorts: [1] }), 'Deny')], tls, { allowed: true }],
  [
    'matching DENY denies with its key',
    [one(m({ destinationPorts: [8080] }), 'Deny', 'd')],
    tls,
    { allowed: false, reason: 'explicitly denied by: ns/d', policy: 'ns/d' },
  ],
  [
    'DENY is evaluated before ALLOW',
    [one(m({ destinationPorts: [8080] }), 'Allow', 'a'), one(m({ destinationPorts: [8080] }), 'Deny', 'd')],
    tls,
    { allowed: false, reason: 'explicitly denied by: ns/d', policy: 'ns/d' },
  ],
  ['matching ALLOW allows', [one(m({ namespaces: [exact('namespace')] }), 'Allow')], tls, { allowed: true }],
  [
    'ALLOW exists but none match',
    [one(m({ namespaces: [exact('other')] }), 'Allow')],
    tls,
    { allowed: false, reason: 'allow policies exist, but none allowed' },
  ],
  [
    'any ALLOW suffices',
    [one(m({ namespaces: [exact('other')] }), 'Allow', 'a1'), one(m({ destinationPorts: [8080] }), 'Allow', 'a2')],
    tls,
    { allowed: true },
  ],
  [
    'ALLOW with no rules denies everything',
    [pol('empty', [], 'Allow')],
    tls,
    { allowed: false, reason: 'allow policies exist, but none allowed' },
  ],
  ['DENY with no rules does nothing', [pol('empty', [], 'Deny')], plaintext, { allowed: true }],
  ['ALLOW with one empty rule allows all', [pol('all', [[]], 'Allow')], plaintext, { allowed: true }],
  [
    'dry-run DENY only annotates',
    [one(m({ destinationPorts: [8080] }), 'Deny', 'dd', true)],
    tls,
    { allowed: true, notes: ['dry-run: deny policy match: ns/dd'] },
  ],
  [
    'dry-run DENY note survives an enforced DENY',
    [one(m({ destinationPorts: [8080] }), 'Deny', 'dd', true), one(m({ destinationPorts: [8080] }), 'Deny', 'd')],
    tls,
    { allowed: false, reason: 'explicitly denied by: ns/d', policy: 'ns/d', notes: ['dry-run: deny policy match: ns/dd'] },
  ],
  [
    'dry-run ALLOW not matching: allowed, noted',
    [one(m({ namespaces: [exact('other')] }), 'Allow', 'da', true)],
    tls,
    { allowed: true, notes: ['dry-run: no allow policies match'] },
  ],
  [
    'dry-run ALLOW matching: noted',
    [one(m({ namespaces: [exact('namespace')] }), 'Allow', 'da', true)],
    tls,
    { allowed: true, notes: ['dry-run: allow policy match: ns/da'] },
  ],
  [
    'dry-run ALLOW does not make "allow policies exist"',
    [pol('da', [], 'Allow', true)],
    plaintext,
    { allowed: true, notes: ['dry-run: no allow policies match'] },
  ],
  [
    'dry-run ALLOW matching does not rescue an enforced ALLOW miss',
    [one(m({ namespaces: [exact('namespace')] }), 'Allow', 'da', true), one(m({ namespaces: [exact('x')] }), 'Allow', 'a')],
    tls,
    { allowed: false, reason: 'allow policies exist, but none allowed', notes: ['dry-run: allow policy match: ns/da'] },
  ],
  // istiod strips L7: an ALLOW whose rules all used HTTP attributes arrives with no rules.
  [
    'L7-only ALLOW (rules dropped) denies all',
    [pol('http-only', [], 'Allow')],
    tls,
    { allowed: false, reason: 'allow policies exist, but none allowed' },
  ],
  // DENY keeps its L4 parts: `from: namespaces` + `to: methods` -> the `to` clause is an all-empty Match.
  [
    'L7-stripped DENY with an all-empty `to` clause never fires',
    [pol('deny-get', [[[m({ namespaces: [exact('namespace')] })], [EMPTY]]], 'Deny')],
    tls,
    { allowed: true },
  ],
  [
    'L7-stripped DENY keeping an L4 port still fires',
    [pol('deny-port', [[[m({ destinationPorts: [8080] })]]], 'Deny')],
    tls,
    { allowed: false, reason: 'explicitly denied by: ns/deny-port', policy: 'ns/deny-port' },
  ],
  [
    'no identity: principal ALLOW denies plaintext',
    [one(m({ principals: [presence] }), 'Allow', 'a')],
    plaintext,
    { allowed: false, reason: 'allow policies exist, but none allowed' },
  ],
  [
    'no identity: namespace DENY does not fire',
    [one(m({ namespaces: [presence] }), 'Deny', 'd')],
    plaintext,
    { allowed: true },
  ],
  [
    'STRICT static policy denies plaintext',
    [strictModePolicy()],
    plaintext,
    {
      allowed: false,
      reason: 'explicitly denied by: istio-system/istio_converted_static_strict',
      policy: 'istio-system/istio_converted_static_strict',
    },
  ],
  ['STRICT static policy allows mTLS peers', [strictModePolicy()], tls, { allowed: true }],
  [
    'STRICT static policy in a custom root namespace',
    [strictModePolicy('mesh-root')],
    plaintext,
    {
      allowed: false,
      reason: 'explicitly denied by: mesh-root/istio_converted_static_strict',
      policy: 'mesh-root/istio_converted_static_strict',
    },
  ],
];

for (const [name, policies, conn, expected] of decisionCases) {
  test(`authorize: ${name}`, () => {
    const d = authorize(policies, conn);
    assert.equal(d.allowed, expected.allowed);
    if (expected.notes !== undefined) assert.deepEqual(d.dryRunNotes, expected.notes);
    if (!expected.allowed) {
      assert.equal(d.allowed, false);
      if (!d.allowed) {
        assert.equal(d.reason, expected.reason);
        assert.equal(d.policy, expected.policy);
      }
    }
  });
}

test('strictModePolicy shape', () => {
  const p = strictModePolicy();
  assert.equal(p.name, 'istio_converted_static_strict');
  assert.equal(p.namespace, 'istio-system');
  assert.equal(p.action, 'Deny');
  assert.equal(p.scope, 'WorkloadSelector');
  assert.equal(p.dryRun, false);
  assert.deepEqual(p.rules[0]?.[0]?.[0]?.notPrincipals, [{ kind: 'presence' }]);
});
