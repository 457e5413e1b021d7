// Route status from the whole translation (translateAll → waypoints.routeStatus), per case: dropped
// rules (PartiallyInvalid, or Accepted=False when none is left), unresolved references, GRPCRoute
// and TCPRoute, conflicts with a higher-precedence kind, an older TCPRoute or a VirtualService,
// routes on non-HTTP ports, routes no waypoint serves, several parents.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RouteStatus } from '../../src/controlplane/index.js';
import type { KubeObject } from '../../src/k8s/index.js';
import { gateway, namespace, service } from '../helpers/k8s-objects.js';
import { grpcRoute, meshWithWaypoint, route, svc, tcpRoute, toService, translateWp, virtualService } from '../helpers/waypoint-objects.js';

const ACCEPTED = 'Accepted=True Accepted: Route was valid';
const RESOLVED = 'ResolvedRefs=True ResolvedRefs: All references resolved';
const WAYPOINTS = 'ResolvedWaypoints=True ResolvedWaypoints: All waypoints resolved';
const GEP = '(GEP-1294: GRPCRoute > HTTPRoute > TCPRoute)';

const to = (name: string, port = 80): Record<string, unknown> => ({ name, port });
const ok = { backendRefs: [to('echo')] };
const grpcSvc = (): KubeObject => svc('g', { ports: [{ name: 'grpc', port: 9000 }] });
const dbSvc = (name = 'db'): KubeObject => svc(name, { ports: [{ name: 'tcp', port: 5432 }] });
const mixed = (): KubeObject => svc('m', { ports: [{ name: 'grpc', port: 80 }, { name: 'http', port: 81 }] });

function statuses(objects: KubeObject[]): readonly RouteStatus[] {
  return translateWp(meshWithWaypoint(...objects)).all.waypoints.routeStatus;
}

/** `Type=Status Reason: message` of each condition, per parent. */
function view(objects: KubeObject[], kind: string, name: string): string[][] {
  const s = statuses(objects).find((r) => r.kind === kind && r.name === name);
  assert.ok(s, `no status for ${kind} ${name}`);
  return s.parents.map((p) => p.conditions.map((c) => `${c.type}=${c.status} ${c.reason}: ${c.message}`));
}

