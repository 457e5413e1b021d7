// A pod captured on behalf of worker threads (the main thread's side, WORKER_THREADS > 1): the
// redirect rules are installed here, once (own-rules mode; with ZDS they are istio-cni's), and the
// listeners are opened by every worker.

import type { Logger } from '../common/log.js';
import type { Config } from '../config/index.js';
import type { PodRunner } from './inpod-manager.js';
import type { SharedPodSpec } from './pod-proxy-set.js';
import { PodRules } from './pod-rules.js';
import type { IpFamily } from './redirect-rule-set.js';
import type { ZdsWorkloadInfo } from './zds-codec.js';

/** Where the pod's listeners live: every worker thread (the worker pool implements it). */
export interface PodListenerHosts {
  /** Resolves once every worker listens in the pod; rejects when one cannot. */
  addPod(spec: SharedPodSpec): Promise<void>;
  /** Graceful when `deadlineMs` is given; resolves once every worker let go of the pod. */
  removePod(uid: string, deadlineMs?: number): Promise<void>;
}

export interface RemotePodInputs {
  readonly uid: string;
  readonly netns: string;
  /** zds: the pod's netns fd (held open by the source until the registry releases the pod). */
  readonly netnsFd?: number;
  readonly workload?: ZdsWorkloadInfo;
  /** Whose redirect rules: installed here ('own'), or istio-cni's, capturing these families. */
  readonly rules: 'own' | { readonly cni: readonly IpFamily[] };
  readonly config: Config;
  readonly logger: Logger;
  readonly hosts: PodListenerHosts;
}

/**
 * Same order as a PodProxy: rules, then listeners; on teardown listeners (connections drained or
 * cut), then rules. A failed start undoes both before it rethrows, so the manager may retry.
 */
export class RemotePod implements PodRunner {
  /** Undefined when the rules are istio-cni's. */
  private readonly rules: PodRules | undefined;

  constructor(private readonly inputs: RemotePodInputs) {
    this.rules = inputs.rules === 'own' ? new PodRules(inputs.netns, inputs.config, inputs.logger) : undefined;
  }

  async start(): Promise<void> {
    const { uid, netns, netnsFd, workload, hosts, rules } = this.inputs;
    try {
      const families = this.rules ? await this.rules.install() : rules === 'own' ? [] : rules.cni;
      await hosts.addPod({ uid, netns, netnsFd, workload, families });
    } catch (err) {
      await this.teardown();
      throw err;
    }
  }

  async close(deadlineMs: number): Promise<void> {
    await this.inputs.hosts.removePod(this.inputs.uid, deadlineMs);
    await this.rules?.remove();
  }

  destroy(): Promise<void> {
    return this.teardown();
  }

  private async teardown(): Promise<void> {
    await this.inputs.hosts.removePod(this.inputs.uid).catch((err: unknown) =>
      this.inputs.logger.warn({ err: (err as Error).message, pod: this.inputs.uid }, 'could not remove the pod from every worker'),
    );
    await this.rules?.remove();
  }
}
