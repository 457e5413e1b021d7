// translateMesh, pods → workloads: enrollment and opt-out, host network, pod lifecycle, identity
// fields, owner references, canonical labels, locality, netns; each row from objects to the exact Workload.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { translateMesh } from '../../src/controlplane/index.js';
import { snapshotOf, type KubeObject } from '../../src/k8s/index.js';
import type { Workload } from '../../src/state/index.js';
import { OPTS, ambientNs, expectedWorkload, namespace, node, pod, problemLines, workloadNamed } from '../helpers/k8s-objects.js';

function translateOne(objects: KubeObject[], name = 'p') {
  const t = translateMesh(snapshotOf(objects), OPTS);
  return { t, w: workloadNamed(t, name) };
}

interface Row {
  readonly name: string;
  readonly objects: KubeObject[];
  /** undefined: the pod must not become a workload. */
  readonly expected: Workload | undefined;
}

const enrollment: Row[] = [
  { name: 'pod in an ambient namespace is captured: HBONE', objects: [ambientNs(), pod('p')], expected: expectedWorkload('p') },
  { name: 'namespace without the label: TCP', objects: [namespace('default'), pod('p')], expected: expectedWorkload('p', { protocol: 'TCP' }) },
  {
    name: 'namespace labelled with another mode: TCP',
    objects: [namespace('default', { 'istio.io/dataplane-mode': 'sidecar' }), pod('p')],
    expected: expectedWorkload('p', { protocol: 'TCP' }),
  },
  { name: 'unknown namespace (no Namespace object): TCP', objects: [pod('p')], expected: expectedWorkload('p', { protocol: 'TCP' }) },
  {
    name: 'pod opts out with istio.io/dataplane-mode=none in an ambient namespace: TCP',
    objects: [ambientNs(), pod('p', { labels: { 'istio.io/dataplane-mode': 'none' } })],
    expected: expectedWorkload('p', { protocol: 'TCP' }),
  },
  {
    name: 'pod enrols itself with istio.io/dataplane-mode=ambient in a plain namespace: HBONE',
    objects: [namespace('default'), pod('p', { labels: { 'istio.io/dataplane-mode': 'ambient' } })],
    expected: expectedWorkload('p'),
  },
  {
    name: 'pod with an injected sidecar is never captured: TCP',
    objects: [ambientNs(), pod('p', { annotations: { 'sidecar.istio.io/status': '{}' } })],
    expected: expectedWorkload('p', { protocol: 'TCP' }),
  },
  {
    name: 'host-network pod is never captured: TCP, HostNetwork mode (not indexed by IP)',
    objects: [ambientNs(), pod('p', { hostNetwork: true, ip: '192.168.1.5' })],
    expected: expectedWorkload('p', { protocol: 'TCP', networkMode: 'HostNetwork', workloadIps: ['192.168.1.5'] }),
  },
  {
    name: 'native tunnel label networking.istio.io/tunnel=http: HBONE and nativeTunnel, even uncaptured',
    objects: [namespace('default'), pod('p', { labels: { 'networking.istio.io/tunnel': 'http' } })],
    expected: expectedWorkload('p', { nativeTunnel: true }),
  },
  {
    name: "istio-cni's ambient.istio.io/redirection=enabled annotation: HBONE",
    objects: [namespace('default'), pod('p', { annotations: { 'ambient.istio.io/redirection': 'enabled' } })],
    expected: expectedWorkload('p'),
  },
];

const lifecycle: Row[] = [
  { name: 'Succeeded pod is not a workload', objects: [ambientNs(), pod('p', { phase: 'Succeeded' })], expected: undefined },
  { name: 'Failed pod is not a workload', objects: [ambientNs(), pod('p', { phase: 'Failed' })], expected: undefined },
  { name: 'Pending pod with an IP is a workload', objects: [ambientNs(), pod('p', { phase: 'Pending', ready: false })], expected: expectedWorkload('p', { status: 'Unhealthy' }) },
  { name: 'pod without an IP is skipped', objects: [ambientNs(), pod('p', { ip: '' })], expected: undefined },
  { name: 'pod not Ready is Unhealthy', objects: [ambientNs(), pod('p', { ready: false })], expected: expectedWorkload('p', { status: 'Unhealthy' }) },
  {
    name: 'pod being deleted stays, Unhealthy (connections drain through its agent)',
    objects: [ambientNs(), pod('p', { deleting: true })],
    expected: expectedWorkload('p', { status: 'Unhealthy' }),
  },
  {
    name: 'dual-stack status.podIPs, canonical text',
    objects: [ambientNs(), pod('p', { ips: ['10.0.0.7', 'FD00:0:0::0007'] })],
    expected: expectedWorkload('p', { workloadIps: ['10.0.0.7', 'fd00::7'] }),
  },
];

