// The one error type of Ambit: every failure carries a stable `code` from the table below, and
// where it applies the Istio response flag and the HTTP status an HBONE peer should see.

/** Istio response flags (ztunnel `ResponseFlags`): closed set, fixed label strings. */
export type ResponseFlag =
  | '-'
  | 'DENY'
  | 'CONNECT'
  | 'TLS_FAILURE'
  | 'H2_HANDSHAKE_FAILURE'
  | 'NETWORK_POLICY'
  | 'IDENTITY_ERROR'
  | 'CERT_REVOKED'
  // Ambit addition (ztunnel has no outbound registry check): Envoy's "no route" flag, for a
  // connection refused under outboundTrafficPolicy REGISTRY_ONLY.
  | 'NR';

interface CodeInfo {
  readonly flag: ResponseFlag;
  /** HTTP status for an HBONE CONNECT that fails with this code (0 = not an HBONE answer). */
  readonly status: number;
  readonly summary: string;
}

/** The error catalogue. Callers, tests, metrics and logs match on these codes, never on text. */
export const ERROR_CODES = {
  CONFIG_INVALID: { flag: '-', status: 0, summary: 'a setting or config file is invalid' },
  CONFIG_IO: { flag: '-', status: 0, summary: 'a config file could not be read' },
  CA_ERROR: { flag: 'IDENTITY_ERROR', status: 503, summary: 'the CA could not issue a certificate' },
  CA_CONFIG: { flag: '-', status: 0, summary: 'the CA provider is misconfigured' },
  CERT_INVALID: { flag: 'TLS_FAILURE', status: 0, summary: 'a certificate failed verification' },
  TLS_HANDSHAKE: { flag: 'TLS_FAILURE', status: 0, summary: 'the TLS handshake failed' },
  IDENTITY_MISMATCH: { flag: 'TLS_FAILURE', status: 0, summary: 'the peer identity is not one expected' },
  H2_ERROR: { flag: 'H2_HANDSHAKE_FAILURE', status: 0, summary: 'the HTTP/2 session could not be set up or failed as a whole' },
  H2_STREAM: { flag: 'CONNECT', status: 0, summary: 'an HBONE stream was reset or refused by the peer' },
  STREAM_TRUNCATED: {
    flag: 'CONNECT',
    status: 0,
    summary: 'an HBONE stream ended without END_STREAM from the peer (session lost mid-stream)',
  },
  BAD_HEADER: { flag: 'CONNECT', status: 400, summary: 'a CONNECT request header is malformed (RFC 9113 §8.2.1)' },
  CONNECT_TIMEOUT: { flag: 'NETWORK_POLICY', status: 503, summary: 'TCP connect timed out' },
  UPSTREAM_CONNECT: { flag: 'CONNECT', status: 503, summary: 'connecting to the upstream failed' },
  HBONE_STATUS: { flag: 'CONNECT', status: 0, summary: 'the HBONE peer answered CONNECT with a non-200 status' },
  BAD_METHOD: { flag: 'CONNECT', status: 400, summary: 'the HBONE request method is not CONNECT' },
  BAD_AUTHORITY: { flag: 'CONNECT', status: 400, summary: 'the CONNECT :authority is not ip:port or host:port' },
  IP_MISMATCH: { flag: 'CONNECT', status: 400, summary: 'the CONNECT authority IP is not the local workload' },
  UNKNOWN_WORKLOAD: { flag: 'CONNECT', status: 503, summary: 'the destination is not a workload of this node' },
  UNKNOWN_SOURCE: { flag: 'CONNECT', status: 0, summary: 'the source workload of a connection is unknown' },
  SELF_CALL: { flag: 'CONNECT', status: 503, summary: 'the destination is one of the agent’s own listeners (proxy ports, admin, stats, readiness)' },
  NO_HEALTHY_UPSTREAM: { flag: 'CONNECT', status: 503, summary: 'the service has no healthy endpoint' },
  UPSTREAM_OVERFLOW: { flag: 'CONNECT', status: 503, summary: 'a cluster circuit breaker is at its limit (Envoy overflow, response flag UO)' },
  NOT_REGISTERED: {
    flag: 'NR',
    status: 0,
    summary: 'outboundTrafficPolicy REGISTRY_ONLY: the destination is no workload, service VIP or ServiceEntry host of the mesh',
  },
  DNS_LOOKUP: { flag: 'CONNECT', status: 503, summary: 'a hostname (an endpoint of a DNS ServiceEntry) could not be resolved' },
  POLICY_DENIED: { flag: 'DENY', status: 401, summary: 'authorization policy denied the connection' },
  POLICY_CHANGED: { flag: 'DENY', status: 0, summary: 'connection closed due to policy change' },
  PLAINTEXT_REFUSED: { flag: 'DENY', status: 0, summary: 'plaintext refused under STRICT mTLS' },
  SOCKS_PROTOCOL: { flag: 'CONNECT', status: 0, summary: 'malformed SOCKS5 request' },
  DRAINING: { flag: 'CONNECT', status: 503, summary: 'the proxy is shutting down' },
  CAPTURE_SETUP: {
    flag: '-',
    status: 0,
    summary: 'installing traffic redirection in a pod network namespace failed',
  },
  INTERNAL: { flag: 'CONNECT', status: 503, summary: 'internal error' },
  NATIVE_UNAVAILABLE: { flag: '-', status: 0, summary: 'the native socket addon is not built or cannot be loaded' },
  SOCKET_SETUP: { flag: '-', status: 0, summary: 'a socket could not be created or configured (netns, mark, transparent)' },
  XDS_INVALID: { flag: '-', status: 0, summary: 'a resource from the control plane is invalid (NACKed)' },
  XDS_STREAM: { flag: '-', status: 0, summary: 'the xDS stream to or from the control plane failed' },
  OBJECT_INVALID: { flag: '-', status: 0, summary: 'a Kubernetes object is invalid and was rejected' },
  KUBE_API: { flag: '-', status: 0, summary: 'a request to the Kubernetes API server failed (list, watch or status write)' },
  CA_DENIED: { flag: 'IDENTITY_ERROR', status: 0, summary: 'the CA server refused to sign (caller not authenticated or not allowed)' },
  BENCH_TOOL: { flag: '-', status: 0, summary: 'a benchmark tool failed or its output could not be parsed' },
  ZDS_PROTOCOL: { flag: '-', status: 0, summary: 'istio-cni sent a ZDS message that is malformed or not allowed now (NACKed, connection dropped)' },
  ZDS_CONNECTION: { flag: '-', status: 0, summary: 'the ZDS connection to istio-cni could not be made or was lost' },
  ADMIN_QUERY_INVALID: { flag: '-', status: 400, summary: 'a query to a read-only admin view is invalid (e.g. /debug/explain without from/to)' },
  CTL_USAGE: { flag: '-', status: 0, summary: 'ambit ctl: the command line is invalid' },
  CTL_UNREACHABLE: { flag: '-', status: 0, summary: 'ambit ctl: the admin or monitoring address cannot be reached' },
  CTL_NOT_AMBIT: { flag: '-', status: 0, summary: 'ambit ctl: the address answered, but not with the Ambit API the command reads' },
  CTL_VERSION_SKEW: { flag: '-', status: 0, summary: 'ambit ctl: the Ambit process answering is older than this command needs' },
  CTL_BAD_ANSWER: { flag: '-', status: 0, summary: 'ambit ctl: the answer is an error status or not the JSON expected' },
} as const satisfies Record<string, CodeInfo>;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface MeshErrorOptions {
  cause?: unknown;
  /** Overrides the code's default HTTP status (rarely needed). */
  status?: number;
}

