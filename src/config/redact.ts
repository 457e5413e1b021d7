// The configuration as /config_dump shows it: every field as loaded, except secrets. CA_HEADER_* and
// XDS_HEADER_* values and a literal AUTH_TOKEN become "<redacted>"; names and a token's file path stay visible.

import type { AuthTokenSource, CaConfig, XdsConfig } from './types.js';

export const REDACTED = '<redacted>';

function tokenView(source: AuthTokenSource | undefined): unknown {
  if (source === undefined) return undefined;
  if (source.kind === 'literal') return { kind: 'literal', token: REDACTED };
  return source.kind === 'file' ? { kind: 'file', path: source.path } : { kind: 'none' };
}

/**
 * A copy of `config` (the node agent's or the waypoint's: both carry `ca` and `xds`) safe to print; `config` itself is not touched (it stays frozen and complete
 * for the CA client). New secret-bearing settings must be added here.
 */
export function redactedConfig(config: { readonly ca: CaConfig; readonly xds: XdsConfig }): Record<string, unknown> {
  return {
    ...config,
    ca: { ...config.ca, authToken: tokenView(config.ca.authToken), headers: headerNames(config.ca.headers) },
    xds: { ...config.xds, authToken: tokenView(config.xds.authToken), headers: headerNames(config.xds.headers) },
  };
}

function headerNames(headers: Readonly<Record<string, string>> | undefined): Record<string, string> | undefined {
  return headers === undefined ? undefined : Object.fromEntries(Object.keys(headers).map((name) => [name, REDACTED]));
}
