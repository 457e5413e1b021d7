// Public surface of the waypoint's L7 security: WaypointSecurity (what the data path calls), and
// the pure pieces tests and tools use: authorization evaluation, path normalization, JWT checks.

export { WaypointSecurity, RBAC_DENIED_BODY, prepareSecurity } from './waypoint-security.js';
export type { WaypointSecurityOptions, SecurityTunnel, SecurityRequest, SecurityVerdict } from './waypoint-security.js';
export { AuthzTable, evaluateAuthz, ruleMatches } from './authz-evaluate.js';
export type { AuthzDecision, ServicePolicies } from './authz-evaluate.js';
export { compilePolicy, compileRule } from './authz-compile.js';
export type { AuthzRequest, RequestAuth, PeerIdentity } from './authz-request.js';
export { peerIdentity } from './authz-request.js';
export { ipBytes } from './authz-checks.js';
export { matchForm } from './match-forms.js';
export { isPathTemplate, pathTemplateProblem, compilePathTemplate } from './path-template.js';
export { normalizePath, removeDotSegments, methodProblem } from './path-normalize.js';
export { JwtAuthenticator, requestAuth, jwksSourceOf } from './jwt-authenticator.js';
export type { JwtOutcome, ServiceJwt } from './jwt-authenticator.js';
export { JwksCache, DEFAULT_JWKS_REFRESH_MS } from './jwks-cache.js';
export type { JwksSource, JwksCacheOptions } from './jwks-cache.js';
export { loadJose } from './jose-loader.js';
export { verifyJwt, peek, normalizeAudience, JWT_ALGORITHMS, JWT_CLOCK_SKEW_S } from './jwt-verify.js';
export { JWT_FAILURES, JWT_FAILURE_REPLY, jwtDetails, type JwtFailure } from './jwt-failure.js';
export { extractTokens, locationsOf, type TokenLocation } from './jwt-locations.js';
export { parseForwardedFor, sourceIpOf, remoteIpOf } from './source-address.js';