export class MeshError extends Error {
  readonly code: ErrorCode;
  readonly flag: ResponseFlag;
  readonly status: number;

  constructor(code: ErrorCode, message: string, options: MeshErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'MeshError';
    this.code = code;
    this.flag = ERROR_CODES[code].flag;
    this.status = options.status ?? ERROR_CODES[code].status;
  }
}

export function isMeshError(err: unknown, code?: ErrorCode): err is MeshError {
  return err instanceof MeshError && (code === undefined || err.code === code);
}

/**
 * Classifies any error into a response flag by walking the cause chain (linkerd style): the first
 * MeshError found decides; a bare socket error becomes CONNECT.
 */
export function responseFlagOf(err: unknown): ResponseFlag {
  let e: unknown = err;
  for (let depth = 0; e !== undefined && e !== null && depth < 8; depth++) {
    if (e instanceof MeshError) return e.flag;
    e = (e as { cause?: unknown }).cause;
  }
  return err === undefined || err === null ? '-' : 'CONNECT';
}

/** The first MeshError in the cause chain, if any. */
export function meshErrorOf(err: unknown): MeshError | undefined {
  let e: unknown = err;
  for (let depth = 0; e !== undefined && e !== null && depth < 8; depth++) {
    if (e instanceof MeshError) return e;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}
