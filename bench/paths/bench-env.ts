// What every path of one run shares: the netns topology (one client/server pod pair per path, on a
// common bridge), a private work directory, the PKI and the registry of processes to clean up.

import { MeshError } from '../../src/common/errors.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTopology, type Topology, type TopologyPod } from '../../test/helpers/netns-topology.js';
import { randomLoopbackPrefix } from '../../test/helpers/tcp.js';
import { inNetns, withNofile, type RunIn } from '../lib/index.js';
import { BenchPki } from './bench-pki.js';
import { ProcessRegistry } from './process-registry.js';

/**
 * RLIMIT_NOFILE for every process on a measured path (apps, proxies, clients): 5,000 idle
 * connections cost a proxy two descriptors each, plus listeners and pools.
 */
export const BENCH_NOFILE = 65536;

export interface BenchEnv {
  readonly topology: Topology;
  /** Private directory of this run (configs, CA state); removed by destroy(). */
  readonly workDir: string;
  readonly pki: BenchPki;
  readonly processes: ProcessRegistry;
  /** A random loopback /24 like `127.83.17`: node agents bind `<prefix>.1`, `<prefix>.2`. */
  readonly loopbackPrefix: string;
  pod(name: string): TopologyPod;
  /** Runs a tool inside the pod's netns with the raised descriptor limit. */
  inPod(name: string): RunIn;
  /** Stops tracked processes, removes the topology and the work directory. Idempotent. */
  destroy(): Promise<void>;
}

export async function createBenchEnv(podNames: readonly string[]): Promise<BenchEnv> {
  const workDir = mkdtempSync(join(tmpdir(), 'ambit-bench-'));
  const processes = new ProcessRegistry();
  let topology: Topology | undefined;
  let destroyed = false;
  const destroy = async (): Promise<void> => {
    if (destroyed) return;
    destroyed = true;
    await processes.stopAll(2000).catch(() => undefined);
    processes.dispose();
    await topology?.destroy();
    rmSync(workDir, { recursive: true, force: true });
  };
  try {
    topology = await createTopology({ pods: podNames.map((name) => ({ name })) });
    const pki = await BenchPki.create(join(workDir, 'ca-state'));
    const topo = topology;
    const pod = (name: string): TopologyPod => {
      const p = topo.pods.get(name);
      if (p === undefined) throw new MeshError('INTERNAL', `bench: no pod ${name} in the topology`);
      return p;
    };
    return {
      topology: topo,
      workDir,
      pki,
      processes,
      loopbackPrefix: randomLoopbackPrefix(),
      pod,
      inPod: (name) => withNofile(BENCH_NOFILE, inNetns(pod(name).netnsName)),
      destroy,
    };
  } catch (e) {
    await destroy();
    throw e;
  }
}
