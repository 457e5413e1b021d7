// `ambit ctl` rendering, table-driven: aligned tables, cells kept on one line, JSON/YAML output, and
// each command's rows from a dump (waypoint names, endpoint counts, certificate chains and validity,
// connections named after services and pods, route match and action summaries, explain text).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse as parseYaml } from 'yaml';
import {
  actionSummary,
  cell,
  certificatesTable,
  connectionsTable,
  formatStructured,
  matchSummary,
  policiesTable,
  renderExplanation,
  renderTable,
  servicesTable,
  workloadsTable,
  type ConnectionRow,
  type DumpCertificate,
  type MeshView,
} from '../../src/ctl/index.js';
import type { Explanation } from '../../src/proxy/index.js';
import type { Route, RouteMatch } from '../../src/waypoint/index.js';

test('renderTable: columns padded to the widest cell plus two spaces, no trailing spaces, empty cells as -', () => {
  const text = renderTable({ headers: ['A', 'LONG HEADER', 'C'], rows: [['xxxx', '', 'z'], ['y', 'b', '']] });
  assert.equal(text, ['A     LONG HEADER  C', 'xxxx  -            z', 'y     b            -', ''].join('\n'));
});

test('renderTable: header only for no rows; a short row is filled', () => {
  assert.equal(renderTable({ headers: ['NAMESPACE', 'NAME'], rows: [] }), 'NAMESPACE  NAME\n');
  assert.equal(renderTable({ headers: ['A', 'B'], rows: [['x']] }), 'A  B\nx  -\n');
});

const cells: Array<[unknown, string]> = [
  ['plain', 'plain'],
  ['two\nlines', 'two lines'],
  ['tab\there', 'tab here'],
  ['esc\u001b[31mred', 'esc [31mred'],
  [undefined, '-'],
  [null, '-'],
  ['', '-'],
  [0, '0'],
  [false, 'false'],
];
for (const [input, want] of cells) {
  test(`cell(${JSON.stringify(input)}) is one line: ${JSON.stringify(want)}`, () => assert.equal(cell(input), want));
}

test('renderTable aligns by code points (a name with an accent counts once)', () => {
  assert.equal(renderTable({ headers: ['N', 'X'], rows: [['café', '1'], ['ab', '2']] }), 'N     X\ncafé  1\nab    2\n');
});

test('formatStructured: JSON with two-space indentation, YAML that parses back to the same value', () => {
  const value = { workloads: [{ name: 'a', ips: ['10.0.0.1'], n: 1, ok: true }], empty: [] };
  assert.equal(formatStructured(value, 'json'), `${JSON.stringify(value, null, 2)}\n`);
  const y = formatStructured(value, 'yaml');
  assert.ok(y.endsWith('\n'));
  assert.deepEqual(parseYaml(y), value);
  // The same object twice is written out twice, not as a YAML alias.
  const shared = { a: 1 };
  assert.ok(!formatStructured([shared, shared], 'yaml').includes('*'));
});

const view: MeshView = {
  workloads: [
    { uid: 'k//Pod/demo/s1', name: 's1', namespace: 'demo', workloadIps: ['10.0.0.4'], node: 'node2', protocol: 'HBONE', services: { 'demo/echo.demo.svc.cluster.local': { '80': 8080 } }, status: 'Healthy' },
    { uid: 'k//Pod/demo/s2', name: 's2', namespace: 'demo', workloadIps: ['10.0.0.5'], node: 'node2', protocol: 'HBONE', services: { 'demo/echo.demo.svc.cluster.local': { '80': 8080 } }, status: 'Unhealthy' },
    { uid: 'k//Pod/demo/c1', name: 'c1', namespace: 'demo', workloadIps: ['10.0.0.2'], node: 'node1', protocol: 'HBONE', waypoint: { destination: { kind: 'address', network: '', ip: '10.96.0.20' }, hboneMtlsPort: 15008 } },
    { uid: 'k//Pod/other/x', name: 'x', namespace: 'other', workloadIps: ['10.0.1.9', 'fd00::9'], node: 'node1', protocol: 'TCP', waypoint: { destination: { kind: 'address', network: '', ip: '10.0.0.99' } } },
    { uid: 'k//Pod/demo/wp', name: 'waypoint-7c9', namespace: 'demo', workloadIps: ['10.0.0.40'], node: 'node1', protocol: 'HBONE' },
  ],
  services: [
    { name: 'echo', namespace: 'demo', hostname: 'echo.demo.svc.cluster.local', vips: [{ network: '', ip: '10.96.0.10' }], waypoint: { destination: { kind: 'hostname', namespace: 'demo', hostname: 'waypoint.demo.svc.cluster.local' } } },
    { name: 'waypoint', namespace: 'demo', hostname: 'waypoint.demo.svc.cluster.local', vips: [{ network: '', ip: '10.96.0.20' }] },
    { name: 'ext', namespace: 'demo', hostname: 'ext.example.com', vips: [], waypoint: { destination: { kind: 'hostname', namespace: 'demo', hostname: 'gone.demo.svc.cluster.local' } } },
  ],
  policies: [
    { name: 'deny-all', namespace: 'demo', action: 'Deny', scope: 'Namespace' },
    { name: 'istio_converted_static_strict', namespace: 'istio-system', action: 'Deny', scope: 'WorkloadSelector' },
    { name: 'audit', namespace: 'demo', action: 'Allow', scope: 'WorkloadSelector', dryRun: true },
  ],
};

