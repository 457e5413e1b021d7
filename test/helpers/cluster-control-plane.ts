// Test helper: `ambit control` in cluster mode against a FakeKubeApiServer — a kubeconfig for it in
// a temp dir, every port on 0, a short debounce — started, as the cluster-mode integration tests run it.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ControlPlane } from '../../src/bin/control-plane.js';
import { loadControlConfig } from '../../src/config/index.js';
import { lineCapture, tempDir } from './agent.js';
import type { FakeKubeApiServer } from './fake-kube-apiserver.js';

export interface ClusterControlPlane {
  readonly plane: ControlPlane;
  /** The kubeconfig file that points at `server` (for other clients of the same API server). */
  readonly kubeconfig: string;
}

/** Starts a control plane that lists and watches `server`; the caller closes `plane`. */
export async function startClusterControlPlane(server: FakeKubeApiServer): Promise<ClusterControlPlane> {
  const dir = tempDir();
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, server.kubeconfigYaml());
  const config = loadControlConfig([], {
    KUBECONFIG: kubeconfig,
    AMBIT_BIND_ADDRESS: '127.0.0.1',
    AMBIT_PORT_XDS: '0',
    AMBIT_PORT_XDS_TLS: '0',
    AMBIT_PORT_MONITORING: '0',
    AMBIT_STATE_DIR: join(dir, 'state'),
    PILOT_DEBOUNCE_AFTER: '20ms',
  });
  const plane = new ControlPlane({ config, logDestination: lineCapture().stream });
  await plane.start();
  return { plane, kubeconfig };
}

/**
 * Waits until `count()` (e.g. status PATCHes the API server received) has not changed for
 * `quietMs`, three samples in a row; returns its value then.
 */
export async function settledCount(count: () => number, quietMs = 400): Promise<number> {
  let seen = -1;
  for (let stable = 0; stable < 3; ) {
    await new Promise((r) => setTimeout(r, quietMs / 3));
    const n = count();
    stable = n === seen ? stable + 1 : 0;
    seen = n;
  }
  return seen;
}
