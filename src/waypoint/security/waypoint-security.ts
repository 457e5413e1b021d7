// WaypointSecurity: RequestAuthentication and AuthorizationPolicy at the waypoint. One per
// WaypointProxy; setConfig compiles a config's security once (prepareSecurity first loads what it
// needs); checkRequest runs per HTTP request (normalize → JWT → authorize), checkConnection per TCP
// tunnel. Owns the JWKS cache's lifecycle.

import { Registry } from 'prom-client';
import type { Logger } from '../../common/log.js';
import type { WaypointSecurityConfig } from '../model/security-model.js';
import type { HeaderMap } from '../routing/index.js';
import type { RequestNotes } from '../telemetry/index.js';
import { ipBytes } from './authz-checks.js';
import { AuthzTable, evaluateAuthz, type AuthzDecision } from './authz-evaluate.js';
import { peerIdentity, type AuthzRequest, type RequestAuth } from './authz-request.js';
import { loadedJose, loadJose } from './jose-loader.js';
import { JwksCache, type JwksCacheOptions } from './jwks-cache.js';
import { JwtAuthenticator } from './jwt-authenticator.js';
import { methodProblem, normalizePath } from './path-normalize.js';
import { SecurityMetrics } from './security-metrics.js';
import { remoteIpOf } from './source-address.js';

/** Envoy's RBAC denial body (rbac filter). */
export const RBAC_DENIED_BODY = 'RBAC: access denied';
/** Envoy's jwt_authn realm holds at most this much of the path (filter.cc kMaxPathLength). */
const REALM_PATH_MAX = 256;

export interface WaypointSecurityOptions {
  readonly logger: Logger;
  /** Where the security metrics go; default a private registry. */
  readonly registry?: Registry;
  readonly jwks?: Omit<JwksCacheOptions, 'logger' | 'onFetch'>;
  /** Clock for token exp/nbf (tests). */
  readonly now?: () => Date;
}

/** The tunnel side of a request: who the client is and what it dialled. */
export interface SecurityTunnel {
  /** `namespace/hostname` of the service. */
  readonly serviceKey: string;
  /** The mTLS peer (`spiffe://...`). */
  readonly peerIdentity: string;
  readonly sourceIp: string;
  readonly destinationIp: string;
  readonly destinationPort: number;
}

export interface SecurityRequest {
  readonly method: string;
  /** As received, without the query. */
  readonly path: string;
  readonly query: string;
  /** Mutated on success: token removal, JWT output headers. */
  readonly headers: HeaderMap;
}

export type SecurityVerdict =
  | { readonly kind: 'allow'; readonly path: string; readonly notes: RequestNotes }
  | {
      readonly kind: 'reject';
      readonly status: number;
      readonly body: string;
      readonly flags: '-' | 'UAEX';
      readonly headers?: Record<string, string>;
      readonly notes: RequestNotes;
    };

