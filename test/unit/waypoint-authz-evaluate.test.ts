// The waypoint's L7 authorization evaluator, table-driven: every source/operation field and its
// not-form, the match forms, `when` keys, DENY before ALLOW, AUDIT, empty policies, CUSTOM,
// dry-run, service scoping, and what TCP connections and unknown attributes do per action.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AuthzPolicy, AuthzRule } from '../../src/waypoint/index.js';
import { AuthzTable, evaluateAuthz, ipBytes, peerIdentity, requestAuth, type AuthzRequest } from '../../src/waypoint/security/index.js';

const SVC = 'default/reviews.default.svc.cluster.local';
const OTHER = 'default/ratings.default.svc.cluster.local';

const BASE: AuthzRequest = {
  protocol: 'http',
  peer: peerIdentity('spiffe://cluster.local/ns/default/sa/sleep'),
  sourceIp: ipBytes('10.0.0.5'),
  sourceIpText: '10.0.0.5',
  remoteIp: ipBytes('203.0.113.7'),
  destinationIp: ipBytes('10.96.0.10'),
  destinationPort: 80,
  sni: '',
  host: 'Reviews.default.svc.cluster.local:80',
  method: 'GET',
  path: '/api/v1/items/42',
  headers: new Map([['x-user', ['alice']], ['x-multi', ['a', 'b']], ['host', ['Reviews.default.svc.cluster.local:80']]]),
  auth: requestAuth({ iss: 'https://issuer.example', sub: 'user-1', aud: ['api', 'web'], azp: 'spa', scope: 'read write', groups: ['dev', 'ops'], nested: { team: { name: 'blue' } }, admin: true }, []),
};

function policy(action: AuthzPolicy['action'], rules: AuthzRule[], over: Partial<AuthzPolicy> = {}): AuthzPolicy {
  return { namespace: 'default', name: `${action.toLowerCase()}-p`, action, rules, ...over };
}

function decide(policies: AuthzPolicy[], over: Partial<AuthzRequest> = {}, svc = SVC) {
  return evaluateAuthz(new AuthzTable(policies).forService(svc), { ...BASE, ...over });
}

/** A one-rule ALLOW policy: allowed ⇔ the rule matches. */
const matches = (rule: AuthzRule, over: Partial<AuthzRequest> = {}): boolean => decide([policy('ALLOW', [rule])], over).allowed;

interface Row {
  readonly name: string;
  readonly rule: AuthzRule;
  readonly over?: Partial<AuthzRequest>;
  readonly match: boolean;
}

