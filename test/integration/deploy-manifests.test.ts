// deploy/ rendered by kubectl (`kubectl kustomize`, no cluster): every object valid against the
// upstream schemas, exactly the grants and privileges the README states, the overlays touching only
// the node agent, and a waypoint (also through the README's own overlay) that ambit-control recognizes.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { STATUS_KINDS, translateMesh } from '../../src/controlplane/index.js';
import { KIND_INFO, KINDS, snapshotOf, type KubeObject } from '../../src/k8s/index.js';
import {
  KUSTOMIZATIONS,
  REPO_ROOT,
  containerEnv,
  containerOf,
  find,
  ident,
  kustomize,
  manifestProblems,
  podMetaOf,
  podSpecOf,
  renderDeploy,
  workloadsOf,
  type Manifest,
} from '../helpers/deploy-manifests.js';
import { OPTS } from '../helpers/k8s-objects.js';

const README = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
const VERSION = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;

type Rendered = Record<keyof typeof KUSTOMIZATIONS | 'readmeWaypoint', Manifest[]>;
let r: Rendered;

/** The README's own waypoint overlay (the ```yaml block with namePrefix), in a folder of its own. */
function readmeWaypointOverlay(): string {
  const blocks = [...README.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);
  const block = blocks.find((b) => b.includes('namePrefix:'));
  assert.ok(block, 'README has the waypoint overlay example (a yaml block with namePrefix)');
  assert.match(block, /^- \.\.\/deploy\/waypoint$/m, 'the example builds on ../deploy/waypoint');
  const dir = mkdtempSync(join(tmpdir(), 'ambit-waypoint-overlay-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  // Same file, with the base's path as seen from this folder instead of from next to deploy/.
  writeFileSync(join(dir, 'kustomization.yaml'), block.replace(/^- \.\.\/deploy\/waypoint$/m, `- ${relative(dir, join(REPO_ROOT, KUSTOMIZATIONS.waypoint))}`));
  return dir;
}

before(async () => {
  const entries = await Promise.all(Object.entries(KUSTOMIZATIONS).map(async ([k, path]) => [k, await renderDeploy(path)] as const));
  r = { ...Object.fromEntries(entries), readmeWaypoint: await kustomize(readmeWaypointOverlay()) } as Rendered;
});

test('deploy/ renders the same objects as deploy/base (its resource list and image are the base’s)', () => {
  assert.ok(r.base.length > 0);
  assert.deepEqual(r.all, r.base);
});

test('every rendered object passes its upstream schema and the API server’s name and namespace rules', () => {
  const problems: string[] = [];
  for (const [target, objects] of Object.entries(r)) {
    for (const m of objects) {
      // deploy/waypoint names no namespace: `kubectl apply -k deploy/waypoint -n NS` gives one.
      const applied = target === 'waypoint' && m.metadata.namespace === undefined ? { ...m, metadata: { ...m.metadata, namespace: 'bookinfo' } } : m;
      for (const p of manifestProblems(applied)) problems.push(`${target}: ${ident(m)}: ${p.path}: ${p.reason}`);
    }
  }
  assert.deepEqual(problems, []);
  // The check can fail: a wrong type deep in a pod template is found, with its path.
  const ds = structuredClone(find(r.base, 'DaemonSet', 'ambit-node')) as Manifest & { spec: { template: { spec: { containers: Array<{ ports: Array<{ containerPort: unknown }> }> } } } };
  ds.spec.template.spec.containers[0]!.ports[0]!.containerPort = '15020';
  assert.deepEqual(manifestProblems(ds).map((p) => p.path), ['spec.template.spec.containers[0].ports[0].containerPort']);
});

test('the base: the control plane and the node agent in ambit-system, nothing else', () => {
  assert.deepEqual(r.base.map(ident).sort(), [
    'ClusterRole ambit-control',
    'ClusterRoleBinding ambit-control',
    'DaemonSet ambit-system/ambit-node',
    'Deployment ambit-system/ambit-control',
    'Namespace ambit-system',
    'NetworkPolicy ambit-system/ambit-control',
    'Service ambit-system/ambit-control',
    'ServiceAccount ambit-system/ambit-control',
    'ServiceAccount ambit-system/ambit-node',
  ]);
  assert.equal(find(r.base, 'Namespace', 'ambit-system').metadata.labels?.['pod-security.kubernetes.io/enforce'], 'privileged');
});

interface Rule {
  readonly apiGroups?: string[];
  readonly resources?: string[];
  readonly verbs: string[];
  readonly resourceNames?: string[];
  readonly nonResourceURLs?: string[];
}

/** `group resource verb` triples a ClusterRole grants. */
function grants(role: Manifest): string[] {
  const out: string[] = [];
  for (const rule of (role as unknown as { rules: Rule[] }).rules) {
    assert.equal(rule.resourceNames, undefined, 'no resourceNames');
    assert.equal(rule.nonResourceURLs, undefined, 'no nonResourceURLs');
    for (const g of rule.apiGroups ?? []) for (const res of rule.resources ?? []) for (const v of rule.verbs) out.push(`${g === '' ? 'core' : g} ${res} ${v}`);
  }
  return out.sort();
}

test('ambit-control’s ClusterRole: list+watch of every kind it reads, patch the status of the route kinds and Gateways it writes, create tokenreviews — no more', () => {
  const expected = [
    ...KINDS.flatMap((k) => ['list', 'watch'].map((v) => `${KIND_INFO[k].group || 'core'} ${KIND_INFO[k].plural} ${v}`)),
    // RouteStatusWriter: a merge patch of the status subresource of each kind in STATUS_KINDS.
    ...STATUS_KINDS.map((k) => `${KIND_INFO[k].group || 'core'} ${KIND_INFO[k].plural}/status patch`),
    // GatewayStatusWriter: a merge patch of the status subresource of waypoint Gateways.
    `${KIND_INFO.Gateway.group} ${KIND_INFO.Gateway.plural}/status patch`,
    // KubeTokenReviewer: bearer tokens of CA and xDS callers.
    'authentication.k8s.io tokenreviews create',
  ].sort();
  const role = find(r.base, 'ClusterRole', 'ambit-control');
  assert.deepEqual(grants(role), expected);
  assert.ok(!grants(role).some((g) => g.includes('*')), 'no wildcards');
  const binding = find(r.base, 'ClusterRoleBinding', 'ambit-control') as unknown as { roleRef: { kind: string; name: string }; subjects: Array<{ kind: string; name: string; namespace: string }> };
  assert.deepEqual(binding.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'ambit-control' });
  assert.deepEqual(binding.subjects, [{ kind: 'ServiceAccount', name: 'ambit-control', namespace: 'ambit-system' }]);
  assert.equal(podSpecOf(find(r.base, 'Deployment', 'ambit-control')).serviceAccountName, 'ambit-control');
});

test('the node agent: no API access, only NET_ADMIN and SYS_ADMIN, no host namespaces, read-only root', () => {
  for (const target of ['base', 'istioCni', 'ownRules'] as const) {
    const objects = r[target];
    const ds = find(objects, 'DaemonSet', 'ambit-node');
    const pod = podSpecOf(ds);
    assert.equal(pod.serviceAccountName, 'ambit-node');
    assert.equal(pod.automountServiceAccountToken, false, `${target}: no API token in the agent's pod`);
    assert.equal((find(objects, 'ServiceAccount', 'ambit-node') as { automountServiceAccountToken?: boolean }).automountServiceAccountToken, false);
    const bound = objects.filter((o) => o.kind.endsWith('RoleBinding') && JSON.stringify((o as { subjects?: unknown }).subjects ?? []).includes('"ambit-node"'));
    assert.deepEqual(bound.map(ident), [], `${target}: no role is bound to ambit-node`);
    assert.ok(!pod.hostNetwork && !pod.hostPID && !pod.hostIPC, `${target}: no host network, PID or IPC namespace`);
    const sc = containerOf(ds).securityContext!;
    assert.deepEqual(sc.capabilities, { drop: ['ALL'], add: ['NET_ADMIN', 'SYS_ADMIN'] }, target);
    assert.equal(sc.privileged, false);
    assert.equal(sc.runAsUser, 0, 'root, so the two capabilities are effective');
    assert.equal(sc.readOnlyRootFilesystem, true);
    assert.equal(pod.priorityClassName, 'system-node-critical');
    assert.deepEqual(podMetaOf(ds).labels['istio.io/dataplane-mode'], 'none', 'the agent’s own pod is never captured');
  }
});

/** hostPath volumes of the agent: host path → where the container mounts it. */
function hostPaths(objects: readonly Manifest[]): Record<string, { mountPath: string; readOnly: boolean; propagation: string | undefined }> {
  const ds = find(objects, 'DaemonSet', 'ambit-node');
  const out: ReturnType<typeof hostPaths> = {};
  for (const v of podSpecOf(ds).volumes ?? []) {
    if (!v.hostPath) continue;
    const m = (containerOf(ds).volumeMounts ?? []).find((x) => x.name === v.name);
    assert.ok(m, `host path ${v.hostPath.path} is mounted`);
    out[v.hostPath.path] = { mountPath: m.mountPath, readOnly: m.readOnly === true, propagation: m.mountPropagation };
  }
  return out;
}

test('the capture overlays change the node agent only, each adding its one host path', () => {
  for (const target of ['istioCni', 'ownRules'] as const) {
    const others = (objs: readonly Manifest[]) => objs.filter((o) => o.kind !== 'DaemonSet');
    assert.deepEqual(others(r[target]), others(r.base), `${target}: every object but the DaemonSet is the base's`);
  }
  assert.deepEqual(hostPaths(r.base), {}, 'the base mounts nothing of the host');
  assert.deepEqual(hostPaths(r.istioCni), { '/var/run/ztunnel': { mountPath: '/var/run/ztunnel', readOnly: false, propagation: undefined } });
  assert.deepEqual(hostPaths(r.ownRules), { '/var/run/netns': { mountPath: '/var/run/netns', readOnly: true, propagation: 'HostToContainer' } });
  const env = (objs: readonly Manifest[]) => containerEnv(find(objs, 'DaemonSet', 'ambit-node'));
  assert.equal(env(r.istioCni)['INPOD_UDS'], '/var/run/ztunnel/ztunnel.sock', 'istio-cni’s socket, in the mounted folder');
  assert.equal(env(r.ownRules)['INPOD_UDS'], undefined);
  assert.equal(env(r.base)['INPOD_UDS'], undefined);
});

test('the control plane and the waypoint run unprivileged (Pod Security “restricted”)', () => {
  for (const w of [find(r.base, 'Deployment', 'ambit-control'), find(r.waypoint, 'Deployment', 'waypoint')]) {
    const pod = podSpecOf(w);
    const sc = containerOf(w).securityContext!;
    assert.equal(pod.securityContext?.runAsNonRoot, true, ident(w));
    assert.ok((pod.securityContext?.runAsUser ?? 0) > 0, `${ident(w)}: a non-root uid`);
    assert.equal(pod.securityContext?.seccompProfile?.type, 'RuntimeDefault');
    assert.deepEqual(sc.capabilities, { drop: ['ALL'] }, ident(w));
    assert.equal(sc.allowPrivilegeEscalation, false);
    assert.equal(sc.readOnlyRootFilesystem, true);
    assert.ok(!pod.hostNetwork && !pod.hostPID && !(pod.volumes ?? []).some((v) => v.hostPath), `${ident(w)}: nothing of the host`);
  }
  assert.equal(podSpecOf(find(r.waypoint, 'Deployment', 'waypoint')).automountServiceAccountToken ?? (find(r.waypoint, 'ServiceAccount', 'waypoint') as { automountServiceAccountToken?: boolean }).automountServiceAccountToken, false, 'no API token in waypoint pods');
});

test(`one image for every command: ambit:${VERSION}, pulled if not present`, () => {
  for (const [target, objects] of Object.entries(r)) {
    for (const w of workloadsOf(objects)) {
      assert.equal(containerOf(w).image, `ambit:${VERSION}`, `${target}: ${ident(w)}`);
      assert.equal(containerOf(w).imagePullPolicy, 'IfNotPresent');
    }
  }
});

/** The objects a cluster would hold once the waypoint's Deployment has one running pod. */
function clusterWith(objects: readonly Manifest[], ns: string): KubeObject[] {
  const withNs = objects.map((o) => ({ ...o, metadata: { ...o.metadata, namespace: o.metadata.namespace ?? ns } }) as unknown as KubeObject);
  const svc = withNs.find((o) => o.kind === 'Service') as KubeObject<'Service'>;
  const deployment = objects.find((o) => o.kind === 'Deployment')!;
  const { labels } = podMetaOf(deployment);
  const wpPod: KubeObject<'Pod'> = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `${deployment.metadata.name}-7d9f-abcde`, namespace: ns, labels },
    spec: { ...podSpecOf(deployment), nodeName: 'node-1' },
    status: { phase: 'Running', podIP: '10.244.1.9', podIPs: [{ ip: '10.244.1.9' }], conditions: [{ type: 'Ready', status: 'True' }] },
  };
  const gwName = objects.find((o) => o.kind === 'Gateway')!.metadata.name;
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels: { 'istio.io/dataplane-mode': 'ambient', 'istio.io/use-waypoint': gwName } } },
    ...withNs.filter((o) => o.kind !== 'Service'),
    { ...svc, spec: { ...svc.spec, clusterIP: '10.96.7.7', clusterIPs: ['10.96.7.7'] } },
    wpPod,
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'reviews', namespace: ns }, spec: { clusterIP: '10.96.7.8', clusterIPs: ['10.96.7.8'], selector: { app: 'reviews' }, ports: [{ port: 9080 }] } },
  ];
}