/** A quoted-string-safe realm: printable ASCII, `"` and `\` escaped (RFC 9110 §5.6.4). */
function realmOf(headers: HeaderMap, path: string, query: string): string {
  const scheme = headers.get('x-forwarded-proto')?.[0] ?? 'http';
  const host = headers.get('host')?.[0] ?? '';
  const uri = `${scheme}://${host}${`${path}${query === '' ? '' : `?${query}`}`.slice(0, REALM_PATH_MAX)}`;
  return uri.replace(/[^\x20-\x7e]/g, (c) => encodeURIComponent(c)).replace(/["\\]/g, (c) => `\\${c}`);
}

function notesOf(d: AuthzDecision, auth: RequestAuth | undefined): RequestNotes {
  return {
    ...(d.details !== undefined ? { responseCodeDetails: d.details } : {}),
    ...(d.audit !== undefined ? { auditPolicy: d.audit } : {}),
    ...(auth?.principal !== undefined ? { requestPrincipal: auth.principal } : {}),
    ...(d.dryRun !== undefined ? { dryRunResult: d.dryRun.allowed ? 'allowed' : `denied[${d.dryRun.policy ?? 'none'}]` } : {}),
  };
}

/**
 * What a config's security needs loaded before it is swapped in, so that no request waits on an
 * import: jose when it has jwtRules. undefined = nothing to wait for (the config can go in now);
 * else a promise that settles when it is loaded (it rejects if jose cannot be loaded: the config
 * cannot be enforced and must not go in).
 */
export function prepareSecurity(cfg: WaypointSecurityConfig | undefined): Promise<void> | undefined {
  if ((cfg?.jwtRules ?? []).length === 0 || loadedJose() !== undefined) return undefined;
  return loadJose().then(() => undefined);
}

export class WaypointSecurity {
  private readonly jwks: JwksCache;
  private readonly metrics: SecurityMetrics;
  private readonly now: () => Date;
  private readonly logger: Logger;
  private authz = new AuthzTable([]);
  private jwt: JwtAuthenticator;
  private xffHops = 0;
  private source: WaypointSecurityConfig | undefined;

  constructor(options: WaypointSecurityOptions) {
    this.metrics = new SecurityMetrics(options.registry ?? new Registry());
    this.jwks = new JwksCache({ ...options.jwks, logger: options.logger, onFetch: (r) => this.metrics.jwksFetch(r) });
    this.now = options.now ?? (() => new Date());
    this.logger = options.logger;
    this.jwt = new JwtAuthenticator([], this.jwks, this.now);
  }

  start(): void {
    this.jwks.start();
  }

  /** Compiles the config's security and swaps it in one step; JWKS fetches follow the new rules. */
  setConfig(cfg: WaypointSecurityConfig | undefined): void {
    // Unprepared (prepareSecurity not awaited): start loading now; JWT checks wait for it.
    prepareSecurity(cfg)?.catch((err: unknown) => this.logger.error({ err }, 'waypoint: cannot load the JWT library; requests with tokens are refused'));
    const authz = new AuthzTable(cfg?.authorization ?? []);
    const jwt = new JwtAuthenticator(cfg?.jwtRules ?? [], this.jwks, this.now);
    this.jwks.sync(jwt.sources());
    this.authz = authz;
    this.jwt = jwt;
    this.xffHops = cfg?.xffTrustedHops ?? 0;
    this.source = cfg;
  }

  /**
   * Normalizes the path (Istio BASE), validates JWTs, then authorizes. `allow` carries the
   * normalized path the request continues with; `reject` the local reply to send.
   */
  async checkRequest(t: SecurityTunnel, r: SecurityRequest): Promise<SecurityVerdict> {
    const norm = normalizePath(r.path);
    const badMethod = methodProblem(r.method);
    if (!norm.ok || badMethod !== undefined) {
      return { kind: 'reject', status: 400, body: 'Bad Request', flags: '-', notes: { responseCodeDetails: `path_normalization_failed{${(norm.ok ? badMethod : norm.reason)!.replace(/[\s"]/g, '_')}}` } };
    }
    const authz = this.authz;
    const sj = this.jwt.forService(t.serviceKey);
    let auth: RequestAuth | undefined;
    if (sj !== undefined) {
      const realm = realmOf(r.headers, norm.path, r.query);
      const outcome = await this.jwt.authenticate(sj, r.headers, r.query);
      if (outcome.kind === 'fail') {
        this.metrics.jwtFailure(outcome.failure);
        return {
          kind: 'reject', status: outcome.status, body: outcome.body, flags: '-',
          headers: { 'www-authenticate': `Bearer realm="${realm}", error="invalid_token"` },
          notes: { responseCodeDetails: outcome.details },
        };
      }
      auth = outcome.auth;
    }
    const sp = authz.forService(t.serviceKey);
    if (sp.empty) return { kind: 'allow', path: norm.path, notes: auth?.principal !== undefined ? { requestPrincipal: auth.principal } : {} };
    const sourceIp = ipBytes(t.sourceIp);
    const req: AuthzRequest = {
      protocol: 'http',
      peer: peerIdentity(t.peerIdentity),
      sourceIp,
      sourceIpText: t.sourceIp,
      remoteIp: this.xffHops > 0 ? ipBytes(remoteIpOf(r.headers, t.sourceIp, this.xffHops)) : sourceIp,
      destinationIp: ipBytes(t.destinationIp),
      destinationPort: t.destinationPort,
      sni: '',
      host: r.headers.get('host')?.[0],
      method: r.method,
      path: norm.path,
      headers: r.headers,
      auth,
    };
    const d = evaluateAuthz(sp, req);
    const notes = notesOf(d, auth);
    if (d.allowed) return { kind: 'allow', path: norm.path, notes };
    this.metrics.deniedBy(d.policy ?? 'none', 'http');
    return { kind: 'reject', status: 403, body: RBAC_DENIED_BODY, flags: d.flags, notes };
  }

  /** A TCP tunnel (a port of protocol tcp): L4 attributes only; HTTP-only rule parts per Istio's TCP rules. */
  checkConnection(t: SecurityTunnel): AuthzDecision {
    const sp = this.authz.forService(t.serviceKey);
    if (sp.empty) return { allowed: true, flags: '-' };
    const sourceIp = ipBytes(t.sourceIp);
    const d = evaluateAuthz(sp, {
      protocol: 'tcp', peer: peerIdentity(t.peerIdentity), sourceIp, sourceIpText: t.sourceIp, remoteIp: sourceIp,
      destinationIp: ipBytes(t.destinationIp), destinationPort: t.destinationPort, sni: '',
    });
    if (!d.allowed) this.metrics.deniedBy(d.policy ?? 'none', 'tcp');
    return d;
  }

  dump(): unknown {
    return {
      authorization: (this.source?.authorization ?? []).map((p) => ({ policy: `${p.namespace}/${p.name}`, action: p.action, services: p.services ?? 'all', dryRun: p.dryRun ?? false, rules: p.rules.length })),
      jwtRules: (this.source?.jwtRules ?? []).map((r) => ({ source: r.source, issuer: r.issuer, services: r.services ?? 'all', keys: r.jwks !== undefined ? 'inline' : (r.jwksUri ?? 'discovery') })),
      jwks: this.jwks.dump(),
      xffTrustedHops: this.xffHops,
    };
  }

  close(): void {
    this.jwks.close();
  }

  destroy(): void {
    this.jwks.destroy();
  }
}