const rows: Row[] = [
  // from.source
  { name: 'principals exact', rule: { from: [{ principals: ['cluster.local/ns/default/sa/sleep'] }] }, match: true },
  { name: 'principals other', rule: { from: [{ principals: ['cluster.local/ns/default/sa/other'] }] }, match: false },
  { name: 'principals prefix', rule: { from: [{ principals: ['cluster.local/ns/default/*'] }] }, match: true },
  { name: 'principals suffix', rule: { from: [{ principals: ['*/sa/sleep'] }] }, match: true },
  { name: 'principals presence', rule: { from: [{ principals: ['*'] }] }, match: true },
  { name: 'principals presence without a peer', rule: { from: [{ principals: ['*'] }] }, over: { peer: undefined }, match: false },
  { name: 'principals: values are ORed', rule: { from: [{ principals: ['x', 'cluster.local/ns/default/sa/sleep'] }] }, match: true },
  { name: 'notPrincipals excludes', rule: { from: [{ notPrincipals: ['*/sa/sleep'] }] }, match: false },
  { name: 'notPrincipals other passes', rule: { from: [{ notPrincipals: ['*/sa/other'] }] }, match: true },
  { name: 'notPrincipals without a peer passes', rule: { from: [{ notPrincipals: ['*'] }] }, over: { peer: undefined }, match: true },
  { name: 'namespaces', rule: { from: [{ namespaces: ['default'] }] }, match: true },
  { name: 'namespaces prefix', rule: { from: [{ namespaces: ['def*'] }] }, match: true },
  { name: 'namespaces other', rule: { from: [{ namespaces: ['prod'] }] }, match: false },
  { name: 'notNamespaces', rule: { from: [{ notNamespaces: ['default'] }] }, match: false },
  { name: 'serviceAccounts ns/sa', rule: { from: [{ serviceAccounts: ['default/sleep'] }] }, match: true },
  { name: 'serviceAccounts other ns', rule: { from: [{ serviceAccounts: ['prod/sleep'] }] }, match: false },
  { name: 'notServiceAccounts', rule: { from: [{ notServiceAccounts: ['default/sleep'] }] }, match: false },
  { name: 'requestPrincipals iss/sub', rule: { from: [{ requestPrincipals: ['https://issuer.example/user-1'] }] }, match: true },
  { name: 'requestPrincipals presence, no token', rule: { from: [{ requestPrincipals: ['*'] }] }, over: { auth: undefined }, match: false },
  { name: 'requestPrincipals prefix', rule: { from: [{ requestPrincipals: ['https://issuer.example/*'] }] }, match: true },
  { name: 'notRequestPrincipals, no token', rule: { from: [{ notRequestPrincipals: ['*'] }] }, over: { auth: undefined }, match: true },
  { name: 'ipBlocks CIDR', rule: { from: [{ ipBlocks: ['10.0.0.0/24'] }] }, match: true },
  { name: 'ipBlocks single IP', rule: { from: [{ ipBlocks: ['10.0.0.5'] }] }, match: true },
  { name: 'ipBlocks other', rule: { from: [{ ipBlocks: ['10.1.0.0/16'] }] }, match: false },
  { name: 'notIpBlocks', rule: { from: [{ notIpBlocks: ['10.0.0.0/8'] }] }, match: false },
  { name: 'ipBlocks IPv6 never holds IPv4', rule: { from: [{ ipBlocks: ['::/0'] }] }, match: false },
  { name: 'remoteIpBlocks read remote.ip', rule: { from: [{ remoteIpBlocks: ['203.0.113.0/24'] }] }, match: true },
  { name: 'remoteIpBlocks not the source', rule: { from: [{ remoteIpBlocks: ['10.0.0.5'] }] }, match: false },
  { name: 'notRemoteIpBlocks', rule: { from: [{ notRemoteIpBlocks: ['203.0.113.7'] }] }, match: false },
  { name: 'source fields are ANDed', rule: { from: [{ namespaces: ['default'], ipBlocks: ['10.9.0.0/16'] }] }, match: false },
  { name: 'sources are ORed', rule: { from: [{ namespaces: ['prod'] }, { ipBlocks: ['10.0.0.0/8'] }] }, match: true },
  // to.operation
  { name: 'hosts case-insensitive exact', rule: { to: [{ hosts: ['reviews.default.svc.cluster.local:80'] }] }, match: true },
  { name: 'hosts without the port do not match host:port', rule: { to: [{ hosts: ['reviews.default.svc.cluster.local'] }] }, match: false },
  { name: 'hosts prefix form', rule: { to: [{ hosts: ['REVIEWS.*'] }] }, match: true },
  { name: 'hosts suffix form', rule: { to: [{ hosts: ['*:80'] }] }, match: true },
  { name: 'notHosts', rule: { to: [{ notHosts: ['reviews*'] }] }, match: false },
  { name: 'methods', rule: { to: [{ methods: ['GET', 'HEAD'] }] }, match: true },
  { name: 'methods are case-sensitive', rule: { to: [{ methods: ['get'] }] }, match: false },
  { name: 'notMethods', rule: { to: [{ notMethods: ['GET'] }] }, match: false },
  { name: 'paths exact', rule: { to: [{ paths: ['/api/v1/items/42'] }] }, match: true },
  { name: 'paths exact other', rule: { to: [{ paths: ['/api/v1/items'] }] }, match: false },
  { name: 'paths prefix', rule: { to: [{ paths: ['/api/*'] }] }, match: true },
  { name: 'paths suffix', rule: { to: [{ paths: ['*/42'] }] }, match: true },
  { name: 'paths presence', rule: { to: [{ paths: ['*'] }] }, match: true },
  { name: 'paths {*} one segment', rule: { to: [{ paths: ['/api/v1/items/{*}'] }] }, match: true },
  { name: 'paths {*} is exactly one segment', rule: { to: [{ paths: ['/api/{*}/42'] }] }, match: false },
  { name: 'paths {*} in the middle', rule: { to: [{ paths: ['/api/v1/{*}/42'] }] }, match: true },
  { name: 'paths {*} does not span /', rule: { to: [{ paths: ['/api/{*}'] }] }, match: false },
  { name: 'paths {**} rest', rule: { to: [{ paths: ['/api/{**}'] }] }, match: true },
  { name: 'paths {*} then {**}', rule: { to: [{ paths: ['/{*}/v1/{**}'] }] }, match: true },
  { name: 'notPaths prefix', rule: { to: [{ notPaths: ['/api/*'] }] }, match: false },
  { name: 'ports', rule: { to: [{ ports: [80] }] }, match: true },
  { name: 'ports other', rule: { to: [{ ports: [8080] }] }, match: false },
  { name: 'notPorts', rule: { to: [{ notPorts: [80] }] }, match: false },
  { name: 'operations are ORed', rule: { to: [{ methods: ['POST'] }, { paths: ['/api/*'] }] }, match: true },
  { name: 'operation fields are ANDed', rule: { to: [{ methods: ['GET'], paths: ['/admin'] }] }, match: false },
  // when
  { name: 'request.headers exact', rule: { when: [{ key: 'request.headers[X-User]', values: ['alice'] }] }, match: true },
  { name: 'request.headers repeated joined with ,', rule: { when: [{ key: 'request.headers[x-multi]', values: ['a,b'] }] }, match: true },
  { name: 'request.headers absent', rule: { when: [{ key: 'request.headers[x-none]', values: ['*'] }] }, match: false },
  { name: 'request.headers notValues, absent header', rule: { when: [{ key: 'request.headers[x-none]', notValues: ['x'] }] }, match: true },
  { name: 'source.ip', rule: { when: [{ key: 'source.ip', values: ['10.0.0.0/16'] }] }, match: true },
  { name: 'source.ip notValues', rule: { when: [{ key: 'source.ip', notValues: ['10.0.0.5'] }] }, match: false },
  { name: 'remote.ip', rule: { when: [{ key: 'remote.ip', values: ['203.0.113.7'] }] }, match: true },
  { name: 'source.namespace', rule: { when: [{ key: 'source.namespace', values: ['default'] }] }, match: true },
  { name: 'source.principal', rule: { when: [{ key: 'source.principal', values: ['*/sa/sleep'] }] }, match: true },
  { name: 'request.auth.principal', rule: { when: [{ key: 'request.auth.principal', values: ['https://issuer.example/user-1'] }] }, match: true },
  { name: 'request.auth.audiences any', rule: { when: [{ key: 'request.auth.audiences', values: ['web'] }] }, match: true },
  { name: 'request.auth.presenter', rule: { when: [{ key: 'request.auth.presenter', values: ['spa'] }] }, match: true },
  { name: 'request.auth.claims string', rule: { when: [{ key: 'request.auth.claims[iss]', values: ['https://issuer.example'] }] }, match: true },
  { name: 'request.auth.claims list element', rule: { when: [{ key: 'request.auth.claims[groups]', values: ['ops'] }] }, match: true },
  { name: 'request.auth.claims scope is space-delimited', rule: { when: [{ key: 'request.auth.claims[scope]', values: ['write'] }] }, match: true },
  { name: 'request.auth.claims nested', rule: { when: [{ key: 'request.auth.claims[nested][team][name]', values: ['blue'] }] }, match: true },
  { name: 'request.auth.claims boolean matches no string', rule: { when: [{ key: 'request.auth.claims[admin]', values: ['true'] }] }, match: false },
  { name: 'request.auth.claims without a token', rule: { when: [{ key: 'request.auth.claims[iss]', values: ['*'] }] }, over: { auth: undefined }, match: false },
  { name: 'destination.ip', rule: { when: [{ key: 'destination.ip', values: ['10.96.0.0/16'] }] }, match: true },
  { name: 'destination.port', rule: { when: [{ key: 'destination.port', values: ['80'] }] }, match: true },
  { name: 'destination.port notValues', rule: { when: [{ key: 'destination.port', notValues: ['80', '81'] }] }, match: false },
  { name: 'connection.sni: none inside HBONE', rule: { when: [{ key: 'connection.sni', values: ['*'] }] }, match: false },
  { name: 'when conditions are ANDed', rule: { when: [{ key: 'source.namespace', values: ['default'] }, { key: 'destination.port', values: ['81'] }] }, match: false },
  // structure
  { name: 'empty rule matches everything', rule: {}, match: true },
  { name: 'from, to and when all needed', rule: { from: [{ namespaces: ['default'] }], to: [{ methods: ['GET'] }], when: [{ key: 'request.headers[x-user]', values: ['bob'] }] }, match: false },
];

