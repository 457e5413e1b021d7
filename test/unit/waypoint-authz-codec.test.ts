// WaypointConfig.security over xDS: a translated config with policies and jwtRules round-trips
// through the codec, and a badly typed field is refused (NACK) with its path.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../src/k8s/index.js';
import { decodeWaypointConfig, encodeWaypointConfig, protoType } from '../../src/xds/index.js';
import { authz } from '../helpers/k8s-objects.js';
import { meshWithWaypoint, svc, translateWp } from '../helpers/waypoint-objects.js';

const GW = { group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'wp' };
const ra = {
  apiVersion: 'security.istio.io/v1', kind: 'RequestAuthentication', metadata: { name: 'ra', namespace: 'default' },
  spec: { targetRefs: [GW], jwtRules: [{ issuer: 'https://i', jwksUri: 'https://i/jwks', outputClaimToHeaders: [{ header: 'x-sub', claim: 'sub' }] }] },
} as unknown as KubeObject<'RequestAuthentication'>;

const config = translateWp(meshWithWaypoint(
  svc('reviews'),
  authz('deny', 'default', { targetRefs: [GW], action: 'DENY', rules: [{ to: [{ operation: { ports: ['80'], paths: ['/admin/{**}'] } }], when: [{ key: 'request.auth.claims[role]', notValues: ['admin'] }] }] }),
  authz('allow', 'default', { targetRefs: [{ group: '', kind: 'Service', name: 'reviews' }], rules: [{ from: [{ source: { requestPrincipals: ['*'] } }] }] }),
  ra,
)).config;

const wire = (json: string): Uint8Array => protoType('ambit.waypoint.v1.WaypointConfig').encode({ schemaVersion: 1, json }).finish();

test('a config with security round-trips', () => {
  assert.equal(config.security?.authorization.length, 2);
  assert.equal(config.security?.jwtRules.length, 1);
  assert.deepEqual(decodeWaypointConfig(encodeWaypointConfig(config), 'default/wp'), config);
});

test('badly typed security fields are refused with XDS_INVALID naming the field', () => {
  const mutate = (f: (c: { security: Record<string, any> }) => void): Uint8Array => {
    const c = JSON.parse(JSON.stringify(config)) as { security: Record<string, any> };
    f(c);
    return wire(JSON.stringify(c));
  };
  const rows: [Uint8Array, RegExp][] = [
    [mutate((c) => { c.security.authorization = {}; }), /^security\.authorization: expected an array/],
    [mutate((c) => { c.security.authorization[0].action = 'MAYBE'; }), /^security\.authorization\[0\]\.action: expected one of ALLOW, DENY, AUDIT, CUSTOM/],
    [mutate((c) => { c.security.authorization[1].rules[0].to[0].ports = ['80']; }), /^security\.authorization\[1\]\.rules\[0\]\.to\[0\]\.ports\[0\]: expected an integer in 0\.\.65535/],
    [mutate((c) => { c.security.authorization[1].rules[0].when[0].notValues = 'admin'; }), /when\[0\]\.notValues: expected an array/],
    [mutate((c) => { c.security.authorization[0].rules[0].from[0].requestPrincipals = [1]; }), /from\[0\]\.requestPrincipals\[0\]: expected a string/],
    [mutate((c) => { delete c.security.jwtRules[0].issuer; }), /^security\.jwtRules\[0\]\.issuer: expected a string/],
    [mutate((c) => { c.security.jwtRules[0].fetchTimeoutMs = 0; }), /fetchTimeoutMs: expected an integer/],
    [mutate((c) => { c.security.jwtRules[0].forwardOriginalToken = 'yes'; }), /forwardOriginalToken: expected a boolean/],
    [mutate((c) => { c.security.xffTrustedHops = -1; }), /^security\.xffTrustedHops: /],
  ];
  for (const [bytes, reason] of rows) assert.throws(() => decodeWaypointConfig(bytes), (err: Error & { code?: string }) => err.code === 'XDS_INVALID' && reason.test(err.message), String(reason));
});
