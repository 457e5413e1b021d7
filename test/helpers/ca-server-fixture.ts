// The control-plane CA under test: a pod store (node agents and workloads on nodes a and b), a
// watched token file binding each node agent's token to its pod, and a started CA server.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { silentLogger } from '../../src/common/log.js';
import type { Logger } from '../../src/common/log.js';
import { ObjectStore, type KubeObject } from '../../src/k8s/index.js';
import {
  PodNodeAuthorizer,
  StaticTokenAuthenticator,
  startCaServer,
  type CaServer,
  type CaService,
  type CaServiceOptions,
  type MeshRootSource,
  type MeshSigner,
  type TokenAuthenticator,
} from '../../src/controlplane/index.js';
import { tempDir } from './agent.js';

/** Node agent tokens (bound to their pods), an app token, and a node agent bound to a node directly. */
export const TOKENS = {
  agentA: 'tok-ztunnel-a',
  agentB: 'tok-ztunnel-b',
  agentNodeA: 'tok-ztunnel-node-a',
  app: 'tok-app-client',
} as const;

export const TOKEN_FILE = `# token → caller
${TOKENS.agentA}: { serviceAccount: istio-system/ztunnel, pod: ztunnel-a }
${TOKENS.agentB}: { serviceAccount: istio-system/ztunnel, pod: ztunnel-b }
${TOKENS.agentNodeA}: { serviceAccount: istio-system/ztunnel, node: a }
${TOKENS.app}: default/client
`;

export function pod(namespace: string, name: string, serviceAccount: string, node: string, uid = `uid-${name}`): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { namespace, name, uid },
    spec: { serviceAccountName: serviceAccount, nodeName: node, containers: [{ name: 'app', image: 'app' }] },
  } as KubeObject;
}

/** The two-node mesh of mesh-config.ts as pods, plus one ztunnel pod per node. */
export const MESH_PODS: readonly KubeObject[] = [
  pod('istio-system', 'ztunnel-a', 'ztunnel', 'a'),
  pod('istio-system', 'ztunnel-b', 'ztunnel', 'b'),
  pod('default', 'client', 'client', 'a'),
  pod('default', 'client2', 'other', 'a'),
  pod('default', 'echo', 'echo', 'b'),
  pod('default', 'tcp-echo', 'default', 'b'),
];

export interface CaFixture {
  readonly server: CaServer;
  readonly service: CaService;
  readonly signer: MeshSigner;
  readonly pods: ObjectStore;
  readonly tokens: StaticTokenAuthenticator;
  readonly tokenPath: string;
  readonly dir: string;
  /** `127.0.0.1:<port>` for raw clients. */
  readonly target: string;
  close(): Promise<void>;
}

export interface CaFixtureOptions extends Partial<Omit<CaServiceOptions, 'signer' | 'logger'>> {
  readonly root?: MeshRootSource;
  readonly logger?: Logger;
  /** Replaces the token file authenticator (e.g. a KubeTokenReviewer). */
  readonly tokenAuthenticator?: TokenAuthenticator;
  readonly serverCertTtlSeconds?: number;
}

export async function startCaFixture(options: CaFixtureOptions = {}): Promise<CaFixture> {
  const dir = tempDir('ambit-cp-ca-');
  const tokenPath = join(dir, 'tokens.yaml');
  writeFileSync(tokenPath, TOKEN_FILE);
  const logger = options.logger ?? silentLogger();
  const tokens = new StaticTokenAuthenticator({ path: tokenPath, logger, debounceMs: 20 });
  await tokens.start();
  const pods = new ObjectStore();
  pods.replaceKinds(['Pod'], [...MESH_PODS]);
  const started = await startCaServer({
    root: options.root ?? { kind: 'builtin', stateDir: join(dir, 'state') },
    logger,
    nodes: new PodNodeAuthorizer(() => pods.snapshot()),
    ...options,
    tokens: options.tokenAuthenticator ?? tokens,
  });
  return {
    ...started,
    pods,
    tokens,
    tokenPath,
    dir,
    target: `127.0.0.1:${started.server.port}`,
    async close() {
      await started.close();
      tokens.destroy();
    },
  };
}
