// An ObjectSource over objects held in memory (the control-plane bench's synthetic cluster): the
// same store and change notification as the manifests and cluster sources, changes applied by call.

import type { Logger } from '../../src/common/log.js';
import type { Kind, KubeObject, ObjectRejection, ObjectSnapshot, ObjectSource } from '../../src/k8s/index.js';
import { KINDS, type ObjectChange } from '../../src/k8s/index.js';
import { SourceCore } from '../../src/k8s/source-core.js';

export class MemorySource implements ObjectSource {
  private readonly core: SourceCore;

  /** `objects`: the whole initial state, stored by start() as one batch. */
  constructor(
    private readonly objects: readonly KubeObject[],
    logger: Logger,
  ) {
    this.core = new SourceCore(logger);
  }

  async start(): Promise<void> {
    this.core.replaceKinds(KINDS, this.objects);
    this.core.markSynced();
  }

  /** Applies one batch (as a watch event would) and returns the kinds it changed. */
  apply(changes: readonly ObjectChange[]): ReadonlySet<Kind> {
    return this.core.apply(changes);
  }

  async close(): Promise<void> {}

  destroy(): void {}

  get synced(): boolean {
    return this.core.synced;
  }

  whenSynced(): Promise<void> {
    return this.core.whenSynced();
  }

  snapshot(): ObjectSnapshot {
    return this.core.snapshot();
  }

  onChange(listener: (snapshot: ObjectSnapshot, changed: ReadonlySet<Kind>) => void): () => void {
    return this.core.onChange(listener);
  }

  rejections(): readonly ObjectRejection[] {
    return [];
  }
}
