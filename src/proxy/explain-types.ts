// The answer of the agent's admin `/debug/explain?from=&to=`: the route the outbound path would take
// for one connection and the authorization verdict at its destination, as plain JSON (admin API 1).

/** A workload as explain names it. */
export interface ExplainedWorkload {
  readonly uid: string;
  readonly namespace: string;
  readonly name: string;
  readonly node: string;
  /** The address used for this connection (or the workload's first). */
  readonly ip: string | undefined;
  /** SPIFFE URI of its certificate. */
  readonly identity: string;
  /** What it accepts inbound: HBONE (in the mesh) or TCP (not in the mesh). */
  readonly protocol: 'HBONE' | 'TCP';
}

export interface ExplainedSource {
  /** `--from` as given. */
  readonly input: string;
  readonly ip: string;
  readonly workload: ExplainedWorkload | undefined;
  /**
   * Whether an agent's outbound path takes this connection: the source is a mesh (HBONE) workload.
   * Otherwise the client's packets go out as they are (plaintext) and only the destination side applies.
   */
  readonly captured: boolean;
}

export interface ExplainedDestination {
  /** `--to` as given. */
  readonly input: string;
  /** The address dialled: the IP given, or the VIP of the named service, or the named pod's IP. */
  readonly ip: string;
  readonly port: number;
  /** The service owning `ip` as a VIP (as the source sees it), if any. */
  readonly service: { readonly namespace: string; readonly hostname: string } | undefined;
  /** The workload owning `ip`, if any. */
  readonly workload: ExplainedWorkload | undefined;
}

export interface ExplainedEndpoint {
  readonly workload: ExplainedWorkload;
  /** ip:port dialled on it (target port). */
  readonly address: string;
}

/**
 * The outbound decision (src/proxy/outbound-route.ts `routeOutbound`, run on the agent's state):
 * `hbone` (mTLS HTTP/2 CONNECT to a peer's 15008 or a waypoint), `tcp` (plain TCP to a workload
 * outside the mesh), `passthrough` (not a mesh address: sent as it is), `plaintext` (the source is
 * not in the mesh: no outbound proxy, the packets reach the destination as they are), `error` (the
 * outbound path refuses it: no healthy upstream, self call, ...).
 */
export interface ExplainedRoute {
  readonly kind: 'hbone' | 'tcp' | 'passthrough' | 'plaintext' | 'error';
  /** What leaves the source side: HBONE or TCP; undefined for `error`. */
  readonly protocol: 'HBONE' | 'TCP' | undefined;
  /** ip:port the source side dials. */
  readonly nextHop: string | undefined;
  /** The CONNECT :authority (HBONE). */
  readonly authority: string | undefined;
  /** SPIFFE identities the next hop must present (HBONE). */
  readonly expectedIdentities: readonly string[];
  /** The waypoint the route goes through. */
  readonly waypoint: ExplainedWorkload | undefined;
  /** `namespace/hostname` of the service the destination belongs to. */
  readonly service: string | undefined;
  /** The endpoint picked this time (the choice is weighted-random among `candidates`). */
  readonly endpoint: ExplainedEndpoint | undefined;
  /** Every endpoint the pick chooses among (same filters and locality ranking as the data path). */
  readonly candidates: readonly ExplainedEndpoint[];
  readonly error: { readonly code: string; readonly message: string } | undefined;
}

/**
 * How a check ended (src/rbac authorize): allowed because no ALLOW policy applies; allowed by an
 * ALLOW policy's rule; denied by a DENY policy's rule (the STRICT PeerAuthentication static policy
 * has its own value); denied because ALLOW policies exist and none matched.
 */
export type ExplainedDecision = 'allow-no-policies' | 'allow-policy' | 'deny-policy' | 'deny-strict' | 'deny-no-allow-match';

export interface AuthorizationCheck {
  /** The destination workload whose policies decide. */
  readonly workload: ExplainedWorkload;
  /** Where the check runs, e.g. `node agent of node b, inbound HBONE (15008)`. */
  readonly enforcedBy: string;
  /** The connection as that check sees it (source port is unknown here: 0). */
  readonly connection: { readonly srcIp: string; readonly dstIp: string; readonly dstPort: number; readonly srcIdentity: string | undefined };
  readonly allowed: boolean;
  readonly decision: ExplainedDecision;
  /** `namespace/name` of the deciding policy. */
  readonly policy: string | undefined;
  readonly action: 'Allow' | 'Deny' | undefined;
  /** Index of the deciding rule in the policy's rules. */
  readonly rule: number | undefined;
  /** One line, e.g. `denied by DENY policy default/deny-other rule 0`. */
  readonly reason: string;
  /** Every policy that applies to the workload, `namespace/name`, in evaluation order. */
  readonly policies: readonly string[];
  readonly dryRunNotes: readonly string[];
  /** This is the endpoint the route picked (others are candidates the next connection may get). */
  readonly chosen: boolean;
}

export interface Explanation {
  readonly from: ExplainedSource;
  readonly to: ExplainedDestination;
  readonly route: ExplainedRoute;
  /** One check per destination workload that may receive the connection (the chosen one first). */
  readonly authorization: readonly AuthorizationCheck[];
  /**
   * allow / deny: the verdict for the chosen (or only) destination, or for every candidate alike;
   * mixed: candidates differ (the endpoint picked decides); unenforced: no mesh authorization
   * applies (destination outside the mesh, passthrough); error: the outbound path refuses it.
   */
  readonly verdict: 'allow' | 'deny' | 'mixed' | 'unenforced' | 'error';
  readonly summary: string;
  /** Things to know: the agent answering is not the source's, L7 policy at a waypoint, ... */
  readonly notes: readonly string[];
  /** The node of the agent that answered. */
  readonly evaluatedBy: string;
}
