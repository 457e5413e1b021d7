// Why a JWT was refused: the closed reason set (metric label), and what the client is told — the
// status and body Envoy's jwt_authn filter sends (google/jwt_verify_lib status strings).

export type JwtFailure =
  | 'malformed'
  | 'issuer_not_configured'
  | 'jwks_unavailable'
  | 'no_matching_key'
  | 'alg_not_allowed'
  | 'bad_signature'
  | 'expired'
  | 'not_yet_valid'
  | 'invalid_claims'
  | 'audience_not_allowed';

export const JWT_FAILURES: readonly JwtFailure[] = [
  'malformed', 'issuer_not_configured', 'jwks_unavailable', 'no_matching_key', 'alg_not_allowed',
  'bad_signature', 'expired', 'not_yet_valid', 'invalid_claims', 'audience_not_allowed',
];

/**
 * Envoy answers 401 for every failure but a disallowed audience, which is 403 (jwt_authn
 * filter.cc `onComplete`); the body is the verification status text.
 */
export const JWT_FAILURE_REPLY: Readonly<Record<JwtFailure, { readonly status: 401 | 403; readonly message: string }>> = {
  malformed: { status: 401, message: 'Jwt is not in the form of Header.Payload.Signature with two dots and 3 sections' },
  issuer_not_configured: { status: 401, message: 'Jwt issuer is not configured' },
  jwks_unavailable: { status: 401, message: 'Jwks remote fetch is failed' },
  no_matching_key: { status: 401, message: "Jwks doesn't have key to match kid or alg from Jwt" },
  alg_not_allowed: { status: 401, message: 'Jwt header [alg] is not supported' },
  bad_signature: { status: 401, message: 'Jwt verification fails' },
  expired: { status: 401, message: 'Jwt is expired' },
  not_yet_valid: { status: 401, message: 'Jwt not yet valid' },
  invalid_claims: { status: 401, message: 'Jwt payload is an invalid JSON' },
  audience_not_allowed: { status: 403, message: 'Audiences in Jwt are not allowed' },
};

/** Envoy's response_code_details of a JWT refusal: `jwt_authn_access_denied{<status text with _>}`. */
export function jwtDetails(f: JwtFailure): string {
  return `jwt_authn_access_denied{${JWT_FAILURE_REPLY[f].message.replace(/[\s']/g, '_')}}`;
}
