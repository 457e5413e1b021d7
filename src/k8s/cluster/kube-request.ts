// Plain JSON requests to the API server through @kubernetes/client-node's own request machinery
// (its auth: token files, client certificates, exec plugins; its TLS dispatcher), for the calls
// the typed clients do not fit: lists of any kind as raw JSON, and status merge patches.
//
// Why not the typed clients: they turn objects into class instances (timestamps become Dates,
// unknown fields are dropped), which would no longer validate against the upstream schemas.

import { HttpMethod, IsomorphicFetchHttpLibrary, RequestContext, type KubeConfig } from '@kubernetes/client-node';
import { MeshError } from '../../common/errors.js';
import { KIND_INFO, type Kind } from '../objects.js';

/** A failed API request: the HTTP status and the Status object's reason (`NotFound`, `Expired`...). */
export class KubeApiError extends MeshError {
  constructor(
    readonly statusCode: number,
    readonly reason: string,
    message: string,
    options: { cause?: unknown } = {},
  ) {
    super('KUBE_API', message, options);
  }
}

/** The REST path of a kind's collection, all namespaces when `namespace` is undefined. */
export function collectionPath(kind: Kind, version: string, namespace?: string): string {
  const { group, plural } = KIND_INFO[kind];
  const base = group === '' ? `/api/${version}` : `/apis/${group}/${version}`;
  return namespace === undefined ? `${base}/${plural}` : `${base}/namespaces/${encodeURIComponent(namespace)}/${plural}`;
}

export interface KubeRequestOptions {
  readonly query?: Readonly<Record<string, string | undefined>>;
  /** JSON-encoded as the body. */
  readonly body?: unknown;
  readonly contentType?: string;
  readonly timeoutMs: number;
}

const http = new IsomorphicFetchHttpLibrary();

/** Sends one request and returns the decoded JSON body; non-2xx answers throw KubeApiError. */
export async function kubeRequest(kc: KubeConfig, method: 'GET' | 'PATCH', path: string, options: KubeRequestOptions): Promise<unknown> {
  const cluster = kc.getCurrentCluster();
  if (cluster === null) throw new MeshError('CONFIG_INVALID', 'kubeconfig has no current cluster');
  const url = new URL(cluster.server.replace(/\/+$/, '') + path);
  for (const [k, v] of Object.entries(options.query ?? {})) if (v !== undefined) url.searchParams.set(k, v);
  const ctx = new RequestContext(url.toString(), method === 'GET' ? HttpMethod.GET : HttpMethod.PATCH);
  ctx.setHeaderParam('Accept', 'application/json');
  if (options.body !== undefined) {
    ctx.setHeaderParam('Content-Type', options.contentType ?? 'application/json');
    ctx.setBody(JSON.stringify(options.body));
  }
  ctx.setSignal(AbortSignal.timeout(options.timeoutMs));
  let text: string;
  let status: number;
  try {
    await kc.applySecurityAuthentication(ctx);
    const response = await http.send(ctx).toPromise();
    status = response.httpStatusCode;
    text = await response.body.text();
  } catch (err) {
    throw new KubeApiError(0, 'Unreachable', `${method} ${url.pathname}: ${(err as Error).message}`, { cause: err });
  }
  let body: unknown;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch (err) {
    throw new KubeApiError(status, 'BadResponse', `${method} ${url.pathname}: answer is not JSON (HTTP ${status})`, { cause: err });
  }
  if (status < 200 || status >= 300) {
    const s = (body ?? {}) as { reason?: unknown; message?: unknown };
    const reason = typeof s.reason === 'string' && s.reason !== '' ? s.reason : `HTTP${status}`;
    const message = typeof s.message === 'string' ? s.message : `HTTP ${status}`;
    throw new KubeApiError(status, reason, `${method} ${url.pathname}: ${status} ${reason}: ${message}`);
  }
  return body;
}

/** The HTTP status of any error the client library or kubeRequest produces (0 if none). */
export function statusCodeOf(err: unknown): number {
  if (err instanceof KubeApiError) return err.statusCode;
  const e = err as { statusCode?: unknown; code?: unknown } | undefined;
  if (typeof e?.statusCode === 'number') return e.statusCode;
  return typeof e?.code === 'number' ? e.code : 0;
}
