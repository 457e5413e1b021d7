// MeshPipeline over a changing source: each change lands in the cache as one step, only resources whose
// translation changed are encoded again, and the translation's phases are timed.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MeshPipeline, ResourceCache } from '../../src/controlplane/index.js';
import { silentLogger } from '../../src/common/log.js';
import { createRegistry } from '../../src/metrics/index.js';
import type { Authorization, Service, Workload } from '../../src/state/index.js';
import { ADDRESS_TYPE_URL, AUTHORIZATION_TYPE_URL, encodeAddress, encodeAuthorization } from '../../src/xds/index.js';
import { MemorySource } from '../../bench/control/memory-source.js';
import { ChangeGenerator } from '../../bench/control/cluster-changes.js';
import { generateCluster, namespaceName } from '../../bench/control/synthetic-cluster.js';
import { OPTS, authz } from '../helpers/k8s-objects.js';

async function started() {
  const cluster = generateCluster({ pods: 200, services: 30, namespaces: 3, nodes: 3 });
  const source = new MemorySource(cluster.objects, silentLogger());
  await source.start();
  const cache = new ResourceCache();
  const encoded: string[] = [];
  const pipeline = new MeshPipeline({
    source,
    cache,
    options: OPTS,
    encoders: {
      encodeAddress: (r: Workload | Service) => {
        encoded.push('uid' in r ? r.uid : `${r.namespace}/${r.hostname}`);
        return encodeAddress(r);
      },
      encodeAuthorization: (p: Authorization) => {
        encoded.push(`${p.namespace}/${p.name}`);
        return encodeAuthorization(p);
      },
    },
    registry: createRegistry({ processMetrics: false }),
    logger: silentLogger(),
  });
  pipeline.start();
  return { cluster, source, cache, encoded, pipeline };
}

test('a pod change re-encodes that pod only, and the cache gets it as one changed resource', async () => {
  const { cluster, source, cache, encoded, pipeline } = await started();
  const total = cache.view(ADDRESS_TYPE_URL).size + cache.view(AUTHORIZATION_TYPE_URL).size;
  assert.equal(encoded.length, total, 'the first translation encodes everything once');
  const changes: string[][] = [];
  cache.onChange((c) => changes.push([...(c.types.get(ADDRESS_TYPE_URL)?.changed ?? []), ...(c.types.get(ADDRESS_TYPE_URL)?.removed ?? [])]));
  const gen = new ChangeGenerator(cluster, OPTS.clusterId);
  for (let i = 0; i < 4; i++) {
    encoded.length = 0;
    const c = gen.next();
    source.apply([c.change]);
    assert.deepEqual(encoded, c.removal ? [] : [c.resource], `${c.kind}: only the changed pod is encoded`);
    assert.deepEqual(changes.at(-1), [c.resource], `${c.kind}: one resource changed in the cache`);
  }
  const phases = pipeline.state().phasesMs!;
  assert.ok(phases.translate >= 0 && phases.encode >= 0 && phases.publish >= 0);
  assert.ok(Math.abs(phases.translate + phases.encode + phases.publish - pipeline.state().translationMs!) < 1);
});

test('a namespace policy: every pod is translated again, but only the new policy is encoded and reaches the cache', async () => {
  const { source, cache, encoded } = await started();
  const revision = cache.revision;
  const changes: string[][] = [];
  cache.onChange((c) => changes.push([...c.types.keys()]));
  encoded.length = 0;
  source.apply([{ type: 'upsert', object: authz('deny-all', namespaceName(1), { action: 'DENY', rules: [{}] }) }]);
  // A namespace-scoped policy is not attached to Workloads: each came out as before, kept as the same object.
  assert.deepEqual(encoded, [`${namespaceName(1)}/deny-all`]);
  assert.equal(cache.revision, revision + 1);
  assert.deepEqual(changes, [[AUTHORIZATION_TYPE_URL]]);
});
