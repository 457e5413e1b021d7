// Pure pieces of the control-plane bench: the synthetic cluster (exact size, valid, deterministic), the
// change cycle, the lean ADS response reader against the independent client, options, the report table.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateObject, type KubeObject } from '../../src/k8s/index.js';
import { decodeLeanResponse } from '../../bench/control/ads-load-client.js';
import { ChangeGenerator, CHANGE_KINDS } from '../../bench/control/cluster-changes.js';
import { parseControlBenchArgs } from '../../bench/control/options.js';
import { formatControlTable } from '../../bench/control/report.js';
import { changeStats, type ControlMeasurement } from '../../bench/control/summary.js';
import { generateCluster } from '../../bench/control/synthetic-cluster.js';
import { decodeResponse, encodeMessage } from '../helpers/ads-client.js';

test('synthetic cluster: exactly the pods and Services asked for, every object valid, the same every time', () => {
  const shape = { pods: 1000, services: 100, namespaces: 10, nodes: 10 };
  const c = generateCluster(shape);
  assert.equal(c.counts['Pod'], 1000);
  assert.equal(c.counts['Service'], 100);
  assert.equal(c.counts['Node'], 10);
  assert.equal(c.counts['Namespace'], 11, 'ten plus the root namespace');
  assert.equal(c.counts['Gateway'], 2);
  assert.ok((c.counts['AuthorizationPolicy'] ?? 0) > 10 && (c.counts['PeerAuthentication'] ?? 0) > 1 && (c.counts['EndpointSlice'] ?? 0) > 80);
  for (const o of c.objects) {
    const v = validateObject(o);
    assert.ok(v.ok, `${o.kind} ${o.metadata.namespace}/${o.metadata.name}: ${v.ok ? '' : JSON.stringify(v.problems)}`);
  }
  const ips = c.objects.filter((o) => o.kind === 'Pod').map((o) => (o as KubeObject<'Pod'>).status!.podIP);
  assert.equal(new Set(ips).size, ips.length, 'pod IPs are unique');
  assert.deepEqual(generateCluster(shape), c);
  assert.equal(c.apps.reduce((n, a) => n + a.pods.length, 0) + 10 + 4, 1000, 'app pods + one CronJob pod per namespace + 2×2 waypoint pods');
  assert.throws(() => generateCluster({ pods: 5, services: 100, namespaces: 10, nodes: 1 }), /too small/);
});

test('changes cycle through label, IP, new pod and its deletion, each naming the workload to expect', () => {
  const c = generateCluster({ pods: 300, services: 30, namespaces: 3, nodes: 3 });
  const gen = new ChangeGenerator(c, 'Kubernetes');
  const made = Array.from({ length: 8 }, () => gen.next());
  assert.deepEqual(made.map((m) => m.kind), [...CHANGE_KINDS, ...CHANGE_KINDS]);
  for (const m of made) assert.match(m.resource, /^Kubernetes\/\/Pod\/team-\d{3}\/.+/);
  assert.equal(made[3]!.resource, made[2]!.resource, 'the deleted pod is the one just added');
  assert.deepEqual([made[3]!.removal, made[3]!.change.type], [true, 'delete']);
  assert.ok(made.filter((m) => !m.removal).every((m) => m.change.type === 'upsert' && validateObject(m.change.object).ok));
  assert.notEqual(made[0]!.resource, made[4]!.resource, 'pods are spread, not the same one again');
});

test('lean response reader: type, nonce, resource names and versions, removals as the independent client reads them', () => {
  const any = { type_url: 'type.googleapis.com/istio.workload.Address', value: Buffer.from([1, 2, 3]) };
  const bytes = encodeMessage('envoy.service.discovery.v3.DeltaDiscoveryResponse', {
    systemVersionInfo: '7',
    resources: [{ name: 'a', version: 'v1', resource: any }, { name: 'b', version: 'v2', resource: any, aliases: ['x'] }],
    typeUrl: any.type_url,
    nonce: 'n-1',
    removedResources: ['gone'],
    controlPlane: { identifier: 'cp' },
  });
  const lean = decodeLeanResponse(bytes);
  const full = decodeResponse(bytes);
  assert.deepEqual(lean, {
    typeUrl: full.typeUrl,
    nonce: full.nonce,
    resources: full.resources.map((r) => ({ name: r.name, version: r.version })),
    removed: full.removed,
  });
  assert.equal(lean.resources.length, 2);
});

test('options: full and quick presets; bad values refused', () => {
  const full = parseControlBenchArgs([])!;
  assert.deepEqual([full.shape.pods, full.shape.services, full.clients, full.rounds, full.changes], [10_000, 1_000, 100, 3, 100]);
  assert.deepEqual(full.debounceMs, [100, 1]);
  const quick = parseControlBenchArgs(['--quick'])!;
  assert.deepEqual([quick.shape.pods, quick.shape.services, quick.clients, quick.rounds], [1_000, 100, 10, 1]);
  assert.equal(quick.shape.nodes, quick.clients, 'one node agent (client) per node');
  assert.equal(parseControlBenchArgs(['--help']), null);
  assert.throws(() => parseControlBenchArgs(['--debounce', '0']), /--debounce/);
  assert.throws(() => parseControlBenchArgs(['--clients', 'many']), /--clients/);
});

test('change statistics and the report table: target, met or MISSED, footnotes', () => {
  const samples = Array.from({ length: 100 }, (_, i) => ({ seq: i, kind: 'label' as const, allMs: i + 1, firstMs: i, pipelineMs: 1 }));
  assert.deepEqual(changeStats(samples), { p50: 50, p99: 99, max: 100, count: 100 });
  const rows: ControlMeasurement[] = [
    { id: 'a', label: 'fast thing', unit: 'ms', value: 50, spread: { min: 40, max: 60, rounds: 3 }, target: { max: 100, source: 'issue' }, met: true },
    { id: 'b', label: 'slow thing', unit: 'ms', value: 150, spread: { min: 150, max: 150, rounds: 1 }, target: { max: 100, source: 'issue' }, met: false, note: 'why' },
    { id: 'c', label: 'no target', unit: 'MB', value: null, spread: null },
  ];
  const table = formatControlTable(rows, ['all cells']);
  assert.match(table, /fast thing\s+ms\s+50 \(40–60\)\s+≤ 100\s+met/);
  assert.match(table, /slow thing \[1\]\s+ms\s+150\s+≤ 100\s+MISSED/);
  assert.match(table, /no target\s+MB\s+—\s+—/);
  assert.match(table, /\[1\] why\n\[2\] all cells/);
});
