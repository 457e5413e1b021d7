// Public surface of the rbac module: pure L4 authorization (ztunnel src/rbac.rs) and the static
// PeerAuthentication STRICT policy.

export { authorize, policyMatches, stringMatches } from './authorization.js';
export type { RbacConnection, RbacDecision, RbacIdentity } from './authorization.js';
export { strictModePolicy, STRICT_POLICY_NAME } from './strict-mode.js';
export { parseIp, parseCidr, cidrContains } from './ip-cidr.js';
export type { IpBytes, ParsedCidr } from './ip-cidr.js';