for (const r of rows) {
  test(`ALLOW rule: ${r.name}`, () => assert.equal(matches(r.rule, r.over), r.match));
}

test('DENY is checked before ALLOW; the first matching DENY policy and rule are named', () => {
  const allowAll = policy('ALLOW', [{}]);
  const deny = policy('DENY', [{ to: [{ methods: ['POST'] }] }, { to: [{ paths: ['/api/*'] }] }], { name: 'no-api' });
  const d = decide([allowAll, deny]);
  assert.deepEqual({ allowed: d.allowed, policy: d.policy, details: d.details, flags: d.flags },
    { allowed: false, policy: 'default/no-api', details: 'rbac_access_denied_matched_policy[ns[default]-policy[no-api]-rule[1]]', flags: '-' });
  assert.equal(decide([allowAll, deny], { path: '/public' }).allowed, true);
});

test('no ALLOW policy ⇒ allow; ALLOW policies that all miss ⇒ deny with [none]; any ALLOW match ⇒ allow', () => {
  assert.equal(decide([]).allowed, true);
  assert.equal(decide([policy('DENY', [{ to: [{ methods: ['POST'] }] }])]).allowed, true);
  const miss = decide([policy('ALLOW', [{ to: [{ methods: ['POST'] }] }], { name: 'a' }), policy('ALLOW', [{ from: [{ namespaces: ['prod'] }] }], { name: 'b' })]);
  assert.deepEqual([miss.allowed, miss.policy, miss.details], [false, 'none', 'rbac_access_denied_matched_policy[none]']);
  assert.equal(decide([policy('ALLOW', [{ to: [{ methods: ['POST'] }] }], { name: 'a' }), policy('ALLOW', [{ from: [{ namespaces: ['default'] }] }], { name: 'b' })]).allowed, true);
});

