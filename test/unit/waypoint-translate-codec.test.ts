// The WaypointConfig codec: a translated config round-trips through ambit.waypoint.v1.WaypointConfig,
// and every malformed input is refused with XDS_INVALID naming the problem (the waypoint's NACK).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeWaypointConfig, encodeWaypointConfig, protoType, waypointResourceName } from '../../src/xds/index.js';
import { meshWithWaypoint, route, svc, toService, translateWp } from '../helpers/waypoint-objects.js';

const config = translateWp(meshWithWaypoint(
  svc('reviews'),
  route('r', { parentRefs: toService('reviews'), rules: [{ filters: [{ type: 'RequestMirror', requestMirror: { backendRef: { name: 'reviews', port: 80 }, percent: 5 } }], backendRefs: [{ name: 'reviews', port: 80 }, { name: 'gone', port: 80 }], retry: { codes: [503] } }] }),
)).config;

const wire = (schemaVersion: number, json: string): Uint8Array => protoType('ambit.waypoint.v1.WaypointConfig').encode({ schemaVersion, json }).finish();

test('a translated config round-trips, under its own name', () => {
  assert.equal(waypointResourceName(config), 'default/wp');
  assert.deepEqual(decodeWaypointConfig(encodeWaypointConfig(config), 'default/wp'), config);
  assert.deepEqual(decodeWaypointConfig(encodeWaypointConfig(config)), config);
});

test('malformed configs are refused with XDS_INVALID and the reason', () => {
  const json = JSON.parse(JSON.stringify(config)) as Record<string, unknown> & { services: { ports: Record<string, unknown>[] }[]; clusters: unknown[] };
  const mutate = (f: (c: typeof json) => void): string => {
    const c = JSON.parse(JSON.stringify(json)) as typeof json;
    f(c);
    return JSON.stringify(c);
  };
  const rows: [Uint8Array, RegExp][] = [
    [wire(2, JSON.stringify(config)), /schema_version 2 is not supported/],
    [wire(1, '{not json'), /^json: /],
    [wire(1, mutate((c) => { c.version = 7; })), /^version: expected 1, got 7/],
    [wire(1, mutate((c) => { c.clusters = []; })), /defaultCluster: cluster "outbound\|80\|\|reviews.default.svc.cluster.local" is not in clusters/],
    [wire(1, mutate((c) => { c.services[0]!.ports[0]!.protocol = 'quic'; })), /^services\[0\]\.ports\[0\]\.protocol: expected one of http, http2, grpc, tcp/],
    [wire(1, mutate((c) => { c.services[0]!.ports.push(c.services[0]!.ports[0]!); })), /^services\[0\]\.ports: duplicate name "80"/],
    [wire(1, mutate((c) => { (c.services[0]!.ports[0]!.routes as { action: unknown }[])[0]!.action = { kind: 'teleport' }; })), /routes\[0\]\.action\.kind: expected one of forward, redirect, direct/],
    [Uint8Array.from([0x0a, 0xff]), /^decode: /],
  ];
  for (const [bytes, reason] of rows) assert.throws(() => decodeWaypointConfig(bytes), (err: Error & { code?: string }) => err.code === 'XDS_INVALID' && reason.test(err.message), String(reason));
  assert.throws(() => decodeWaypointConfig(encodeWaypointConfig(config), 'default/other'), { code: 'XDS_INVALID' });
});
