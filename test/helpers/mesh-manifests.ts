// Kubernetes manifests for the two-node loopback mesh of mesh-config.ts (ambient namespace, client
// and echo pods on nodes a and b, echo Service), and an in-process `ambit control` on a folder of them.

import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ControlPlane } from '../../src/bin/control-plane.js';
import { loadControlConfig } from '../../src/config/index.js';
import { lineCapture, type LineCapture } from './agent.js';
import type { MeshAddresses } from './mesh-config.js';

/** The namespace, pods and service as YAML documents; `ambient` sets the namespace's enrollment label. */
export function meshManifests(a: MeshAddresses, opts: { ambient?: boolean } = {}): string {
  const labels = opts.ambient ?? true ? `\n  labels:\n    istio.io/dataplane-mode: ambient` : '';
  const pod = (name: string, sa: string, node: string, ip: string, app: string, port?: number): string => `---
apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  namespace: default
  labels:
    app: ${app}
spec:
  serviceAccountName: ${sa}
  nodeName: ${node}
  containers:
  - name: main
    image: example
${port ? `    ports:\n    - containerPort: ${port}\n      name: http\n` : ''}status:
  phase: Running
  podIP: ${ip}
  podIPs:
  - ip: ${ip}
  conditions:
  - type: Ready
    status: "True"
`;
  return `apiVersion: v1
kind: Namespace
metadata:
  name: default${labels}
${pod('client', 'client', 'a', a.client, 'client')}${pod('echo', 'echo', 'b', a.echo, 'echo', a.echoPort)}---
apiVersion: v1
kind: Service
metadata:
  name: echo
  namespace: default
spec:
  selector:
    app: echo
  clusterIP: ${a.vip}
  clusterIPs: ["${a.vip}"]
  ports:
  - name: http
    port: 80
    targetPort: ${a.echoPort}
`;
}

export interface TestControlPlane {
  readonly plane: ControlPlane;
  readonly logs: LineCapture;
  readonly dir: string;
  /** `http://127.0.0.1:<plaintext xDS port>` for XDS_ADDRESS. */
  readonly xdsAddress: string;
  /** Atomically replaces (or adds) one manifest file of the folder. */
  write(file: string, yaml: string): void;
}

/** Starts `ambit control` in-process on `dir` (created), any free ports on 127.0.0.1. */
export async function startControlPlane(dir: string, stateDir: string, env: Record<string, string> = {}): Promise<TestControlPlane> {
  mkdirSync(dir, { recursive: true });
  const logs = lineCapture();
  const config = loadControlConfig([], {
    AMBIT_MANIFESTS: dir,
    AMBIT_BIND_ADDRESS: '127.0.0.1',
    AMBIT_PORT_XDS: '0',
    AMBIT_PORT_XDS_TLS: '0',
    AMBIT_PORT_MONITORING: '0',
    AMBIT_STATE_DIR: stateDir,
    PILOT_DEBOUNCE_AFTER: '20ms',
    AMBIT_LOG_LEVEL: 'debug',
    ...env,
  });
  const plane = new ControlPlane({ config, logDestination: logs.stream });
  await plane.start();
  return {
    plane,
    logs,
    dir,
    xdsAddress: `http://127.0.0.1:${plane.addresses().xds}`,
    write(file, yaml) {
      const path = join(dir, file);
      writeFileSync(`${path}.tmp`, yaml);
      renameSync(`${path}.tmp`, path);
    },
  };
}
