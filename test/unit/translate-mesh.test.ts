// translateMesh end to end on one small mesh: every resource exactly, bad objects reported
// without stopping the rest, and the output independent of input order.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { translateMesh } from '../../src/controlplane/index.js';
import { snapshotOf, type KubeObject } from '../../src/k8s/index.js';
import type { GatewayAddress } from '../../src/state/index.js';
import {
  OPTS, ambientNs, authz, expectedService, expectedWorkload, gateway, namespace, peerAuthn, pod, ports, problemLines, service,
} from '../helpers/k8s-objects.js';

const WP: GatewayAddress = { destination: { kind: 'hostname', namespace: 'shop', hostname: 'wp.shop.svc.cluster.local' }, hboneMtlsPort: 15008 };

const objects: KubeObject[] = [
  ambientNs('shop', { 'istio.io/use-waypoint': 'wp' }),
  namespace('legacy'),
  gateway('wp', { ns: 'shop', labels: { 'istio.io/waypoint-for': 'all' } }),
  service('wp', { ns: 'shop', clusterIP: '10.96.0.2', ports: [{ port: 15008 }], labels: { 'gateway.istio.io/managed': 'istio.io-mesh-controller' } }),
  pod('wp-1', { ns: 'shop', ip: '10.0.0.2', sa: 'wp', labels: { 'gateway.networking.k8s.io/gateway-name': 'wp', 'networking.istio.io/tunnel': 'http' } }),
  service('cart', { ns: 'shop', clusterIP: '10.96.0.3', selector: { app: 'cart' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] }),
  pod('cart-1', {
    ns: 'shop', ip: '10.0.0.3', sa: 'cart', node: 'n1', labels: { app: 'cart', version: 'v1', 'pod-template-hash': 'abc' },
    generateName: 'cart-abc-', owner: { kind: 'ReplicaSet', name: 'cart-abc' }, ports: [{ name: 'http', containerPort: 8080 }],
  }),
  pod('old', { ns: 'legacy', ip: '10.0.1.1' }),
  service('broken', { ns: 'legacy', clusterIP: '300.1.1.1' }),
  authz('allow-frontend', 'shop', { selector: { matchLabels: { app: 'cart' } }, rules: [{ from: [{ source: { namespaces: ['shop'] } }] }] }),
  peerAuthn('default', 'istio-system', { mtls: { mode: 'STRICT' } }),
];

test('a small mesh translates to exactly these resources', () => {
  const t = translateMesh(snapshotOf(objects), OPTS);
  assert.deepEqual(t.workloads, [
    expectedWorkload('old', { namespace: 'legacy', workloadIps: ['10.0.1.1'], protocol: 'TCP', authorizationPolicies: ['istio-system/istio_converted_static_strict'] }),
    expectedWorkload('cart-1', {
      namespace: 'shop', workloadIps: ['10.0.0.3'], serviceAccount: 'cart', node: 'n1', waypoint: WP,
      canonicalName: 'cart', canonicalRevision: 'v1', workloadType: 'deployment', workloadName: 'cart',
      services: new Map([['shop/cart.shop.svc.cluster.local', ports([80, 8080])]]),
      authorizationPolicies: ['shop/allow-frontend', 'istio-system/istio_converted_static_strict'],
    }),
    expectedWorkload('wp-1', {
      namespace: 'shop', workloadIps: ['10.0.0.2'], serviceAccount: 'wp', nativeTunnel: true,
      authorizationPolicies: ['istio-system/istio_converted_static_strict'],
    }),
  ]);
  assert.deepEqual(t.services, [
    expectedService('cart', { namespace: 'shop', vips: [{ network: '', ip: '10.96.0.3' }], ports: ports([80, 0]), waypoint: WP }),
    expectedService('wp', { namespace: 'shop', vips: [{ network: '', ip: '10.96.0.2' }], ports: ports([15008, 15008]) }),
  ]);
  assert.deepEqual(t.policies.map((p) => `${p.namespace}/${p.name}`), ['istio-system/istio_converted_static_strict', 'shop/allow-frontend']);
  assert.deepEqual(t.waypoints, [{ namespace: 'shop', name: 'wp', trafficType: 'all', address: WP }]);
  assert.deepEqual(problemLines(t), ['error Service/legacy/broken spec.clusterIP: "300.1.1.1" is not an IP address; the Service is left out']);
});

test('the output does not depend on input order, and is the same twice', () => {
  const a = translateMesh(snapshotOf(objects), OPTS);
  const b = translateMesh(snapshotOf([...objects].reverse()), OPTS);
  assert.deepEqual(b, a);
  assert.deepEqual(translateMesh(snapshotOf(objects), OPTS), a);
});
