// The configuration as /config_dump shows it: every field as loaded, except secrets. CA_HEADER_*
// values and a literal AUTH_TOKEN become "<redacted>"; names and a token's file path stay visible.

import type { AuthTokenSource, Config } from './types.js';

export const REDACTED = '<redacted>';

function tokenView(source: AuthTokenSource | undefined): unknown {
  if (source === undefined) return undefined;
  if (source.kind === 'literal') return { kind: 'literal', token: REDACTED };
  return source.kind === 'file' ? { kind: 'file', path: source.path } : { kind: 'none' };
}

/**
 * A copy of `config` safe to print; `config` itself is not touched (it stays frozen and complete
 * for the CA client). New secret-bearing settings must be added here.
 */
export function redactedConfig(config: Config): Record<string, unknown> {
  const headers = config.ca.headers;
  return {
    ...config,
    ca: {
      ...config.ca,
      authToken: tokenView(config.ca.authToken),
      headers: headers === undefined ? undefined : Object.fromEntries(Object.keys(headers).map((name) => [name, REDACTED])),
    },
  };
}