const rows: [string, KubeObject[], string, string, string[][]][] = [
  [
    'HTTPRoute with one bad rule of two: the rule is dropped, PartiallyInvalid',
    [svc('echo'), route('r', { parentRefs: toService('echo'), rules: [ok, { filters: [{ type: 'Teleport' }], backendRefs: [to('echo')] }] })],
    'HTTPRoute', 'r',
    [[ACCEPTED, 'PartiallyInvalid=True UnsupportedValue: Dropped Rule 1: spec.rules[1].filters[0].type: unsupported filter type "Teleport"', RESOLVED, WAYPOINTS]],
  ],
  [
    'two rules dropped of three: both listed, in rule order',
    [svc('echo'), route('r', { parentRefs: toService('echo'), rules: [{ timeouts: { request: '1.5s' }, ...ok }, ok, { matches: [{ method: 'FETCH' }], ...ok }] })],
    'HTTPRoute', 'r',
    [[
      ACCEPTED,
      'PartiallyInvalid=True UnsupportedValue: Dropped Rules 0, 2: spec.rules[0].timeouts.request: "1.5s" is not a duration (GEP-2257: e.g. 500ms, 1h30m); spec.rules[2].matches[0].method: "FETCH" is not an HTTP method the Gateway API allows',
      RESOLVED,
      WAYPOINTS,
    ]],
  ],
  [
    'every rule dropped: not Accepted (UnsupportedValue), no PartiallyInvalid',
    [svc('echo'), route('r', { parentRefs: toService('echo'), rules: [{ filters: [{ type: 'Teleport' }], ...ok }] })],
    'HTTPRoute', 'r',
    [['Accepted=False UnsupportedValue: All rules dropped: spec.rules[0].filters[0].type: unsupported filter type "Teleport"', RESOLVED, WAYPOINTS]],
  ],
  [
    'RequestRedirect with URLRewrite: IncompatibleFilters',
    [svc('echo'), route('r', { parentRefs: toService('echo'), rules: [{ filters: [{ type: 'RequestRedirect', requestRedirect: {} }, { type: 'URLRewrite', urlRewrite: {} }] }] })],
    'HTTPRoute', 'r',
    [['Accepted=False IncompatibleFilters: All rules dropped: spec.rules[0].filters: RequestRedirect and URLRewrite cannot be used together', RESOLVED, WAYPOINTS]],
  ],
  [
    'backendRef to a missing Service: ResolvedRefs BackendNotFound, naming the rule and backend',
    [svc('echo'), route('r', { parentRefs: toService('echo'), rules: [{ backendRefs: [to('echo'), to('gone')] }] })],
    'HTTPRoute', 'r',
    [[ACCEPTED, 'ResolvedRefs=False BackendNotFound: spec.rules[0].backendRefs[1]: backend(gone.default.svc.cluster.local) not found; its share is answered 500', WAYPOINTS]],
  ],
  [
    'backendRef to a port the Service lacks',
    [svc('echo'), route('r', { parentRefs: toService('echo'), rules: [{ backendRefs: [to('echo', 81)] }] })],
    'HTTPRoute', 'r',
    [[ACCEPTED, 'ResolvedRefs=False BackendNotFound: spec.rules[0].backendRefs[0]: backend(echo.default.svc.cluster.local) has no port 81; its share is answered 500', WAYPOINTS]],
  ],
  [
    'an unsupported backend kind first, then a missing Service: the first reason, both listed',
    [svc('echo'), route('r', { parentRefs: toService('echo'), rules: [{ backendRefs: [{ group: 'example.com', kind: 'Bucket', name: 'b' }] }, { backendRefs: [to('gone')] }] })],
    'HTTPRoute', 'r',
    [[
      ACCEPTED,
      'ResolvedRefs=False InvalidKind: spec.rules[0].backendRefs[0]: unsupported backendRef kind: group "example.com" kind "Bucket"; its share is answered 500; spec.rules[1].backendRefs[0]: backend(gone.default.svc.cluster.local) not found; its share is answered 500',
      WAYPOINTS,
    ]],
  ],
  [
    'an ExtensionRef filter: ResolvedRefs InvalidKind (matching requests get 500)',
    [svc('echo'), route('r', { parentRefs: toService('echo'), rules: [{ filters: [{ type: 'ExtensionRef', extensionRef: { group: 'x.io', kind: 'K', name: 'n' } }], ...ok }] })],
    'HTTPRoute', 'r',
    [[ACCEPTED, 'ResolvedRefs=False InvalidKind: spec.rules[0].filters[0].extensionRef: ExtensionRef filter x.io/K "n" is not supported by Ambit\'s waypoint; matching requests are answered 500', WAYPOINTS]],
  ],
  [
    'a RequestMirror to a missing Service: ResolvedRefs BackendNotFound, the rule serves',
    [svc('echo'), route('r', { parentRefs: toService('echo'), rules: [{ filters: [{ type: 'RequestMirror', requestMirror: { backendRef: to('gone') } }], ...ok }] })],
    'HTTPRoute', 'r',
    [[ACCEPTED, 'ResolvedRefs=False BackendNotFound: spec.rules[0].filters[0].requestMirror.backendRef: backend(gone.default.svc.cluster.local) not found; mirror not configured', WAYPOINTS]],
  ],
  [
    'GRPCRoute: accepted',
    [grpcSvc(), grpcRoute('g', { parentRefs: toService('g'), rules: [{ matches: [{ method: { service: 'pkg.Svc' } }], backendRefs: [to('g', 9000)] }] })],
    'GRPCRoute', 'g',
    [[ACCEPTED, RESOLVED, WAYPOINTS]],
  ],
  [
    'GRPCRoute with a rule GRPCRoute cannot express: dropped, PartiallyInvalid',
    [grpcSvc(), grpcRoute('g', { parentRefs: toService('g'), rules: [{ backendRefs: [to('g', 9000)] }, { filters: [{ type: 'URLRewrite', urlRewrite: {} }], backendRefs: [to('g', 9000)] }] })],
    'GRPCRoute', 'g',
    [[ACCEPTED, 'PartiallyInvalid=True UnsupportedValue: Dropped Rule 1: spec.rules[1].filters[0].type: unsupported filter type "URLRewrite"', RESOLVED, WAYPOINTS]],
  ],
  [
    'TCPRoute: accepted',
    [dbSvc(), tcpRoute('t', { parentRefs: toService('db', 5432), rules: [{ backendRefs: [to('db', 5432)] }] })],
    'TCPRoute', 't',
    [[ACCEPTED, RESOLVED, WAYPOINTS]],
  ],
  [
    'TCPRoute with two rules: the second is not used, PartiallyInvalid',
    [dbSvc(), tcpRoute('t', { parentRefs: toService('db'), rules: [{ backendRefs: [to('db', 5432)] }, { backendRefs: [to('db', 5432)] }] })],
    'TCPRoute', 't',
    [[ACCEPTED, 'PartiallyInvalid=True UnsupportedValue: Dropped Rule 1: spec.rules: only the first of 2 rules is used (a TCPRoute cannot tell connections apart)', RESOLVED, WAYPOINTS]],
  ],
  [
    'TCPRoute to a missing backend: ResolvedRefs BackendNotFound',
    [dbSvc(), tcpRoute('t', { parentRefs: toService('db'), rules: [{ backendRefs: [to('nodb', 5432)] }] })],
    'TCPRoute', 't',
    [[ACCEPTED, 'ResolvedRefs=False BackendNotFound: spec.rules[0].backendRefs[0]: backend(nodb.default.svc.cluster.local) not found; its share of connections is refused', WAYPOINTS]],
  ],
  [
    'HTTPRoute on a port a GRPCRoute holds: Accepted=False Conflicted',
    [mixed(), grpcRoute('g', { parentRefs: toService('m', 80), rules: [{ backendRefs: [to('m')] }] }), route('h', { parentRefs: toService('m', 80), rules: [{ backendRefs: [to('m')] }] })],
    'HTTPRoute', 'h',
    [[`Accepted=False Conflicted: GRPCRoute default/g takes precedence over HTTPRoute on Service default/m port 80 ${GEP}`, RESOLVED, WAYPOINTS]],
  ],
  [
    'HTTPRoute losing one port of two to a GRPCRoute: Accepted, the conflict named',
    [mixed(), grpcRoute('g', { parentRefs: toService('m', 80), rules: [{ backendRefs: [to('m')] }] }), route('h', { parentRefs: toService('m'), rules: [{ backendRefs: [to('m', 81)] }] })],
    'HTTPRoute', 'h',
    [[`Accepted=True Accepted: Route was valid; not applied where it conflicts: GRPCRoute default/g takes precedence over HTTPRoute on Service default/m port 80 ${GEP}`, RESOLVED, WAYPOINTS]],
  ],
  [
    'the GRPCRoute that wins: accepted',
    [mixed(), grpcRoute('g', { parentRefs: toService('m', 80), rules: [{ backendRefs: [to('m')] }] }), route('h', { parentRefs: toService('m', 80), rules: [{ backendRefs: [to('m')] }] })],
    'GRPCRoute', 'g',
    [[ACCEPTED, RESOLVED, WAYPOINTS]],
  ],
  [
    'TCPRoute on a port an HTTPRoute holds: Conflicted',
    [svc('echo'), route('h', { parentRefs: toService('echo'), rules: [ok] }), tcpRoute('t', { parentRefs: toService('echo'), rules: [{ backendRefs: [to('echo')] }] })],
    'TCPRoute', 't',
    [[`Accepted=False Conflicted: HTTPRoute default/h takes precedence over TCPRoute on Service default/echo port 80 ${GEP}`, RESOLVED, WAYPOINTS]],
  ],
  [
    'the younger of two TCPRoutes on a port: Conflicted, naming the older',
    [
      dbSvc(),
      tcpRoute('old', { parentRefs: toService('db'), rules: [{ backendRefs: [to('db', 5432)] }] }, { created: '2024-01-01T00:00:00Z' }),
      tcpRoute('new', { parentRefs: toService('db'), rules: [{ backendRefs: [to('db', 5432)] }] }, { created: '2025-01-01T00:00:00Z' }),
    ],
    'TCPRoute', 'new',
    [['Accepted=False Conflicted: TCPRoute default/old already takes Service default/db port 5432 (the oldest TCPRoute on a port wins)', RESOLVED, WAYPOINTS]],
  ],
  [
    'HTTPRoute on a Service a VirtualService owns: Conflicted',
    [svc('reviews'), virtualService('vs', { hosts: ['reviews'], http: [{ route: [{ destination: { host: 'reviews' } }] }] }), route('hr', { parentRefs: toService('reviews'), rules: [{ backendRefs: [to('reviews')] }] })],
    'HTTPRoute', 'hr',
    [['Accepted=False Conflicted: VirtualService default/vs owns Service default/reviews (mixing VirtualService and Gateway API routes on one host is unsupported)', RESOLVED, WAYPOINTS]],
  ],
  [
    'HTTPRoute on a declared TCP port only: NotAllowedByListeners',
    [dbSvc(), route('h', { parentRefs: toService('db'), rules: [{ backendRefs: [to('db', 5432)] }] })],
    'HTTPRoute', 'h',
    [['Accepted=False NotAllowedByListeners: Service default/db port 5432 is not an HTTP port (protocol tcp): HTTPRoutes do not apply there', RESOLVED, WAYPOINTS]],
  ],
  [
    'a route on a Service no waypoint serves: compiled for its status anyway',
    [namespace('plain'), service('echo', { ns: 'plain' }), route('r', { parentRefs: toService('echo'), rules: [ok, { filters: [{ type: 'Teleport' }] }] }, { ns: 'plain' })],
    'HTTPRoute', 'r',
    [[
      ACCEPTED,
      'PartiallyInvalid=True UnsupportedValue: Dropped Rule 1: spec.rules[1].filters[0].type: unsupported filter type "Teleport"',
      RESOLVED,
      'ResolvedWaypoints=False MissingUseWaypointLabel: istio.io/use-waypoint label missing from parent and parent namespace; in ambient mode, route will not take effect',
    ]],
  ],
  [
    'the waypoint Gateway as parent of a GRPCRoute; a second parent that does not exist',
    [grpcSvc(), grpcRoute('g', { parentRefs: [{ kind: 'Gateway', name: 'wp' }, { group: '', kind: 'Service', name: 'nope' }], rules: [{ backendRefs: [to('g', 9000)] }] })],
    'GRPCRoute', 'g',
    [
      [ACCEPTED, RESOLVED],
      ['Accepted=False NoMatchingParent: parent service: "nope" not found', RESOLVED, 'ResolvedWaypoints=False NoMatchingParent: parent not found'],
    ],
  ],
];

