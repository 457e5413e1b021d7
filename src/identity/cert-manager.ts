// Workload certificate cache (ztunnel SecretManager): issues on demand with a fresh P-256 key per
// CSR, shares in-flight requests, rotates at half-life and retries failures with backoff.

import type { Logger } from '../common/log.js';
import { MeshError, meshErrorOf } from '../common/errors.js';
import type { CaClient } from './ca-client.js';
import { IssueQueue, type CertPriority } from './issue-queue.js';
import { backoffDelayMs, refreshAtMs } from './refresh-policy.js';
import { dumpPemBundle, workloadCertificateFromChain, type CertDump, type WorkloadCertificate } from './workload-certificate.js';
import { createCsr, generateKeyPair, privateKeyToPem } from './x509.js';

/** ztunnel's limit on concurrent CSRs. */
export const MAX_CONCURRENT_CSRS = 8;
/**
 * Earliest rotation after an issuance (ms): a CA that answers with a certificate already past its
 * half-life (lifetime capped by an expiring CA) must not turn rotation into a CSR loop.
 */
const MIN_REFRESH_DELAY_MS = 1_000;
/** setTimeout's ceiling (ms); longer waits are re-armed when they fire. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface CertManagerInputs {
  readonly ca: CaClient;
  /** Requested certificate lifetime (SECRET_TTL), seconds. */
  readonly ttlSeconds: number;
  readonly logger: Logger;
  /** Clock, ms since the epoch (tests inject one); default Date.now. */
  readonly now?: () => number;
  /** Jitter source in [0, 1) for retry backoff; default Math.random. */
  readonly random?: () => number;
  /** Default MAX_CONCURRENT_CSRS. */
  readonly maxConcurrentCsrs?: number;
}

export type CertState = 'Initializing' | 'Available' | `Unavailable: ${string}`;

/** One `/config_dump` `certificates[]` entry. */
export interface CertificateDump {
  readonly identity: string;
  readonly state: CertState;
  readonly certChain: CertDump[];
  readonly rootCerts: CertDump[];
}

/** Called with every certificate installed for an identity (first issuance and each rotation). */
export type RotateListener = (identity: string, cert: WorkloadCertificate, previous: WorkloadCertificate | undefined) => void;

interface Entry {
  readonly identity: string;
  cert: WorkloadCertificate | undefined;
  /** Last failure; cleared by a success. */
  error: MeshError | undefined;
  inflight: Promise<WorkloadCertificate> | undefined;
  raise: ((p: CertPriority) => void) | undefined;
  /** Rotation or retry timer. */
  timer: NodeJS.Timeout | undefined;
  /** Consecutive failures. */
  failures: number;
}

type Lifecycle = 'new' | 'running' | 'closed' | 'destroyed';

export class CertManager {
  readonly #ca: CaClient;
  readonly #ttlSeconds: number;
  readonly #logger: Logger;
  readonly #now: () => number;
  readonly #random: () => number;
  readonly #queue: IssueQueue;
  readonly #entries = new Map<string, Entry>();
  readonly #listeners = new Set<RotateListener>();
  #lifecycle: Lifecycle = 'new';

  constructor(inputs: CertManagerInputs) {
    if (!(inputs.ttlSeconds > 0)) throw new MeshError('CA_CONFIG', `certificate TTL must be > 0 seconds, got ${inputs.ttlSeconds}`);
    this.#ca = inputs.ca;
    this.#ttlSeconds = inputs.ttlSeconds;
    this.#logger = inputs.logger;
    this.#now = inputs.now ?? Date.now;
    this.#random = inputs.random ?? Math.random;
    this.#queue = new IssueQueue(inputs.maxConcurrentCsrs ?? MAX_CONCURRENT_CSRS);
  }