const identity: Row[] = [
  {
    name: 'service account, node, cluster, trust domain, network from options',
    objects: [ambientNs('shop'), pod('p', { ns: 'shop', sa: 'cart', node: 'n1' })],
    expected: expectedWorkload('p', { namespace: 'shop', serviceAccount: 'cart', node: 'n1' }),
  },
  {
    name: 'locality from the Node topology labels',
    objects: [
      ambientNs(), pod('p', { node: 'n1' }),
      node('n1', { 'topology.kubernetes.io/region': 'eu', 'topology.kubernetes.io/zone': 'eu-1a', 'topology.istio.io/subzone': 'rack4' }),
    ],
    expected: expectedWorkload('p', { node: 'n1', locality: { region: 'eu', zone: 'eu-1a', subzone: 'rack4' } }),
  },
  {
    name: 'no Node object: empty locality',
    objects: [ambientNs(), pod('p', { node: 'n2' }), node('n1', { 'topology.kubernetes.io/region': 'eu' })],
    expected: expectedWorkload('p', { node: 'n2' }),
  },
  {
    name: 'ambit.dev/netns annotation becomes Workload.netns',
    objects: [ambientNs(), pod('p', { annotations: { 'ambit.dev/netns': '/var/run/netns/p' } })],
    expected: expectedWorkload('p', { netns: '/var/run/netns/p' }),
  },
  {
    name: 'ambit.dev/netns on a pod enrolled by its own label: Workload.netns',
    objects: [namespace('default'), pod('p', { labels: { 'istio.io/dataplane-mode': 'ambient' }, annotations: { 'ambit.dev/netns': '/var/run/netns/p' } })],
    expected: expectedWorkload('p', { netns: '/var/run/netns/p' }),
  },
  {
    name: 'ambit.dev/netns in a namespace without the label: no netns (not captured), TCP',
    objects: [namespace('default'), pod('p', { annotations: { 'ambit.dev/netns': '/var/run/netns/p' } })],
    expected: expectedWorkload('p', { protocol: 'TCP' }),
  },
  {
    name: 'ambit.dev/netns on a pod opted out with istio.io/dataplane-mode=none: no netns, TCP',
    objects: [ambientNs(), pod('p', { labels: { 'istio.io/dataplane-mode': 'none' }, annotations: { 'ambit.dev/netns': '/var/run/netns/p' } })],
    expected: expectedWorkload('p', { protocol: 'TCP' }),
  },
];