for (const [name, objects, kind, route_, expected] of rows) {
  test(`route status: ${name}`, () => {
    assert.deepEqual(view(objects, kind, route_), expected);
  });
}

test('conditions carry the route generation; controllerName is istio.io/mesh-controller; parentRef as written', () => {
  const r = route('r', { parentRefs: toService('echo'), rules: [ok] });
  const s = statuses([svc('echo'), { ...r, metadata: { ...r.metadata, generation: 7 } } as KubeObject])[0]!;
  assert.deepEqual(s.parents.map((p) => [p.parentRef, p.controllerName]), [[{ group: '', kind: 'Service', name: 'echo' }, 'istio.io/mesh-controller']]);
  assert.deepEqual(s.parents[0]!.conditions.map((c) => c.observedGeneration), [7, 7, 7]);
});

test('every route kind with a parent of ours has an entry; routes of other controllers have none', () => {
  const got = statuses([
    grpcSvc(), dbSvc(), svc('echo'),
    grpcRoute('g', { parentRefs: toService('g'), rules: [{ backendRefs: [to('g', 9000)] }] }),
    tcpRoute('t', { parentRefs: toService('db'), rules: [{ backendRefs: [to('db', 5432)] }] }),
    route('h', { parentRefs: toService('echo'), rules: [ok] }),
    gateway('ingress', { className: 'istio' }),
    route('theirs', { parentRefs: [{ kind: 'Gateway', name: 'ingress' }], rules: [ok] }),
  ]);
  assert.deepEqual(got.map((s) => `${s.kind} ${s.namespace}/${s.name}`), ['HTTPRoute default/h', 'GRPCRoute default/g', 'TCPRoute default/t']);
});