test('the waypoint, as shipped and through the README’s overlay: one name everywhere, and ambit-control recognizes it', () => {
  for (const [objects, ns, name] of [[r.waypoint, 'bookinfo', 'waypoint'], [r.readmeWaypoint, 'bookinfo', 'reviews-waypoint']] as const) {
    assert.deepEqual(objects.map((o) => o.kind).sort(), ['Deployment', 'Gateway', 'Service', 'ServiceAccount']);
    for (const o of objects) assert.equal(o.metadata.name, name, ident(o));
    const gw = find(objects, 'Gateway', name) as unknown as { spec: { gatewayClassName: string; listeners: Array<{ port: number; protocol: string }> } };
    assert.equal(gw.spec.gatewayClassName, 'istio-waypoint');
    assert.deepEqual(gw.spec.listeners.map((l) => [l.protocol, l.port]), [['HBONE', 15008]]);
    const deployment = find(objects, 'Deployment', name);
    const { labels } = podMetaOf(deployment);
    assert.equal(labels['gateway.networking.k8s.io/gateway-name'], name, 'the pods name their Gateway');
    assert.deepEqual((deployment as unknown as { spec: { selector: { matchLabels: unknown } } }).spec.selector.matchLabels, { 'gateway.networking.k8s.io/gateway-name': name });
    assert.deepEqual((find(objects, 'Service', name) as unknown as { spec: { selector: unknown } }).spec.selector, { 'gateway.networking.k8s.io/gateway-name': name });
    assert.equal(podSpecOf(deployment).serviceAccountName, name, 'identity ns/NAME/sa/NAME, as Istio’s waypoints');
    const env = containerEnv(deployment, ns);
    assert.equal(env['WAYPOINT_NAME'], name, 'the process serves the Gateway its label names');
    assert.equal(env['SERVICE_ACCOUNT'], name);

    const t = translateMesh(snapshotOf(clusterWith(objects, ns)), OPTS);
    const wpWorkload = t.workloads.find((w) => w.name.startsWith(`${name}-`));
    assert.ok(wpWorkload, 'the waypoint pod is a workload');
    assert.equal(wpWorkload.protocol, 'HBONE', 'it terminates HBONE itself');
    assert.equal(wpWorkload.nativeTunnel, true);
    assert.equal(wpWorkload.netns, undefined, 'the node agent does not capture it');
    assert.equal(wpWorkload.waypoint, undefined, 'its own traffic is not sent through a waypoint');
    assert.equal(wpWorkload.serviceAccount, name);
    const reviews = t.services.find((s) => s.name === 'reviews');
    assert.deepEqual(reviews?.waypoint, { destination: { kind: 'hostname', namespace: ns, hostname: `${name}.${ns}.svc.cluster.local` }, hboneMtlsPort: 15008 }, 'the namespace’s services go through it');
    assert.equal(t.services.find((s) => s.name === name)?.waypoint, undefined, 'the waypoint’s own Service never goes through a waypoint');
  }
});
