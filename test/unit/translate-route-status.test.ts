// translateMesh, HTTPRoute status (the mesh's view: parents and backendRef existence): Accepted for
// Service (GAMMA) and waypoint Gateway parents, NoMatchingParent for a port or sectionName the
// Service lacks, consumer routes refused, ResolvedRefs with BackendNotFound / InvalidKind, Istio's
// ResolvedWaypoints, parents of others skipped.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { translateMesh, type HttpRouteStatus, type RouteCondition } from '../../src/controlplane/index.js';
import { snapshotOf, type KubeObject } from '../../src/k8s/index.js';
import { OPTS, gateway, httpRoute, namespace, service } from '../helpers/k8s-objects.js';

const ok = (type: RouteCondition['type'], reason: string, message: string): RouteCondition => ({ type, status: 'True', reason, message, observedGeneration: 3 });
const no = (type: RouteCondition['type'], reason: string, message: string): RouteCondition => ({ type, status: 'False', reason, message, observedGeneration: 3 });
const ACCEPTED = ok('Accepted', 'Accepted', 'Route was valid');
const RESOLVED = ok('ResolvedRefs', 'ResolvedRefs', 'All references resolved');
const WAYPOINTS = ok('ResolvedWaypoints', 'ResolvedWaypoints', 'All waypoints resolved');
const NO_LABEL = no('ResolvedWaypoints', 'MissingUseWaypointLabel', 'istio.io/use-waypoint label missing from parent and parent namespace; in ambient mode, route will not take effect');

const svcParent = { group: '', kind: 'Service', name: 'echo' };
const gwParent = { name: 'wp' };
const backend = (name: string, extra: Record<string, unknown> = {}) => ({ rules: [{ backendRefs: [{ name, port: 80, ...extra }] }] });

function status(objects: KubeObject[], spec: Record<string, unknown>): readonly HttpRouteStatus[] {
  return translateMesh(snapshotOf([...objects, httpRoute('r', 'default', spec, 3)]), OPTS).httpRouteStatus;
}

const entry = (parentRef: Record<string, unknown>, conditions: RouteCondition[]): HttpRouteStatus[] => [
  { kind: 'HTTPRoute', namespace: 'default', name: 'r', parents: [{ parentRef: parentRef as never, controllerName: 'istio.io/mesh-controller', conditions }], problems: [] },
];