  start(): void {
    if (this.#lifecycle === 'new') this.#lifecycle = 'running';
  }

  /** Stops rotation and refuses new fetches; resolves once in-flight issuances have settled. */
  async close(): Promise<void> {
    if (this.#lifecycle === 'closed' || this.#lifecycle === 'destroyed') return;
    this.#lifecycle = 'closed';
    const pending: Promise<unknown>[] = [];
    for (const entry of this.#entries.values()) {
      this.#clearTimer(entry);
      if (entry.inflight) pending.push(entry.inflight.catch(() => undefined));
    }
    await Promise.all(pending);
  }

  /** Immediate stop: timers cleared, queued requests failed, cache dropped. */
  destroy(): void {
    if (this.#lifecycle === 'destroyed') return;
    this.#lifecycle = 'destroyed';
    for (const entry of this.#entries.values()) this.#clearTimer(entry);
    this.#entries.clear();
    this.#queue.rejectWaiting(new MeshError('CA_ERROR', 'certificate manager destroyed'));
  }

  /**
   * The certificate for `identity`, issuing it if needed. Never returns an expired certificate.
   * While a retry is backing off and no valid certificate exists, fails at once with the last
   * error (ztunnel: state Unavailable) instead of piling up CSRs.
   */
  fetch(identity: string, priority: CertPriority = 'realtime'): Promise<WorkloadCertificate> {
    if (this.#lifecycle === 'closed' || this.#lifecycle === 'destroyed') {
      return Promise.reject(new MeshError('CA_ERROR', `certificate manager is ${this.#lifecycle}; no certificate for ${identity}`));
    }
    let entry = this.#entries.get(identity);
    if (!entry) {
      entry = { identity, cert: undefined, error: undefined, inflight: undefined, raise: undefined, timer: undefined, failures: 0 };
      this.#entries.set(identity, entry);
    }
    const valid = this.#valid(entry);
    if (valid) return Promise.resolve(valid);
    if (entry.inflight) {
      entry.raise?.(priority);
      return entry.inflight;
    }
    if (entry.error && entry.timer) return Promise.reject(entry.error);
    return this.#issue(entry, priority);
  }

  /** Warm the cache for an identity about to be needed (a local workload arrived). */
  prefetch(identity: string): void {
    this.fetch(identity, 'warmup').catch((err: unknown) => {
      this.#logger.debug({ identity, err }, 'certificate prefetch failed');
    });
  }

  /** Drop an identity (its last local workload left): no more rotations for it. */
  forget(identity: string): void {
    const entry = this.#entries.get(identity);
    if (!entry) return;
    this.#clearTimer(entry);
    this.#entries.delete(identity);
  }

  /** The cached, unexpired certificate, without issuing anything. */
  cached(identity: string): WorkloadCertificate | undefined {
    const entry = this.#entries.get(identity);
    return entry ? this.#valid(entry) : undefined;
  }

  /** Subscribe to newly installed certificates; returns the unsubscribe function. */
  onRotate(listener: RotateListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** /config_dump `certificates`, sorted by identity. */
  list(): CertificateDump[] {
    const out: CertificateDump[] = [];
    for (const entry of [...this.#entries.values()].sort((a, b) => (a.identity < b.identity ? -1 : 1))) {
      const valid = this.#valid(entry);
      let state: CertState;
      if (valid) state = 'Available';
      else if (entry.error) state = `Unavailable: ${entry.error.message}`;
      else if (entry.cert) state = 'Unavailable: certificate expired';
      else state = 'Initializing';
      out.push({
        identity: entry.identity,
        state,
        certChain: entry.cert ? dumpPemBundle(entry.cert.certChainPem) : [],
        rootCerts: entry.cert ? dumpPemBundle(entry.cert.rootsPem) : [],
      });
    }
    return out;
  }

  #valid(entry: Entry): WorkloadCertificate | undefined {
    const cert = entry.cert;
    return cert && cert.notAfter.getTime() > this.#now() ? cert : undefined;
  }

  #issue(entry: Entry, priority: CertPriority): Promise<WorkloadCertificate> {
    this.#clearTimer(entry);
    const ticket = this.#queue.acquire(priority);
    entry.raise = ticket.raise;
    const attempt = (async (): Promise<WorkloadCertificate> => {
      const release = await ticket.granted;
      entry.raise = undefined;
      try {
        const keys = await generateKeyPair();
        const csr = await createCsr(entry.identity, keys);
        const chain = await this.#ca.sign(csr, entry.identity, this.#ttlSeconds);
        const cert = workloadCertificateFromChain(entry.identity, chain, privateKeyToPem(keys.privateKey));
        if (cert.notAfter.getTime() <= this.#now()) {
          throw new MeshError('CA_ERROR', `CA issued an already expired certificate for ${entry.identity}`);
        }
        return cert;
      } finally {
        release();
      }
    })();
    // The state update is chained before the promise callers see, so they observe it applied.
    const settled = attempt.then(
      (cert) => this.#installed(entry, cert),
      (err: unknown) => {
        throw this.#failed(entry, err);
      },
    );
    entry.inflight = settled;
    return settled;
  }

  #installed(entry: Entry, cert: WorkloadCertificate): WorkloadCertificate {
    entry.inflight = undefined;
    if (this.#entries.get(entry.identity) !== entry || this.#lifecycle === 'destroyed') return cert; // forgotten meanwhile
    const previous = entry.cert;
    entry.cert = cert;
    entry.error = undefined;
    entry.failures = 0;
    this.#logger.info(
      { identity: entry.identity, serial: cert.serialNumber, expires: cert.notAfter.toISOString(), rotated: previous !== undefined },
      'workload certificate issued',
    );
    if (this.#lifecycle !== 'closed') this.#arm(entry, Math.max(refreshAtMs(cert), this.#now() + MIN_REFRESH_DELAY_MS));
    for (const listener of this.#listeners) {
      try {
        listener(entry.identity, cert, previous);
      } catch (err) {
        this.#logger.error({ identity: entry.identity, err }, 'certificate rotation listener threw');
      }
    }
    return cert;
  }

  #failed(entry: Entry, err: unknown): MeshError {
    entry.inflight = undefined;
    entry.raise = undefined;
    const error =
      meshErrorOf(err) ?? new MeshError('CA_ERROR', `certificate request for ${entry.identity} failed: ${(err as Error)?.message ?? String(err)}`, { cause: err });
    if (this.#entries.get(entry.identity) !== entry || (this.#lifecycle !== 'running' && this.#lifecycle !== 'new')) return error;
    entry.error = error;
    entry.failures++;
    const delay = backoffDelayMs(entry.failures, this.#random);
    this.#logger.warn(
      { identity: entry.identity, err: error.message, retryInMs: delay, keepingValidCert: this.#valid(entry) !== undefined },
      'workload certificate request failed',
    );
    this.#arm(entry, this.#now() + delay);
    return error;
  }

  /** One timer per identity; it renews (or retries) at `atMs` with Background priority. */
  #arm(entry: Entry, atMs: number): void {
    this.#clearTimer(entry);
    const delay = Math.min(MAX_TIMER_MS, Math.max(0, Math.ceil(atMs - this.#now())));
    entry.timer = setTimeout(() => {
      entry.timer = undefined;
      if (this.#entries.get(entry.identity) !== entry || this.#lifecycle === 'closed' || this.#lifecycle === 'destroyed') return;
      if (this.#now() < atMs) return this.#arm(entry, atMs); // a clamped long wait
      if (entry.inflight) return;
      this.#issue(entry, 'background').catch(() => undefined); // #failed already logged and re-armed
    }, delay);
    entry.timer.unref();
  }

  #clearTimer(entry: Entry): void {
    if (entry.timer) clearTimeout(entry.timer);
    entry.timer = undefined;
  }
}
