// The TLS channel to istiod shared by the CA client (CA_ROOT_CA) and the xDS client (XDS_ROOT_CA):
// trust roots from a file | SYSTEM | inline PEM, the bearer token from AUTH_TOKEN, the server-name rule.

import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import * as tls from 'node:tls';
import { X509Certificate } from 'node:crypto';
import type * as grpc from '@grpc/grpc-js';
import { grpcJs } from '../common/lazy-packages.js';
import type { AuthTokenSource } from '../config/types.js';
import { MeshError, type ErrorCode } from '../common/errors.js';
import { splitPemBundle } from './x509.js';

/** Channel settings of ztunnel's control-plane channel (upstream: ztunnel src/tls/control.rs); the CA and xDS share them. */
export const ISTIOD_CHANNEL_OPTIONS: grpc.ChannelOptions = {
  'grpc.keepalive_time_ms': 30_000,
  'grpc.keepalive_timeout_ms': 10_000,
  'grpc.max_receive_message_length': 200 * 1024 * 1024,
};

/** Where the trust anchors for the istiod server certificate come from. */
export type TrustRootSource = { readonly kind: 'file'; readonly path: string } | { readonly kind: 'system' } | { readonly kind: 'inline' };

export interface TrustRoots {
  readonly source: TrustRootSource;
  /** PEM roots; undefined = Node's default store (SYSTEM on Node < 22.15). */
  readonly pem: string | undefined;
}

/** How errors name the setting and which code they carry (CA: CA_ROOT_CA / CA_CONFIG). */
export interface RootsNaming {
  readonly setting: string;
  readonly code: ErrorCode;
}

/** `path`, `system` or `inline`, for logs and config dumps. */
export function describeRoots(source: TrustRootSource): string {
  return source.kind === 'file' ? source.path : source.kind;
}

/** Checks a PEM bundle holds at least one parsable certificate; returns the certificates joined. */
export function parseTrustRoots(pem: string, where: string, naming: RootsNaming): string {
  const certs = splitPemBundle(pem);
  if (certs.length === 0) throw new MeshError(naming.code, `${naming.setting} ${where} holds no PEM certificate`);
  for (const c of certs) {
    try {
      new X509Certificate(c);
    } catch (err) {
      throw new MeshError(naming.code, `${naming.setting} ${where} holds an invalid certificate`, { cause: err });
    }
  }
  return certs.join('');
}

/** The value is a file if such a file exists, `SYSTEM`, or else inline PEM (ztunnel's rule). */
export function loadTrustRoots(value: string, naming: RootsNaming): TrustRoots {
  if (existsSync(value)) {
    let text: string;
    try {
      text = readFileSync(value, 'utf8');
    } catch (err) {
      throw new MeshError(naming.code, `${naming.setting}: cannot read ${value}: ${(err as Error).message}`, { cause: err });
    }
    parseTrustRoots(text, value, naming);
    return { source: { kind: 'file', path: value }, pem: text };
  }
  if (value === 'SYSTEM') return { source: { kind: 'system' }, pem: systemRoots() };
  if (!value.includes('-----BEGIN')) {
    throw new MeshError(naming.code, `${naming.setting} "${value.slice(0, 200)}" is not an existing file, SYSTEM, or inline PEM`);
  }
  return { source: { kind: 'inline' }, pem: parseTrustRoots(value, '(inline PEM)', naming) };
}

/**
 * The OS trust store where Node can read it (tls.getCACertificates('system'), Node >= 22.15);
 * on older Node, undefined = Node's default store (bundled Mozilla roots + NODE_EXTRA_CA_CERTS).
 */
export function systemRoots(): string | undefined {
  const get = (tls as unknown as { getCACertificates?: (type: string) => string[] }).getCACertificates;
  if (typeof get !== 'function') return undefined;
  const certs = get('system');
  return certs.length > 0 ? certs.map((c) => (c.endsWith('\n') ? c : `${c}\n`)).join('') : undefined;
}

/**
 * Server-authenticated TLS 1.3 to istiod, no client certificate. The URL host is always checked by
 * Node's default rules; `altHostname` is a second chance with the same rules, never a bypass.
 * Chain validation happens before and regardless (grpc-js refuses an unauthorized socket).
 */
export function istiodChannelCredentials(rootsPem: string | undefined, altHostname: string | undefined): grpc.ChannelCredentials {
  const context = tls.createSecureContext({ ...(rootsPem !== undefined ? { ca: rootsPem } : {}), minVersion: 'TLSv1.3' });
  return grpcJs().credentials.createFromSecureContext(context, {
    checkServerIdentity: (host, cert) => {
      const primary = tls.checkServerIdentity(host, cert);
      if (primary === undefined || altHostname === undefined) return primary;
      return tls.checkServerIdentity(altHostname, cert) === undefined ? undefined : primary;
    },
  });
}

/** How token errors name the caller (`istiod CA`, `xDS`) and which code they carry. */
export interface TokenNaming {
  readonly component: string;
  readonly code: ErrorCode;
}

/**
 * The bearer token for one call or stream; a file is re-read every time because projected tokens
 * rotate. undefined = no token configured (no `authorization` header at all).
 */
export async function readBearerToken(source: AuthTokenSource | undefined, naming: TokenNaming): Promise<string | undefined> {
  if (source === undefined || source.kind === 'none') return undefined;
  if (source.kind === 'literal') return source.token;
  let text: string;
  try {
    text = await readFile(source.path, 'utf8');
  } catch (err) {
    throw new MeshError(naming.code, `${naming.component}: cannot read the AUTH_TOKEN file ${source.path}: ${(err as Error).message}`, { cause: err });
  }
  const token = text.trim();
  if (token === '') throw new MeshError(naming.code, `${naming.component}: the AUTH_TOKEN file ${source.path} is empty`);
  return token;
}
