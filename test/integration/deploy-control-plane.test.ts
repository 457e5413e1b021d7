// `ambit control` as deploy/ runs it — the Deployment's own settings, the mesh CA made by the
// README's recipe — against an API server: every request it makes is one its ClusterRole allows,
// every grant is used, and its TLS port presents the names agents dial, chained to that root.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { parseAllDocuments } from 'yaml';
import { ControlPlane } from '../../src/bin/control-plane.js';
import { loadControlConfig } from '../../src/config/index.js';
import { lineCapture, tempDir } from '../helpers/agent.js';
import { callCa } from '../helpers/ca-raw-client.js';
import { KUSTOMIZATIONS, commandOf, containerEnv, containerOf, find, renderDeploy, runReadmeCaRecipe, type Manifest } from '../helpers/deploy-manifests.js';
import { ambitResources, FakeKubeApiServer, type RequestRecord } from '../helpers/fake-kube-apiserver.js';
import { meshAddresses } from '../helpers/mesh-config.js';
import { meshManifests } from '../helpers/mesh-manifests.js';
import { randomLoopbackPrefix } from '../helpers/tcp.js';
import { waitUntil } from '../helpers/two-node-mesh.js';

let objects: Manifest[];
let server: FakeKubeApiServer;
let plane: ControlPlane;
let caDir: string;

before(async () => {
  objects = await renderDeploy(KUSTOMIZATIONS.base);
  caDir = tempDir();
  runReadmeCaRecipe(caDir);
  server = new FakeKubeApiServer({ resources: ambitResources() });
  await server.start();
  for (const doc of parseAllDocuments(meshManifests(meshAddresses(randomLoopbackPrefix())))) server.apply(doc.toJSON() as Record<string, unknown>);
  server.apply({
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: { name: 'to-echo', namespace: 'default', generation: 1 },
    spec: { parentRefs: [{ group: '', kind: 'Service', name: 'echo', port: 80 }], rules: [{ backendRefs: [{ name: 'echo', port: 80 }] }] },
  });
  // One route of each other kind whose status it writes.
  server.apply({
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'GRPCRoute',
    metadata: { name: 'grpc-echo', namespace: 'default' },
    spec: { parentRefs: [{ group: '', kind: 'Service', name: 'echo' }], rules: [{ backendRefs: [{ name: 'echo', port: 80 }] }] },
  });
  server.apply({
    apiVersion: 'gateway.networking.k8s.io/v1alpha2',
    kind: 'TCPRoute',
    metadata: { name: 'tcp-echo', namespace: 'default' },
    spec: { parentRefs: [{ group: '', kind: 'Service', name: 'echo' }], rules: [{ backendRefs: [{ name: 'echo', port: 80 }] }] },
  });
  // A waypoint Gateway, whose status it writes too.
  server.apply({
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'Gateway',
    metadata: { name: 'waypoint', namespace: 'default' },
    spec: { gatewayClassName: 'istio-waypoint', listeners: [{ name: 'mesh', port: 15008, protocol: 'HBONE' }] },
  });
  const kubeconfig = join(tempDir(), 'kubeconfig');
  writeFileSync(kubeconfig, server.kubeconfigYaml());
  const deployment = find(objects, 'Deployment', 'ambit-control');
  const { flags } = commandOf(containerOf(deployment));
  // The pod's settings as they are; only what the pod gets from its surroundings is replaced: the
  // mounted cacerts folder, the API server (in-cluster credentials there), free local ports.
  const config = loadControlConfig(flags, {
    ...containerEnv(deployment),
    AMBIT_CA_CERTS_DIR: caDir,
    KUBECONFIG: kubeconfig,
    AMBIT_BIND_ADDRESS: '127.0.0.1',
    AMBIT_PORT_XDS: '0',
    AMBIT_PORT_XDS_TLS: '0',
    AMBIT_PORT_MONITORING: '0',
    PILOT_DEBOUNCE_AFTER: '20ms',
  });
  plane = new ControlPlane({ config, logDestination: lineCapture().stream });
  await plane.start();
});

after(async () => {
  plane?.destroy();
  await server?.close();
});

