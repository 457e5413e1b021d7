// The destination side of `/debug/explain`: runs src/rbac `authorize` on the policies that apply to
// a workload (exactly what inbound.ts / inbound-passthrough.ts run) and says what decided the verdict.

import { authorize, STRICT_POLICY_NAME, type RbacConnection } from '../rbac/index.js';
import type { ProxyState, Workload } from '../state/index.js';
import { formatSpiffeId, identityFromWorkload, parseSpiffeId } from '../tls/index.js';
import type { AuthorizationCheck, ExplainedDecision, ExplainedWorkload } from './explain-types.js';

/** A workload in explain's terms; `ip` is the address this connection uses, else its first. */
export function explainedWorkload(w: Workload, ip?: string): ExplainedWorkload {
  return {
    uid: w.uid,
    namespace: w.namespace,
    name: w.name,
    node: w.node,
    ip: ip ?? w.workloadIps[0],
    identity: formatSpiffeId(identityFromWorkload(w)),
    protocol: w.protocol,
  };
}

export interface CheckInput {
  readonly state: ProxyState;
  readonly workload: Workload;
  readonly srcIp: string;
  /** SPIFFE URI of the peer (HBONE), undefined for plaintext (15006). */
  readonly srcIdentity: string | undefined;
  readonly dstIp: string;
  /** The resolved target port on the workload. */
  readonly dstPort: number;
  readonly enforcedBy: string;
  readonly chosen: boolean;
}

/** One destination check, decided by the data path's own evaluator on the agent's current state. */
export function checkAuthorization(input: CheckInput): AuthorizationCheck {
  const { state, workload } = input;
  const policies = state.policiesFor(workload);
  const conn: RbacConnection = {
    srcIp: input.srcIp,
    // Not known ahead of the connection; L4 policy has no source-port field.
    srcPort: 0,
    dstIp: input.dstIp,
    dstPort: input.dstPort,
    srcIdentity: input.srcIdentity === undefined ? undefined : parseSpiffeId(input.srcIdentity),
  };
  const d = authorize(policies, conn);
  const policy = d.decidedBy === undefined ? undefined : `${d.decidedBy.namespace}/${d.decidedBy.name}`;
  const keys = policies.map((p) => `${p.namespace}/${p.name}`);
  let decision: ExplainedDecision;
  let reason: string;
  if (d.allowed) {
    decision = policy === undefined ? 'allow-no-policies' : 'allow-policy';
    reason = policy === undefined ? 'allowed: no ALLOW policy applies to this workload' : `allowed by ALLOW policy ${policy} rule ${d.rule}`;
  } else if (d.decidedBy?.name === STRICT_POLICY_NAME) {
    decision = 'deny-strict';
    reason = `denied: PeerAuthentication STRICT refuses plaintext (${policy})`;
  } else if (policy !== undefined) {
    decision = 'deny-policy';
    reason = `denied by DENY policy ${policy} rule ${d.rule}`;
  } else {
    decision = 'deny-no-allow-match';
    const allow = policies.filter((p) => p.action === 'Allow' && !p.dryRun).map((p) => `${p.namespace}/${p.name}`);
    reason = `denied: no ALLOW policy matched (ALLOW policies: ${allow.join(', ')})`;
  }
  return {
    workload: explainedWorkload(workload, input.dstIp),
    enforcedBy: input.enforcedBy,
    connection: { srcIp: conn.srcIp, dstIp: conn.dstIp, dstPort: conn.dstPort, srcIdentity: input.srcIdentity },
    allowed: d.allowed,
    decision,
    policy,
    action: d.decidedBy?.action,
    rule: d.rule,
    reason,
    policies: keys,
    dryRunNotes: d.dryRunNotes,
    chosen: input.chosen,
  };
}