test('a route compiled only for its status keeps its problems in its status entry, not in the waypoint errors', () => {
  const t = translateWp(meshWithWaypoint(namespace('plain'), service('echo', { ns: 'plain' }), route('r', { parentRefs: toService('echo'), rules: [{ filters: [{ type: 'Teleport' }] }] }, { ns: 'plain' })));
  assert.deepEqual(t.problems, []);
  const s = t.all.waypoints.routeStatus.find((r) => r.name === 'r')!;
  assert.deepEqual(s.problems.map((p) => `${p.field}: ${p.reason}`), ['spec.rules[0].filters[0].type: UnsupportedValue: unsupported filter type "Teleport"; rule dropped']);
});

test('a served route lists every problem found with it: attachment and rules', () => {
  const t = translateWp(meshWithWaypoint(mixed(), grpcRoute('g', { parentRefs: toService('m', 80), rules: [{ backendRefs: [to('m')] }] }), route('h', { parentRefs: toService('m'), rules: [{ backendRefs: [to('m', 81), to('gone')] }] })));
  const s = t.all.waypoints.routeStatus.find((r) => r.name === 'h')!;
  assert.deepEqual(s.problems.map((p) => `${p.severity} ${p.field}: ${p.reason}`), [
    'error spec.parentRefs: Conflicted: GRPCRoute takes precedence over HTTPRoute on Service default/m port 80; not applied there',
    'error spec.rules[0].backendRefs[1]: BackendNotFound: backend(gone.default.svc.cluster.local) not found; its share is answered 500',
  ]);
});
