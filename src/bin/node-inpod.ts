// The node agent's in-pod capture, wired: the pod registry, its source (the local config's `netns`
// in own-rules mode, istio-cni over ZDS in zds mode) and the runner of each pod (a PodProxy on this
// event loop, or a RemotePod whose listeners live in the worker threads).

import type { Logger } from '../common/log.js';
import type { Config } from '../config/index.js';
import {
  InpodManager,
  LocalConfigPodSource,
  PodProxy,
  RemotePod,
  ZdsClient,
  ZdsPodSource,
  type IpFamily,
  type PodEntry,
  type PodListenerHosts,
  type PodProxyInputs,
  type PodRunner,
  type PodSource,
} from '../inpod/index.js';
import { WorkloadManagerMetrics, type ErrorCounter, type Registry } from '../metrics/index.js';
import type { NativeSockets } from '../sockets/index.js';
import type { ProxyState } from '../state/index.js';

export interface NodeInpod {
  readonly manager: InpodManager;
  /** zds mode: the connection to istio-cni (started after the registry) and the pods it handed over. */
  readonly zds?: { readonly client: ZdsClient; readonly pods: ZdsPodSource };
}

export interface NodeInpodInputs {
  readonly config: Config;
  readonly state: ProxyState;
  readonly native: NativeSockets;
  readonly errors: ErrorCounter;
  readonly registry: Registry;
  /** The agent's Readiness.register. */
  readonly readiness: (task: string) => () => void;
  readonly logger: Logger;
  readonly createPod: (entry: PodEntry, logger: Logger) => PodRunner;
}

/** IP families istio-cni's rules capture: the pod listeners are dual-stack unless IPV6_ENABLED=false. */
export function cniFamilies(config: Config): IpFamily[] {
  return config.ipv6Enabled ? ['v4', 'v6'] : ['v4'];
}

export function createNodeInpod(inputs: NodeInpodInputs): NodeInpod {
  const { config, logger, native } = inputs;
  const zdsPods = config.inpod.mode === 'zds' ? new ZdsPodSource(native, config.nodeName) : undefined;
  const pods: PodSource = zdsPods ?? new LocalConfigPodSource(inputs.state, config.nodeName);
  const manager = new InpodManager({
    config,
    errors: inputs.errors,
    logger: logger.child({ component: 'inpod' }),
    pods,
    createPod: inputs.createPod,
    metrics: new WorkloadManagerMetrics(inputs.registry),
  });
  if (!zdsPods) return { manager };
  const client = new ZdsClient({
    path: config.inpod.uds,
    native,
    pods: zdsPods,
    manager,
    readiness: inputs.readiness,
    errors: inputs.errors,
    logger: logger.child({ component: 'zds' }),
  });
  return { manager, zds: { client, pods: zdsPods } };
}

/** Pods served on this event loop; istio-cni's rules (zds) leave the proxy only listening (SO_REUSEPORT, as ztunnel's INPOD_PORT_REUSE). */
export function localPodFactory(common: Omit<PodProxyInputs, 'uid' | 'netns' | 'netnsFd' | 'workload' | 'sharedCapture' | 'logger'>): NodeInpodInputs['createPod'] {
  const families = cniFamilies(common.config);
  return (entry, logger) =>
    new PodProxy({
      ...common,
      uid: entry.uid,
      netns: entry.netns,
      netnsFd: entry.netnsFd,
      workload: entry.workload,
      sharedCapture: entry.rules === 'cni' ? { families } : undefined,
      logger,
    });
}

/** Pods served by the worker threads; the main thread installs own rules once per pod. */
export function remotePodFactory(config: Config, hosts: PodListenerHosts): NodeInpodInputs['createPod'] {
  const families = cniFamilies(config);
  return (entry, logger) =>
    new RemotePod({
      uid: entry.uid,
      netns: entry.netns,
      netnsFd: entry.netnsFd,
      workload: entry.workload,
      rules: entry.rules === 'own' ? 'own' : { cni: families },
      config,
      logger,
      hosts,
    });
}
