// Starts pod-server.js (HTTP 8080 naming the client address it sees, TCP echo 9000) inside a pod
// of a topology, as the netns tests and the demo use it; resolves once it prints "ready".

import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Topology } from './netns-topology.js';

/** The pod server script, for tests that start it with other ports. */
export const POD_SERVER_PATH = fileURLToPath(new URL('./pod-server.js', import.meta.url));

/** The server runs until the topology is destroyed (or the caller kills it). */
export async function startPodServer(topo: Topology, pod: string): Promise<ChildProcess> {
  const child = topo.spawn(pod, [process.execPath, POD_SERVER_PATH, '--http', '8080', '--echo', '9000'], {
    env: { ...process.env, POD_NAME: pod },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      if (d.toString().includes('ready')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`pod server in ${pod} exited with ${code}`)));
  });
  return child;
}
