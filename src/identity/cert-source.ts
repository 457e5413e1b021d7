// What the data plane needs of workload certificates: the seam between the proxy and whoever holds
// them (the CertManager on the main thread, or a worker thread's cache that asks the main thread).

import type { CertPriority } from './issue-queue.js';
import type { WorkloadCertificate } from './workload-certificate.js';

/**
 * Invariant: `fetch` never resolves with an expired certificate, and `prefetch` never throws (a
 * failed warm-up is the source's to log). CertManager satisfies it as is.
 */
export interface CertSource {
  fetch(identity: string, priority?: CertPriority): Promise<WorkloadCertificate>;
  /** Warm the cache for an identity about to be needed (a local workload arrived). */
  prefetch(identity: string): void;
}