test('spec {} (ALLOW, no rules) denies everything; rules [{}] allows everything; DENY without rules never matches', () => {
  assert.equal(decide([policy('ALLOW', [])]).allowed, false);
  assert.equal(decide([policy('ALLOW', [{}])]).allowed, true);
  assert.equal(decide([policy('DENY', [])]).allowed, true);
  assert.equal(decide([policy('DENY', [{}])]).allowed, false);
});

test('AUDIT marks the request and never decides', () => {
  const d = decide([policy('AUDIT', [{ to: [{ paths: ['/api/*'] }] }], { name: 'audit-api' })]);
  assert.deepEqual([d.allowed, d.audit], [true, 'default/audit-api']);
  assert.equal(decide([policy('AUDIT', [{ to: [{ paths: ['/x'] }] }])]).audit, undefined);
  const denied = decide([policy('AUDIT', [{}], { name: 'au' }), policy('ALLOW', [])]);
  assert.deepEqual([denied.allowed, denied.audit], [false, 'default/au']);
});

test('CUSTOM is not supported: its targets are denied (flag UAEX), whatever its rules and before DENY/ALLOW', () => {
  const d = decide([policy('CUSTOM', [{ to: [{ paths: ['/never'] }] }], { name: 'ext' }), policy('ALLOW', [{}])]);
  assert.deepEqual([d.allowed, d.flags, d.details, d.policy], [false, 'UAEX', 'ext_authz_error', 'default/ext']);
  // Not its target: unaffected.
  assert.equal(decide([policy('CUSTOM', [], { services: [OTHER] })]).allowed, true);
});

