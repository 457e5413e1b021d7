// The field sets of an Istio AuthorizationPolicy rule's `source` and `operation`
// (security.istio.io/v1 Source, Operation): one shape for the object as read and the waypoint's model.

/**
 * `rules[].from[].source`. String values keep Istio's match forms (`abc` exact, `abc*` prefix,
 * `*abc` suffix, `*` any non-empty value); within a field the values are ORed, a `not*` field
 * matches when none of its values does, the fields set in one source are ANDed.
 */
export interface PolicySourceFields {
  /** Peer identity without `spiffe://`, e.g. `cluster.local/ns/default/sa/sleep`. */
  readonly principals?: readonly string[];
  readonly notPrincipals?: readonly string[];
  /** JWT `<iss>/<sub>` of the request (HTTP only). */
  readonly requestPrincipals?: readonly string[];
  readonly notRequestPrincipals?: readonly string[];
  /** Namespace of the peer identity. */
  readonly namespaces?: readonly string[];
  readonly notNamespaces?: readonly string[];
  /**
   * Service accounts, exact. In the object a bare name means the policy's namespace; the
   * control plane resolves every entry to `namespace/serviceAccount` before a data plane sees it.
   */
  readonly serviceAccounts?: readonly string[];
  readonly notServiceAccounts?: readonly string[];
  /** IP or CIDR of the source address (the client workload). */
  readonly ipBlocks?: readonly string[];
  readonly notIpBlocks?: readonly string[];
  /** IP or CIDR of `remote.ip` (X-Forwarded-For with trusted hops, else the source address; HTTP only). */
  readonly remoteIpBlocks?: readonly string[];
  readonly notRemoteIpBlocks?: readonly string[];
}

/**
 * `rules[].to[].operation`. `Port` is `string` in the object as written (Istio's schema) and
 * `number` once the control plane has parsed it. Hosts, methods and paths are HTTP only.
 */
export interface PolicyOperationFields<Port> {
  /** Host header, case-insensitive (match forms). */
  readonly hosts?: readonly string[];
  readonly notHosts?: readonly string[];
  /** Destination port: the port of the CONNECT authority (the Service port for service traffic). */
  readonly ports?: readonly Port[];
  readonly notPorts?: readonly Port[];
  /** Request method (match forms, case-sensitive). */
  readonly methods?: readonly string[];
  readonly notMethods?: readonly string[];
  /**
   * Normalized path without the query (match forms), or an Envoy URI template holding `{*}` (one
   * path segment) / `{**}` (any rest, must be the last operator).
   */
  readonly paths?: readonly string[];
  readonly notPaths?: readonly string[];
}
