// The SOCKS5 reply (RFC 1928 §6) a client gets when its outbound connection fails: refusals by
// this agent's rules are "not allowed", everything else "host unreachable".

import type { MeshError } from '../common/errors.js';
import { SOCKS_REPLY } from './socks5.js';

/**
 * 0x02 "connection not allowed by ruleset" for every decision of ours (a policy DENY or a 401 from
 * the peer, a destination that is one of the agent's own listeners, a client that is no local
 * workload, an unregistered destination under REGISTRY_ONLY); 0x04 for failures on the way (no
 * endpoint, connect errors, peer 503s).
 */
export function socksReplyFor(err: MeshError): number {
  const refused = err.flag === 'DENY' || err.status === 401 || err.code === 'SELF_CALL' || err.code === 'UNKNOWN_SOURCE' || err.code === 'NOT_REGISTERED';
  return refused ? SOCKS_REPLY.notAllowed : SOCKS_REPLY.hostUnreachable;
}