test('dry-run policies are evaluated on the side and never enforced', () => {
  const d = decide([policy('DENY', [{}], { name: 'shadow', dryRun: true })]);
  assert.deepEqual([d.allowed, d.dryRun], [true, { allowed: false, policy: 'default/shadow' }]);
  const a = decide([policy('ALLOW', [{ to: [{ methods: ['POST'] }] }], { name: 'shadow-allow', dryRun: true })]);
  assert.deepEqual([a.allowed, a.dryRun], [true, { allowed: false, policy: 'none' }]);
  assert.equal(decide([policy('DENY', [{}])]).dryRun, undefined);
});

test('service scoping: a policy naming services applies only to them; waypoint-wide ones to all', () => {
  const scoped = policy('DENY', [{}], { name: 'only-ratings', services: [OTHER] });
  assert.equal(decide([scoped]).allowed, true);
  assert.equal(decide([scoped], {}, OTHER).allowed, false);
  assert.equal(decide([policy('DENY', [{}], { name: 'all' })], {}, OTHER).allowed, false);
});

test('TCP connections: an ALLOW rule with HTTP fields never matches (whole rule), a DENY rule treats them as matching', () => {
  const tcp: Partial<AuthzRequest> = { protocol: 'tcp', host: undefined, method: undefined, path: undefined, headers: undefined, auth: undefined };
  // ALLOW: namespaces alone match; with paths in another `from`/`to` branch the whole rule is ignored.
  assert.equal(matches({ from: [{ namespaces: ['default'] }] }, tcp), true);
  assert.equal(matches({ from: [{ namespaces: ['default'] }], to: [{ ports: [80] }, { paths: ['/x'] }] }, tcp), false);
  assert.equal(matches({ when: [{ key: 'request.headers[x]', values: ['y'] }] }, tcp), false);
  // DENY: the HTTP parts count as matching; the L4 parts still decide.
  assert.equal(decide([policy('DENY', [{ to: [{ methods: ['POST'], ports: [80] }] }])], tcp).allowed, false);
  assert.equal(decide([policy('DENY', [{ to: [{ methods: ['POST'], ports: [81] }] }])], tcp).allowed, true);
  assert.equal(decide([policy('DENY', [{ to: [{ notPaths: ['/public/*'] }] }])], tcp).allowed, false);
  // The waypoint does not read TLS SNI on TCP ports: unknown there (DENY denies, ALLOW never matches).
  assert.equal(decide([policy('DENY', [{ when: [{ key: 'connection.sni', values: ['x'] }] }])], tcp).allowed, false);
  assert.equal(matches({ when: [{ key: 'connection.sni', notValues: ['x'] }] }, tcp), false);
  assert.equal(matches({ when: [{ key: 'connection.sni', notValues: ['x'] }] }), true, 'HTTP: no SNI, a plain compare');
});

test('what cannot be evaluated fails closed: unknown keys and unparseable values never allow, always deny', () => {
  const unknownKey: AuthzRule = { when: [{ key: 'experimental.envoy.filters.network.mysql_proxy[db.table]', values: ['[update]'] }] };
  assert.equal(matches(unknownKey), false);
  assert.equal(decide([policy('DENY', [unknownKey])]).allowed, false);
  const badIp: AuthzRule = { from: [{ ipBlocks: ['10.0.0.0/99'] }] };
  assert.equal(matches(badIp), false);
  assert.equal(decide([policy('DENY', [badIp])]).allowed, false);
  // A bad value next to a good one that matches: ALLOW still refuses the whole rule (invalid), DENY matches.
  assert.equal(matches({ from: [{ ipBlocks: ['nope', '10.0.0.0/8'] }] }), false);
  assert.equal(decide([policy('DENY', [{ from: [{ notIpBlocks: ['nope'] }] }])]).allowed, false);
  const badTemplate: AuthzRule = { to: [{ paths: ['/{**}/x/{*}'] }] };
  assert.equal(matches(badTemplate), false);
  assert.equal(decide([policy('DENY', [badTemplate])]).allowed, false);
  assert.equal(decide([policy('DENY', [{ when: [{ key: 'destination.port', values: ['http'] }] }])]).allowed, false);
});
