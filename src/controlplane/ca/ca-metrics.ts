// Prometheus metrics of the CA server: istiod's citadel_server_* counters (same names, so Istio
// dashboards work) plus Ambit's issued/refused-by-reason counters and the signing latency.

import { Counter, Histogram, type Registry } from 'prom-client';
import { REFUSAL_REASONS, type RefusalReason } from './refusal.js';

export class CaMetrics {
  readonly #csr: Counter;
  readonly #success: Counter;
  readonly #authnFailure: Counter;
  readonly #issued: Counter<'impersonated'>;
  readonly #refused: Counter<'reason'>;
  readonly #signing: Histogram;

  constructor(registry: Registry) {
    const registers = [registry];
    this.#csr = new Counter({ name: 'citadel_server_csr_count', help: 'The number of CSRs received by the CA server.', registers });
    this.#success = new Counter({ name: 'citadel_server_success_cert_issuance_count', help: 'The number of certificate issuances that have succeeded.', registers });
    this.#authnFailure = new Counter({ name: 'citadel_server_authentication_failure_count', help: 'The number of authentication failures.', registers });
    this.#issued = new Counter({
      name: 'ambit_ca_certificates_issued_total',
      help: 'Workload certificates issued, by whether a node agent impersonated the workload.',
      labelNames: ['impersonated'] as const,
      registers,
    });
    this.#refused = new Counter({
      name: 'ambit_ca_requests_refused_total',
      help: 'Certificate requests refused, by reason.',
      labelNames: ['reason'] as const,
      registers,
    });
    this.#signing = new Histogram({
      name: 'ambit_ca_signing_duration_seconds',
      help: 'Time to verify a CSR and sign its certificate, seconds (after authentication and authorization).',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers,
    });
    // Every series exists from the start, so a rate() over a refusal reason never starts from absent.
    for (const reason of REFUSAL_REASONS) this.#refused.inc({ reason }, 0);
    for (const impersonated of ['true', 'false']) this.#issued.inc({ impersonated }, 0);
  }

  received(): void {
    this.#csr.inc();
  }

  issued(impersonated: boolean, signingSeconds: number): void {
    this.#success.inc();
    this.#issued.inc({ impersonated: String(impersonated) });
    this.#signing.observe(signingSeconds);
  }

  refused(reason: RefusalReason): void {
    this.#refused.inc({ reason });
    // istiod counts every failure to establish who is calling, impersonation included.
    if (reason === 'unauthenticated' || reason === 'cluster_id' || reason === 'untrusted_impersonation' || reason === 'caller_node_unknown' || reason === 'workload_not_on_node' || reason === 'impersonation_disabled') {
      this.#authnFailure.inc();
    }
  }
}