/** A token ambit-control cannot verify (the test API server serves no TokenReview): it must ask, then refuse. */
async function caCall(serverName: string): Promise<Awaited<ReturnType<typeof callCa>>> {
  return callCa({
    target: `127.0.0.1:${plane.addresses().xdsTls!}`,
    rootPem: readFileSync(join(caDir, 'root-cert.pem'), 'utf8'),
    serverName,
    token: 'a-projected-service-account-token',
    csrFor: 'spiffe://cluster.local/ns/default/sa/client',
  });
}

test('the TLS port presents the names agents and waypoints dial, chained to the README CA’s root', async () => {
  const env = containerEnv(find(objects, 'DaemonSet', 'ambit-node'));
  const dialled = new URL(env['XDS_ADDRESS']!).hostname;
  for (const name of [dialled, `${dialled}.cluster.local`]) {
    const r = await caCall(name);
    // The handshake passed and the call reached the CA, which asked the API server to review the
    // token (the test API server serves no TokenReview: the CA fails closed, UNAVAILABLE).
    assert.ok(!r.ok && r.code === grpc.status.UNAVAILABLE && /TokenReview could not check the token/.test(r.details), `${name}: ${JSON.stringify(r)}`);
  }
  const other = await caCall('istiod.istio-system.svc');
  assert.ok(!other.ok && other.code === grpc.status.UNAVAILABLE && !/TokenReview/.test(other.details), `a name the certificate does not carry: the client refuses the handshake: ${JSON.stringify(other)}`);
});

/** Kubernetes' request attributes of an API call (k8s.io/apiserver RequestInfo): `group resource[/sub] verb`. */
function attributes(q: RequestRecord): string {
  const parts = q.path.split('/').filter((p) => p !== '');
  const [group, rest] = parts[0] === 'api' ? ['core', parts.slice(2)] : [parts[1]!, parts.slice(3)];
  const s = rest[0] === 'namespaces' && rest.length >= 3 ? rest.slice(2) : rest;
  const [resource, name, sub] = s;
  const verb =
    q.method === 'GET' ? (name !== undefined ? 'get' : q.query['watch'] === 'true' ? 'watch' : 'list')
    : q.method === 'POST' ? 'create'
    : q.method === 'PATCH' ? 'patch'
    : q.method === 'PUT' ? 'update'
    : q.method === 'DELETE' ? 'delete'
    : q.method.toLowerCase();
  return `${group} ${resource}${sub !== undefined ? `/${sub}` : ''} ${verb}`;
}

function granted(): Set<string> {
  const role = find(objects, 'ClusterRole', 'ambit-control') as unknown as { rules: Array<{ apiGroups: string[]; resources: string[]; verbs: string[] }> };
  return new Set(role.rules.flatMap((r) => r.apiGroups.flatMap((g) => r.resources.flatMap((res) => r.verbs.map((v) => `${g || 'core'} ${res} ${v}`)))));
}

test('every API request ambit-control makes is allowed by its ClusterRole, and every grant is used', async () => {
  // Steady state: every kind listed and watched, our routes' and waypoint's status written, a token reviewed.
  for (const route of ['httproutes/to-echo', 'grpcroutes/grpc-echo', 'tcproutes/tcp-echo', 'gateways/waypoint']) {
    await waitUntil(() => server.requests.some((q) => q.method === 'PATCH' && q.path.endsWith(`/${route}/status`)), 10_000);
  }
  await caCall(new URL(containerEnv(find(objects, 'DaemonSet', 'ambit-node'))['CA_ADDRESS']!).hostname);
  await waitUntil(() => server.requests.some((q) => q.method === 'POST' && q.path.endsWith('/tokenreviews')), 10_000);
  await waitUntil(() => ambitResources().every((r) => server.requestsFor(r.kind, 'watch').length > 0), 10_000);
  const made = new Set(server.requests.map(attributes));
  const allowed = granted();
  assert.deepEqual([...made].filter((a) => !allowed.has(a)).sort(), [], 'requests the ClusterRole would refuse (403)');
  assert.deepEqual([...allowed].filter((a) => !made.has(a)).sort(), [], 'grants nothing exercises');
});
