// The standard in-process fixture: an echo server on a pod address, agents for nodes "a" and "b"
// sharing one watched mesh config and one CA root, plus hot reconfiguration of both.

import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startAgent, tempDir, writeConfig, type TestAgent } from './agent.js';
import type { HostFacts } from '../../src/config/index.js';
import { meshAddresses, meshYaml, type MeshAddresses } from './mesh-config.js';
import { randomLoopbackPrefix, startEchoServer, type EchoServer } from './tcp.js';

export interface TwoNodeMesh {
  readonly a: TestAgent;
  readonly b: TestAgent;
  readonly echo: EchoServer;
  readonly addrs: MeshAddresses;
  readonly configPath: string;
  /** Atomically replaces the config file and waits until both agents applied it. */
  reconfigure(yaml: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * `env`: extra agent settings for both agents (e.g. another CA provider); `envA` / `envB` add to
 * it for one agent only (e.g. each node agent's own CA token).
 */
export async function startTwoNodeMesh(
  options: { readonly env?: Record<string, string>; readonly envA?: Record<string, string>; readonly envB?: Record<string, string>; readonly host?: HostFacts } = {},
): Promise<TwoNodeMesh> {
  const addrs = meshAddresses(randomLoopbackPrefix());
  const dir = tempDir();
  const configPath = writeConfig(dir, meshYaml(addrs));
  const stateDir = join(dir, 'state');
  const echo = await startEchoServer(addrs.echo, addrs.echoPort);
  let a: TestAgent | undefined;
  try {
    a = await startAgent({ nodeName: 'a', bind: addrs.nodeA, configPath, stateDir, host: options.host, env: { ...options.env, ...options.envA } });
    const b = await startAgent({ nodeName: 'b', bind: addrs.nodeB, configPath, stateDir, host: options.host, env: { ...options.env, ...options.envB } });
    return meshOf(a, b, echo, addrs, configPath);
  } catch (err) {
    a?.agent.destroy();
    await echo.close();
    throw err;
  }
}

function meshOf(a: TestAgent, b: TestAgent, echo: EchoServer, addrs: MeshAddresses, configPath: string): TwoNodeMesh {
  return {
    a,
    b,
    echo,
    addrs,
    configPath,
    async reconfigure(yaml) {
      const va = a.agent.source.version;
      const vb = b.agent.source.version;
      writeFileSync(configPath + '.tmp', yaml);
      renameSync(configPath + '.tmp', configPath);
      await waitUntil(() => a.agent.source.version > va && b.agent.source.version > vb);
    },
    async close() {
      a.agent.destroy();
      b.agent.destroy();
      await echo.close();
    },
  };
}

/** Polls a condition on the event loop (for file-system driven changes; no fixed sleeps). */
export async function waitUntil(cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > timeoutMs) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