const owners: Row[] = [
  {
    name: 'ReplicaSet with the pod-template-hash: Deployment, hash stripped',
    objects: [ambientNs(), pod('p', { generateName: 'web-5d8f9c-', owner: { kind: 'ReplicaSet', name: 'web-5d8f9c' }, labels: { 'pod-template-hash': '5d8f9c' } })],
    expected: expectedWorkload('p', { workloadType: 'deployment', workloadName: 'web', canonicalName: 'web' }),
  },
  {
    name: 'ReplicaSet not ending with the hash: its own name, type pod',
    objects: [ambientNs(), pod('p', { generateName: 'rs-', owner: { kind: 'ReplicaSet', name: 'rs-abc' }, labels: { 'pod-template-hash': 'zzz' } })],
    expected: expectedWorkload('p', { workloadName: 'rs-abc', canonicalName: 'rs-abc' }),
  },
  {
    name: 'Job with a CronJob timestamp suffix: CronJob',
    objects: [ambientNs(), pod('p', { generateName: 'backup-28012345-', owner: { kind: 'Job', name: 'backup-28012345' } })],
    expected: expectedWorkload('p', { workloadType: 'cronjob', workloadName: 'backup', canonicalName: 'backup' }),
  },
  {
    name: 'plain Job: Job',
    objects: [ambientNs(), pod('p', { generateName: 'migrate-', owner: { kind: 'Job', name: 'migrate' } })],
    expected: expectedWorkload('p', { workloadType: 'job', workloadName: 'migrate', canonicalName: 'migrate' }),
  },
  {
    name: 'StatefulSet: its name, type pod',
    objects: [ambientNs(), pod('p', { generateName: 'db-', owner: { kind: 'StatefulSet', name: 'db' } })],
    expected: expectedWorkload('p', { workloadName: 'db', canonicalName: 'db' }),
  },
  {
    name: 'owner but no generateName: the pod itself',
    objects: [ambientNs(), pod('p', { owner: { kind: 'ReplicaSet', name: 'web-1' }, labels: { 'pod-template-hash': '1' } })],
    expected: expectedWorkload('p'),
  },
  {
    name: 'service.istio.io/workload-name overrides the derived name',
    objects: [ambientNs(), pod('p', { generateName: 'migrate-', owner: { kind: 'Job', name: 'migrate' }, labels: { 'service.istio.io/workload-name': 'wn' } })],
    expected: expectedWorkload('p', { workloadType: 'job', workloadName: 'wn', canonicalName: 'wn' }),
  },
];

const canonical: [string, Record<string, string>, string, string][] = [
  ['service.istio.io/canonical-* win', { 'service.istio.io/canonical-name': 'cn', 'app.kubernetes.io/name': 'an', app: 'a', 'service.istio.io/canonical-revision': 'cr', 'app.kubernetes.io/version': 'av', version: 'v' }, 'cn', 'cr'],
  ['app.kubernetes.io/* next', { 'app.kubernetes.io/name': 'an', app: 'a', 'app.kubernetes.io/version': 'av', version: 'v' }, 'an', 'av'],
  ['app and version last', { app: 'a', version: 'v' }, 'a', 'v'],
  ['none: workload name and latest', {}, 'p', 'latest'],
];

for (const row of [...enrollment, ...lifecycle, ...identity, ...owners]) {
  test(`workload: ${row.name}`, () => {
    const { t, w } = translateOne(row.objects);
    assert.deepEqual(w, row.expected);
    assert.deepEqual(t.errors, []);
  });
}

for (const [name, labels, cn, cr] of canonical) {
  test(`canonical labels: ${name}`, () => {
    const { w } = translateOne([ambientNs(), pod('p', { labels })]);
    assert.deepEqual(w, expectedWorkload('p', { canonicalName: cn, canonicalRevision: cr }));
  });
}

test('a pod IP that does not parse leaves that pod out, reported, and the others translate', () => {
  const t = translateMesh(snapshotOf([ambientNs(), pod('bad', { ip: '10.0.0.300' }), pod('good', { ip: '10.0.0.2' })]), OPTS);
  assert.deepEqual(t.workloads.map((w) => w.name), ['good']);
  assert.deepEqual(problemLines(t), ['error Pod/default/bad status.podIP: "10.0.0.300" is not an IP address; pod left out']);
});

test('a relative ambit.dev/netns is reported and ignored, also while the pod is not enrolled', () => {
  const { t, w } = translateOne([ambientNs(), pod('p', { annotations: { 'ambit.dev/netns': 'netns/p' } })]);
  assert.deepEqual(w, expectedWorkload('p'));
  assert.deepEqual(problemLines(t), ['error Pod/default/p metadata.annotations["ambit.dev/netns"]: netns must be an absolute path, got "netns/p"; ignored']);
  const out = translateOne([namespace('default'), pod('p', { annotations: { 'ambit.dev/netns': 'netns/p' } })]);
  assert.deepEqual(problemLines(out.t), problemLines(t));
});

test('workloads are sorted by uid whatever the input order', () => {
  const t = translateMesh(snapshotOf([pod('b', { ns: 'z' }), pod('a', { ns: 'z' }), pod('c', { ns: 'a' })]), OPTS);
  assert.deepEqual(t.workloads.map((w) => w.uid), ['c1//Pod/a/c', 'c1//Pod/z/a', 'c1//Pod/z/b']);
});
