// Metrics of the waypoint's L7 security: authorization denials by policy, JWT failures by reason,
// JWKS fetches by result. Label values come from config (policy keys) or closed sets.

import { Counter, type Registry } from 'prom-client';
import type { JwtFailure } from './jwt-failure.js';

export class SecurityMetrics {
  private readonly denied: Counter<'policy' | 'protocol'>;
  private readonly jwt: Counter<'reason'>;
  private readonly jwks: Counter<'result'>;

  constructor(registry: Registry) {
    this.denied = new Counter({
      name: 'ambit_waypoint_authz_denied_total',
      help: 'Requests (and TCP connections) the waypoint denied by AuthorizationPolicy; policy is namespace/name, "none" when no ALLOW policy matched',
      labelNames: ['policy', 'protocol'] as const,
      registers: [registry],
    });
    this.jwt = new Counter({
      name: 'ambit_waypoint_jwt_failures_total',
      help: 'Requests the waypoint refused because of an invalid JWT (RequestAuthentication), by reason',
      labelNames: ['reason'] as const,
      registers: [registry],
    });
    this.jwks = new Counter({
      name: 'ambit_waypoint_jwks_fetches_total',
      help: 'JWKS (and OpenID discovery) fetches by the waypoint, by result',
      labelNames: ['result'] as const,
      registers: [registry],
    });
  }

  deniedBy(policy: string, protocol: 'http' | 'tcp'): void {
    this.denied.inc({ policy, protocol });
  }

  jwtFailure(reason: JwtFailure): void {
    this.jwt.inc({ reason });
  }

  jwksFetch(result: 'success' | 'failure'): void {
    this.jwks.inc({ result });
  }
}