const rows: [string, KubeObject[], Record<string, unknown>, HttpRouteStatus[]][] = [
  [
    'Service parent that exists, backends resolve, namespace uses a waypoint',
    [namespace('default', { 'istio.io/use-waypoint': 'wp' }), service('echo'), service('v2')],
    { parentRefs: [svcParent], ...backend('v2') },
    entry(svcParent, [ACCEPTED, RESOLVED, WAYPOINTS]),
  ],
  [
    'Service parent with its own use-waypoint label (group core)',
    [service('echo', { labels: { 'istio.io/use-waypoint': 'wp' } })],
    { parentRefs: [{ ...svcParent, group: 'core' }], ...backend('echo') },
    entry({ ...svcParent, group: 'core' }, [ACCEPTED, RESOLVED, WAYPOINTS]),
  ],
  [
    'Service parent without use-waypoint anywhere: accepted, but will not take effect in ambient',
    [namespace('default'), service('echo', { labels: { 'istio.io/use-waypoint': 'none' } })],
    { parentRefs: [svcParent], ...backend('echo') },
    entry(svcParent, [ACCEPTED, RESOLVED, NO_LABEL]),
  ],
  [
    'missing Service parent: NoMatchingParent',
    [],
    { parentRefs: [svcParent] },
    entry(svcParent, [no('Accepted', 'NoMatchingParent', 'parent service: "echo" not found'), RESOLVED, no('ResolvedWaypoints', 'NoMatchingParent', 'parent not found')]),
  ],
  [
    'backendRef to a missing Service: ResolvedRefs False, BackendNotFound',
    [service('echo', { labels: { 'istio.io/use-waypoint': 'wp' } })],
    { parentRefs: [svcParent], ...backend('gone') },
    entry(svcParent, [ACCEPTED, no('ResolvedRefs', 'BackendNotFound', 'spec.rules[0].backendRefs[0]: backend(gone.default.svc.cluster.local) not found'), WAYPOINTS]),
  ],
  [
    'backendRef in another namespace that is missing',
    [service('echo', { labels: { 'istio.io/use-waypoint': 'wp' } })],
    { parentRefs: [svcParent], ...backend('echo', { namespace: 'other' }) },
    entry(svcParent, [ACCEPTED, no('ResolvedRefs', 'BackendNotFound', 'spec.rules[0].backendRefs[0]: backend(echo.other.svc.cluster.local) not found'), WAYPOINTS]),
  ],
  [
    'backendRef of an unsupported kind: InvalidKind',
    [service('echo', { labels: { 'istio.io/use-waypoint': 'wp' } })],
    { parentRefs: [svcParent], ...backend('x', { group: 'example.com', kind: 'Bucket' }) },
    entry(svcParent, [ACCEPTED, no('ResolvedRefs', 'InvalidKind', 'spec.rules[0].backendRefs[0]: unsupported backendRef kind: group "example.com" kind "Bucket"'), WAYPOINTS]),
  ],
  [
    'Service parent with a port the Service does not have: NoMatchingParent',
    [service('echo', { labels: { 'istio.io/use-waypoint': 'wp' } })],
    { parentRefs: [{ ...svcParent, port: 8080 }], ...backend('echo') },
    entry({ ...svcParent, port: 8080 }, [no('Accepted', 'NoMatchingParent', 'Service default/echo has no port with port 8080'), RESOLVED, WAYPOINTS]),
  ],
  [
    'Service parent with a sectionName no port is named: NoMatchingParent',
    [service('echo', { labels: { 'istio.io/use-waypoint': 'wp' } })],
    { parentRefs: [{ ...svcParent, sectionName: 'grpc' }], ...backend('echo') },
    entry({ ...svcParent, sectionName: 'grpc' }, [no('Accepted', 'NoMatchingParent', 'Service default/echo has no port with sectionName "grpc"'), RESOLVED, WAYPOINTS]),
  ],
  [
    'consumer route (Service in another namespace): not applied in ambient',
    [service('echo', { ns: 'other', labels: { 'istio.io/use-waypoint': 'wp' } })],
    { parentRefs: [{ ...svcParent, namespace: 'other' }], ...backend('echo', { namespace: 'other' }) },
    entry({ ...svcParent, namespace: 'other' }, [
      no('Accepted', 'NotAllowedByListeners', 'consumer routes are not supported in ambient mode: this HTTPRoute in namespace "default" does not apply to Service other/echo; only routes in the Service\'s namespace do'),
      RESOLVED,
      WAYPOINTS,
    ]),
  ],
  [
    'backendRef without a port: BackendNotFound',
    [service('echo', { labels: { 'istio.io/use-waypoint': 'wp' } })],
    { parentRefs: [svcParent], rules: [{ backendRefs: [{ name: 'echo' }] }] },
    entry(svcParent, [ACCEPTED, no('ResolvedRefs', 'BackendNotFound', 'spec.rules[0].backendRefs[0]: backend(echo.default.svc.cluster.local): port is required for a Service backendRef'), WAYPOINTS]),
  ],
  [
    'waypoint Gateway parent (default group and kind)',
    [gateway('wp'), service('echo')],
    { parentRefs: [gwParent], ...backend('echo') },
    entry(gwParent, [ACCEPTED, RESOLVED]),
  ],
  [
    'waypoint Gateway parent with a sectionName no listener has',
    [gateway('wp')],
    { parentRefs: [{ ...gwParent, sectionName: 'http' }] },
    entry({ ...gwParent, sectionName: 'http' }, [no('Accepted', 'NoMatchingParent', 'sectionName "http" not found'), RESOLVED]),
  ],
  [
    'waypoint Gateway parent with a port no listener has',
    [gateway('wp')],
    { parentRefs: [{ ...gwParent, port: 80 }] },
    entry({ ...gwParent, port: 80 }, [no('Accepted', 'NoMatchingParent', 'port 80 not found'), RESOLVED]),
  ],
  [
    'waypoint Gateway in another namespace that only allows its own: NotAllowedByListeners',
    [gateway('wp', { ns: 'infra' })],
    { parentRefs: [{ ...gwParent, namespace: 'infra' }] },
    entry({ ...gwParent, namespace: 'infra' }, [no('Accepted', 'NotAllowedByListeners', 'namespace "default" is not allowed by the parent'), RESOLVED]),
  ],
  [
    'waypoint Gateway in another namespace that allows All',
    [gateway('wp', { ns: 'infra', listeners: [{ name: 'mesh', port: 15008, protocol: 'HBONE', allowedRoutes: { namespaces: { from: 'All' } } }] })],
    { parentRefs: [{ ...gwParent, namespace: 'infra' }] },
    entry({ ...gwParent, namespace: 'infra' }, [ACCEPTED, RESOLVED]),
  ],
  [
    'missing Gateway parent: NoMatchingParent',
    [],
    { parentRefs: [gwParent] },
    entry(gwParent, [no('Accepted', 'NoMatchingParent', 'parent gateway "default/wp" not found'), RESOLVED]),
  ],
  ['a Gateway of another class belongs to its controller: no entry', [gateway('wp', { className: 'istio' })], { parentRefs: [gwParent] }, []],
  ['a parent of another kind: no entry', [], { parentRefs: [{ group: 'example.com', kind: 'Mesh', name: 'm' }] }, []],
];

for (const [name, objects, spec, expected] of rows) {
  test(`HTTPRoute status: ${name}`, () => {
    assert.deepEqual(status(objects, spec), expected);
  });
}

test('one status entry per owned parent, in spec order', () => {
  const got = status([gateway('wp'), service('echo')], { parentRefs: [svcParent, { group: 'x', kind: 'Y', name: 'z' }, gwParent] });
  assert.deepEqual(got[0]?.parents.map((p) => p.parentRef.name), ['echo', 'wp']);
});
