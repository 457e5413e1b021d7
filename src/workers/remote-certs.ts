// A worker thread's workload certificates: asked of the main thread's CertManager (one message round
// trip per identity), cached here, and replaced when main pushes a rotation.

import type { Logger } from '../common/log.js';
import type { CertPriority, CertSource, WorkloadCertificate } from '../identity/index.js';

/** The round trip to the main thread (an RpcChannel request in production). */
export type CertRequest = (identity: string, priority: CertPriority) => Promise<WorkloadCertificate>;

/**
 * Invariant: fetch never resolves with an expired certificate: a cached one is used only while
 * valid (main rotates at half-life and pushes the new one, so expiry here means main could not
 * renew). Concurrent fetches of one identity share one round trip.
 */
export class RemoteCerts implements CertSource {
  private readonly cache = new Map<string, WorkloadCertificate>();
  private readonly inflight = new Map<string, Promise<WorkloadCertificate>>();

  constructor(
    private readonly request: CertRequest,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  fetch(identity: string, priority: CertPriority = 'realtime'): Promise<WorkloadCertificate> {
    const cached = this.cache.get(identity);
    if (cached && cached.notAfter.getTime() > this.now()) return Promise.resolve(cached);
    const shared = this.inflight.get(identity);
    if (shared) return shared;
    const p = this.request(identity, priority).then(
      (cert) => {
        this.inflight.delete(identity);
        this.install(cert);
        return cert;
      },
      (err: unknown) => {
        this.inflight.delete(identity);
        throw err;
      },
    );
    this.inflight.set(identity, p);
    return p;
  }

  prefetch(identity: string): void {
    this.fetch(identity, 'warmup').catch((err: unknown) => this.logger.debug({ identity, err }, 'certificate prefetch failed'));
  }

  /** A certificate from main (an answer, or a rotation it pushed); an older one never replaces a newer. */
  install(cert: WorkloadCertificate): void {
    const held = this.cache.get(cert.identity);
    if (held && held.notAfter.getTime() > cert.notAfter.getTime()) return;
    this.cache.set(cert.identity, cert);
  }

  /** Cached certificates (diagnostics, tests). */
  get size(): number {
    return this.cache.size;
  }
}