test('workloads: sorted by namespace and name; waypoint by service VIP, None, or the raw address; all IPs', () => {
  assert.equal(
    renderTable(workloadsTable(view, undefined)),
    [
      'NAMESPACE  POD NAME      ADDRESS           NODE   WAYPOINT   PROTOCOL',
      'demo       c1            10.0.0.2          node1  waypoint   HBONE',
      'demo       s1            10.0.0.4          node2  None       HBONE',
      'demo       s2            10.0.0.5          node2  None       HBONE',
      'demo       waypoint-7c9  10.0.0.40         node1  None       HBONE',
      'other      x             10.0.1.9,fd00::9  node1  10.0.0.99  TCP',
      '',
    ].join('\n'),
  );
  assert.deepEqual(workloadsTable(view, 'other').rows.map((r) => r[1]), ['x']);
  assert.deepEqual(workloadsTable(view, 'nope').rows, []);
});

test('services: VIPs, waypoint by hostname (or its first label when unknown), endpoints healthy/total', () => {
  assert.deepEqual(servicesTable(view, 'demo').rows, [
    ['demo', 'echo', '10.96.0.10', 'waypoint', '1/2'],
    ['demo', 'ext', '', 'gone', '0/0'],
    ['demo', 'waypoint', '10.96.0.20', 'None', '0/0'],
  ]);
});

test('policies: by namespace and name; a dry-run policy is marked', () => {
  assert.deepEqual(policiesTable(view, undefined).rows, [
    ['demo', 'audit', 'Allow (dry run)', 'WorkloadSelector'],
    ['demo', 'deny-all', 'Deny', 'Namespace'],
    ['istio-system', 'istio_converted_static_strict', 'Deny', 'WorkloadSelector'],
  ]);
});

const NOW = Date.parse('2026-06-01T00:00:00Z');
const cert = (serial: string, from: string, to: string) => ({ serialNumber: serial, validFrom: from, expirationTime: to });
const certs: DumpCertificate[] = [
  {
    identity: 'spiffe://cluster.local/ns/demo/sa/server',
    state: 'Available',
    certChain: [cert('AA', '2026-05-31T00:00:00Z', '2026-06-02T00:00:00Z'), cert('BB', '2026-01-01T00:00:00Z', '2027-01-01T00:00:00Z')],
    rootCerts: [cert('CC', '2025-01-01T00:00:00Z', '2035-01-01T00:00:00Z')],
  },
  { identity: 'spiffe://cluster.local/ns/demo/sa/client', state: 'Unavailable: CA refused: no token', certChain: [cert('DD', '2026-05-01T00:00:00Z', '2026-05-02T00:00:00Z')], rootCerts: [] },
  { identity: 'spiffe://cluster.local/ns/demo/sa/new', state: 'Initializing', certChain: [], rootCerts: [] },
];

test('certificates: one row per certificate (Leaf, Intermediate, Root), validity against the clock, NA without a chain', () => {
  assert.deepEqual(certificatesTable(certs, NOW).rows, [
    ['spiffe://cluster.local/ns/demo/sa/client', 'Leaf', 'Unavailable', 'false', 'DD', '2026-05-02T00:00:00Z', '2026-05-01T00:00:00Z'],
    ['spiffe://cluster.local/ns/demo/sa/new', 'NA', 'Initializing', 'false', 'NA', 'NA', 'NA'],
    ['spiffe://cluster.local/ns/demo/sa/server', 'Leaf', 'Available', 'true', 'AA', '2026-06-02T00:00:00Z', '2026-05-31T00:00:00Z'],
    ['spiffe://cluster.local/ns/demo/sa/server', 'Intermediate', 'Available', 'true', 'BB', '2027-01-01T00:00:00Z', '2026-01-01T00:00:00Z'],
    ['spiffe://cluster.local/ns/demo/sa/server', 'Root', 'Available', 'true', 'CC', '2035-01-01T00:00:00Z', '2025-01-01T00:00:00Z'],
  ]);
});

const conns: ConnectionRow[] = [
  { workloadUid: 'k//Pod/demo/s1', direction: 'inbound', protocol: 'HBONE', local: '10.0.0.4:8080', remote: '10.0.0.2:40000', remoteTarget: '10.0.0.4:8080', identity: 'spiffe://cluster.local/ns/demo/sa/client' },
  { workloadUid: 'k//Pod/demo/c1', direction: 'outbound', protocol: 'HBONE', local: '10.0.0.2:40000', remote: '10.0.0.4:15008', remoteTarget: '10.96.0.10:80' },
  { workloadUid: 'k//Pod/other/x', direction: 'outbound', protocol: 'TCP', local: '[fd00::9]:5000', remote: '[fd00::77]:443', remoteTarget: '[fd00::77]:443' },
  { workloadUid: 'k//Pod/gone/y', direction: 'inbound', protocol: 'TCP', local: '10.0.9.9:80', remote: '10.0.0.2:1234' },
];

test('connections: workload as name.namespace, addresses named after services and pods, sorted', () => {
  assert.deepEqual(connectionsTable(conns, view, undefined, false).rows, [
    ['c1.demo', 'Outbound', 'c1.demo:40000', 's1.demo:15008', 'echo.demo.svc.cluster.local:80', 'HBONE'],
    ['s1.demo', 'Inbound', 's1.demo:8080', 'c1.demo:40000', 's1.demo:8080', 'HBONE'],
    ['k//Pod/gone/y', 'Inbound', '10.0.9.9:80', 'c1.demo:1234', '', 'TCP'],
    ['x.other', 'Outbound', 'x.other:5000', '[fd00::77]:443', '[fd00::77]:443', 'TCP'],
  ]);
});

test('connections: --raw keeps addresses; --namespace keeps the namespace\'s workloads', () => {
  assert.deepEqual(connectionsTable(conns, view, 'other', true).rows, [['x.other', 'Outbound', '[fd00::9]:5000', '[fd00::77]:443', '[fd00::77]:443', 'TCP']]);
});

const matches: Array<[string, RouteMatch, string]> = [
  ['match-all', {}, '*'],
  ['path prefix', { path: { type: 'PathPrefix', value: '/api' } }, 'path prefix /api'],
  ['exact path, any case', { path: { type: 'Exact', value: '/login', ignoreCase: true } }, 'path exact /login (any case)'],
  ['regex path', { path: { type: 'RegularExpression', value: '/v[0-9]+/.*' } }, 'path regex /v[0-9]+/.*'],
  [
    'method, headers and query',
    {
      method: 'GET',
      headers: [
        { name: 'x-user', type: 'Exact', value: 'jason' },
        { name: 'x-beta', type: 'Present', value: '' },
        { name: 'x-env', type: 'Prefix', value: 'prod', invert: true },
      ],
      queryParams: [{ name: 'v', type: 'RegularExpression', value: '^1' }],
    },
    'method GET, header x-user=jason, header x-beta present, not header x-env^=prod, query v~=^1',
  ],
  ['grpc service, any method', { grpc: { type: 'Exact', service: 'helloworld.Greeter' } }, 'grpc /helloworld.Greeter/*'],
];
for (const [name, m, want] of matches) {
  test(`matchSummary: ${name}`, () => assert.equal(matchSummary(m), want));
}

const route = (action: Route['action']): Route => ({ name: 'r', source: { kind: 'HTTPRoute', namespace: 'demo', name: 'r', rule: 0, match: 0 }, match: {}, action });
const actions: Array<[string, Route['action'], string]> = [
  ['one backend', { kind: 'forward', backends: [{ cluster: 'outbound|80||a', weight: 1 }] }, 'outbound|80||a'],
  [
    'weighted with an invalid backend',
    { kind: 'forward', backends: [{ cluster: 'outbound|80||a', weight: 90 }, { weight: 10, invalidReason: 'BackendNotFound', invalidStatus: 500 }] },
    'outbound|80||a (weight 90), <invalid: BackendNotFound → 500> (weight 10)',
  ],
  ['no backends', { kind: 'forward', backends: [] }, 'no backends'],
  ['redirect', { kind: 'redirect', redirect: { statusCode: 301, scheme: 'https', hostname: 'example.com', port: 8443, path: { type: 'ReplaceFullPath', value: '/new' } } }, 'redirect 301 https://example.com:8443/new'],
  ['redirect prefix', { kind: 'redirect', redirect: { statusCode: 302, path: { type: 'ReplacePrefixMatch', prefix: '/old', value: '/new' } } }, 'redirect 302 /old→/new'],
  ['direct answer', { kind: 'direct', status: 500 }, 'direct 500'],
];
for (const [name, action, want] of actions) {
  test(`actionSummary: ${name}`, () => assert.equal(actionSummary(route(action)), want));
}

const w = (ns: string, name: string, ip: string, node: string, sa: string) => ({ uid: `k//Pod/${ns}/${name}`, namespace: ns, name, node, ip, identity: `spiffe://cluster.local/ns/${ns}/sa/${sa}`, protocol: 'HBONE' as const });

test('renderExplanation: route, the deciding policy and rule, the verdict; labels aligned', () => {
  const echo = w('default', 'echo', '10.0.0.21', 'b', 'echo');
  const e: Explanation = {
    from: { input: 'default/client2', ip: '10.0.0.12', workload: w('default', 'client2', '10.0.0.12', 'a', 'other'), captured: true },
    to: { input: 'echo:80', ip: '10.96.0.10', port: 80, service: { namespace: 'default', hostname: 'echo.default.svc.cluster.local' }, workload: undefined },
    route: {
      kind: 'hbone',
      protocol: 'HBONE',
      nextHop: '10.0.0.21:15008',
      authority: '10.0.0.21:8080',
      expectedIdentities: [echo.identity],
      waypoint: undefined,
      service: 'default/echo.default.svc.cluster.local',
      endpoint: { workload: echo, address: '10.0.0.21:8080' },
      candidates: [{ workload: echo, address: '10.0.0.21:8080' }],
      error: undefined,
    },
    authorization: [
      {
        workload: echo,
        enforcedBy: 'node agent of node b, inbound HBONE (15008)',
        connection: { srcIp: '10.0.0.12', dstIp: '10.0.0.21', dstPort: 8080, srcIdentity: 'spiffe://cluster.local/ns/default/sa/other' },
        allowed: false,
        decision: 'deny-policy',
        policy: 'default/deny-other',
        action: 'Deny',
        rule: 0,
        reason: 'denied by DENY policy default/deny-other rule 0',
        policies: ['default/deny-other'],
        dryRunNotes: [],
        chosen: true,
      },
    ],
    verdict: 'deny',
    summary: 'denied by DENY policy default/deny-other rule 0',
    notes: [],
    evaluatedBy: 'a',
  };
  assert.equal(
    renderExplanation(e),
    [
      'SOURCE        default/client2 10.0.0.12 (node a, spiffe://cluster.local/ns/default/sa/other)',
      '              in the mesh: its outbound connections go through the node agent',
      'DESTINATION   10.96.0.10:80 (echo:80)',
      '              service default/echo.default.svc.cluster.local',
      'ROUTE         HBONE (mTLS HTTP/2 CONNECT) to 10.0.0.21:15008, authority 10.0.0.21:8080',
      '              expects spiffe://cluster.local/ns/default/sa/echo',
      '              service default/echo.default.svc.cluster.local',
      '              endpoint default/echo 10.0.0.21:8080',
      '              waypoint none',
      'AUTHORIZATION at default/echo, by the node agent of node b, inbound HBONE (15008)',
      '                connection 10.0.0.12 spiffe://cluster.local/ns/default/sa/other → 10.0.0.21:8080',
      '                policies   default/deny-other',
      '                DENY       denied by DENY policy default/deny-other rule 0',
      'VERDICT       DENY: denied by DENY policy default/deny-other rule 0',
      "EVALUATED BY  the node agent of node a, with the data path's routing and authorization code on its live state",
      '',
    ].join('\n'),
  );
});
