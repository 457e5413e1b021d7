// A small Kubernetes API server for tests, over HTTPS with a bearer token, following the API
// concepts doc (kubernetes.io/docs/reference/using-api/api-concepts): list (paged, with a
// resourceVersion), watch (chunked newline-delimited JSON, ADDED/MODIFIED/DELETED/BOOKMARK, from a
// resourceVersion), 410 Gone/Expired past the retained history, 404 for resources not served,
// and JSON merge patch of the status subresource (409 when its metadata.resourceVersion is stale).
// Test controls change objects and break things.

import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { KIND_INFO, KINDS } from '../../src/k8s/index.js';
import { serverCertificate } from './fake-kube-tls.js';
import { FakeKubeState, resourceId, type FakeResource, type Obj, type StoredEvent } from './fake-kube-state.js';

export type { FakeResource, Obj } from './fake-kube-state.js';

export interface FakeKubeApiServerOptions {
  readonly resources: readonly FakeResource[];
  /** How a watch from a compacted resourceVersion is refused: as the API server does, HTTP 200 then
   *  one ERROR event carrying a 410 Status (`event`, default), or an HTTP 410 answer (`status`). */
  readonly watchExpiredAs?: 'event' | 'status';
}

export interface RequestRecord {
  readonly method: string;
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  readonly status: number;
}

interface ActiveWatch {
  readonly resource: FakeResource;
  readonly version: string;
  readonly namespace: string | undefined;
  readonly bookmarks: boolean;
  readonly res: ServerResponse;
  readonly socket: Socket;
  readonly stop: () => void;
}

/** The resources Ambit reads, every version served, every CRD installed. */
export function ambitResources(): FakeResource[] {
  return KINDS.map((kind) => ({ ...KIND_INFO[kind], kind, builtin: KIND_INFO[kind].group === '' || KIND_INFO[kind].group === 'discovery.k8s.io' }));
}

export class FakeKubeApiServer {
  readonly state = new FakeKubeState();
  readonly token = randomBytes(16).toString('hex');
  readonly requests: RequestRecord[] = [];
  caPem = '';
  private server: Server | undefined;
  private readonly resources: FakeResource[];
  private readonly absent = new Set<string>();
  private readonly watches = new Set<ActiveWatch>();
  private readonly sockets = new Set<Socket>();
  private closing = false;

  constructor(private readonly options: FakeKubeApiServerOptions) {
    this.resources = [...options.resources];
  }

  async start(): Promise<void> {
    const { certPem, keyPem, caPem } = await serverCertificate();
    this.caPem = caPem;
    this.server = createServer({ cert: certPem, key: keyPem }, (req, res) => this.handle(req, res));
    // Raw TCP sockets, tracked from accept: the HTTP layer only knows a socket once its TLS
    // handshake is done, so a client reconnecting at close time would escape closeAllConnections.
    this.server.on('connection', (socket: Socket) => {
      if (this.closing) {
        socket.destroy();
        return;
      }
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
  }

  /** Ends everything now: watches, keep-alive connections, handshakes in progress. */
  async close(): Promise<void> {
    this.closing = true;
    this.dropWatches();
    const closed = new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    for (const s of this.sockets) s.destroy();
    await closed;
  }

  get url(): string {
    return `https://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  /** A kubeconfig for this server (CA pinned, bearer token), as `kubectl config view --raw` prints. */
  kubeconfigYaml(): string {
    const ca = Buffer.from(this.caPem).toString('base64');
    return [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      `- name: fake\n  cluster:\n    server: ${this.url}\n    certificate-authority-data: ${ca}`,
      'users:',
      `- name: tester\n  user:\n    token: ${this.token}`,
      'contexts:',
      '- name: fake\n  context:\n    cluster: fake\n    user: tester',
      'current-context: fake',
      '',
    ].join('\n');
  }

  // ---- test controls -------------------------------------------------------------------------

  /** Creates or replaces an object (by its kind); returns it as stored. */
  apply(object: Record<string, unknown>): Obj {
    return this.state.upsert(resourceId(this.byKind(String(object['kind']))), object as Obj);
  }

  delete(kind: string, namespace: string | undefined, name: string): void {
    this.state.remove(resourceId(this.byKind(kind)), namespace, name);
  }

  /** Forgets watch history up to `upTo` (default all): older resourceVersions are now 410 Gone. */
  compact(upTo?: number): void {
    this.state.compact(upTo);
  }

  /** Sends a BOOKMARK at the current resourceVersion to every watch that allowed bookmarks. */
  bookmark(): void {
    for (const w of this.watches) {
      if (!w.bookmarks) continue;
      this.send(w, { type: 'BOOKMARK', object: { kind: w.resource.kind, apiVersion: gv(w.resource, w.version), metadata: { resourceVersion: String(this.state.rv) } } });
    }
  }

  /** Cuts every watch connection abruptly (TCP reset), as a crashing server or a lost network would. */
  dropWatches(): void {
    for (const w of [...this.watches]) {
      w.stop();
      w.socket.destroy();
    }
  }

  /** Ends every watch cleanly (the end of the chunked body), as the server does at `timeoutSeconds`. */
  endWatches(): void {
    for (const w of [...this.watches]) {
      w.stop();
      w.res.end();
    }
  }

  /** Installs or uninstalls a CRD: uninstalling deletes its objects (DELETED events) and ends its watches. */
  setServed(kind: string, served: boolean): void {
    const r = this.byKind(kind);
    if (served) {
      this.absent.delete(resourceId(r));
      return;
    }
    for (const o of this.state.list(resourceId(r))) this.state.remove(resourceId(r), o.metadata.namespace, o.metadata.name);
    this.absent.add(resourceId(r));
    for (const w of [...this.watches]) {
      if (w.resource !== r) continue;
      w.stop();
      w.res.end();
    }
  }

  /** Open watch connections, optionally of one kind. */
  watchCount(kind?: string): number {
    return [...this.watches].filter((w) => kind === undefined || w.resource.kind === kind).length;
  }

  /** Requests recorded so far for `kind`'s collection: lists (`watch` unset) or watches. */
  requestsFor(kind: string, type: 'list' | 'watch'): RequestRecord[] {
    const r = this.byKind(kind);
    return this.requests.filter((q) => q.method === 'GET' && q.path.endsWith(`/${r.plural}`) && (q.query['watch'] === 'true') === (type === 'watch'));
  }

  private byKind(kind: string): FakeResource {
    const r = this.resources.find((x) => x.kind === kind);
    if (r === undefined) throw new Error(`fake API server: no resource for kind ${kind}`);
    return r;
  }

  // ---- HTTP ----------------------------------------------------------------------------------

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'https://x');
    const query = Object.fromEntries(url.searchParams);
    const record = (status: number): void => {
      this.requests.push({ method: req.method ?? '', path: url.pathname, query, status });
    };
    if (req.headers.authorization !== `Bearer ${this.token}`) {
      record(401);
      return status(res, 401, 'Unauthorized', 'Unauthorized');
    }
    const route = this.route(url.pathname);
    if (route === undefined) {
      record(404);
      return status(res, 404, 'NotFound', 'the server could not find the requested resource');
    }
    const { resource, version, namespace, name, sub } = route;
    const id = resourceId(resource);
    if (req.method === 'GET' && name === undefined && query['watch'] === 'true') {
      return this.watch(res, resource, version, namespace, query, record);
    }
    if (req.method === 'GET' && name === undefined) return this.list(res, resource, version, namespace, query, record);
    if (req.method === 'GET' && sub === undefined) {
      const o = this.state.get(id, namespace, name!);
      record(o ? 200 : 404);
      return o ? json(res, 200, this.view(o, resource, version)) : status(res, 404, 'NotFound', `${resource.plural} "${name}" not found`);
    }
    if (req.method === 'PATCH' && sub === 'status') {
      const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim();
      if (type !== 'application/merge-patch+json') {
        record(415);
        return status(res, 415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/merge-patch+json`);
      }
      readBody(req).then((body) => {
        let patch: { status?: unknown; metadata?: { resourceVersion?: string } };
        try {
          patch = JSON.parse(body) as typeof patch;
        } catch {
          record(400);
          return status(res, 400, 'BadRequest', 'invalid JSON');
        }
        // metadata.resourceVersion in a patch is a precondition (optimistic concurrency).
        const want = patch.metadata?.resourceVersion;
        const current = this.state.get(id, namespace, name!);
        if (want !== undefined && current !== undefined && current.metadata.resourceVersion !== want) {
          record(409);
          const what = `${resource.plural}.${resource.group || 'core'} "${name}"`;
          return status(res, 409, 'Conflict', `Operation cannot be fulfilled on ${what}: the object has been modified; please apply your changes to the latest version and try again`);
        }
        const o = this.state.patchStatus(id, namespace, name!, 'status' in patch ? patch.status : {});
        record(o ? 200 : 404);
        return o ? json(res, 200, this.view(o, resource, version)) : status(res, 404, 'NotFound', `${resource.plural} "${name}" not found`);
      }, () => res.destroy());
      return;
    }
    record(405);
    return status(res, 405, 'MethodNotAllowed', `${req.method} is not supported here`);
  }

  /** `/api/v1/...` or `/apis/<group>/<version>/...` → the resource, its namespace, name, subresource. */
  private route(path: string): { resource: FakeResource; version: string; namespace?: string; name?: string; sub?: string } | undefined {
    const parts = path.split('/').filter((p) => p !== '').map(decodeURIComponent);
    let group: string;
    let rest: string[];
    if (parts[0] === 'api') [group, rest] = ['', parts.slice(1)];
    else if (parts[0] === 'apis' && parts.length >= 3) [group, rest] = [parts[1]!, parts.slice(2)];
    else return undefined;
    const [version, ...s] = rest;
    if (version === undefined || s.length === 0) return undefined;
    let namespace: string | undefined;
    let plural: string;
    let name: string | undefined;
    let sub: string | undefined;
    if (s[0] === 'namespaces' && s.length >= 3 && s[2] !== 'status') [namespace, plural, name, sub] = [s[1], s[2]!, s[3], s[4]];
    else [plural, name, sub] = [s[0]!, s[1], s[2]];
    const resource = this.resources.find((r) => r.group === group && r.plural === plural);
    if (resource === undefined || !resource.versions.includes(version) || this.absent.has(resourceId(resource))) return undefined;
    if (namespace !== undefined && !resource.namespaced) return undefined;
    if (!resource.namespaced && name === undefined && namespace !== undefined) return undefined;
    return { resource, version, ...(namespace !== undefined ? { namespace } : {}), ...(name !== undefined ? { name } : {}), ...(sub !== undefined ? { sub } : {}) };
  }

  /** Paged list at one resourceVersion; the continue token pins it (410 once compacted away). */
  private list(res: ServerResponse, r: FakeResource, version: string, ns: string | undefined, q: Record<string, string>, record: (s: number) => void): void {
    const id = resourceId(r);
    let rv = this.state.rv;
    let after = '';
    let items: Obj[];
    if (q['continue'] !== undefined && q['continue'] !== '') {
      const token = JSON.parse(Buffer.from(q['continue'], 'base64url').toString()) as { rv: number; after: string };
      const at = this.state.listAt(id, token.rv, ns);
      if (at === undefined) {
        record(410);
        return status(res, 410, 'Expired', 'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results.');
      }
      [rv, after, items] = [token.rv, token.after, at];
    } else {
      items = this.state.list(id, ns);
    }
    const keyOf = (o: Obj): string => `${o.metadata.namespace ?? ''}/${o.metadata.name}`;
    items = items.filter((o) => keyOf(o) > after);
    const limit = Number(q['limit'] ?? '0');
    const page = limit > 0 ? items.slice(0, limit) : items;
    const more = page.length < items.length;
    record(200);
    json(res, 200, {
      kind: `${r.kind}List`,
      apiVersion: gv(r, version),
      metadata: {
        resourceVersion: String(rv),
        ...(more ? { continue: Buffer.from(JSON.stringify({ rv, after: keyOf(page[page.length - 1]!) })).toString('base64url'), remainingItemCount: items.length - page.length } : {}),
      },
      items: page.map((o) => {
        const v = this.view(o, r, version);
        if (!r.builtin) return v;
        const { kind: _k, apiVersion: _a, ...rest } = v;
        return rest;
      }),
    });
  }

  private watch(res: ServerResponse, r: FakeResource, version: string, ns: string | undefined, q: Record<string, string>, record: (s: number) => void): void {
    const id = resourceId(r);
    const from = q['resourceVersion'];
    let replay: Array<{ type: string; object: Obj }>;
    if (from === undefined || from === '' || from === '0') {
      replay = this.state.list(id, ns).map((o) => ({ type: 'ADDED', object: o }));
    } else {
      const events = this.state.eventsAfter(id, Number(from));
      if (events === undefined) {
        const message = `too old resource version: ${from} (${this.state.compactedRv + 1})`;
        if (this.options.watchExpiredAs === 'status') {
          record(410);
          return status(res, 410, 'Expired', message);
        }
        record(200);
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ type: 'ERROR', object: statusObject(410, 'Expired', message) }) + '\n');
        return;
      }
      replay = events.filter((e) => ns === undefined || e.object.metadata.namespace === ns);
    }
    record(200);
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    res.flushHeaders();
    let timeout: NodeJS.Timeout | undefined;
    const unsubscribe = this.state.subscribe((e: StoredEvent) => {
      if (e.resource === id && (ns === undefined || e.object.metadata.namespace === ns)) this.send(w, e);
    });
    const w: ActiveWatch = {
      resource: r,
      version,
      namespace: ns,
      bookmarks: q['allowWatchBookmarks'] === 'true',
      res,
      socket: res.socket as Socket,
      stop: () => {
        unsubscribe();
        if (timeout !== undefined) clearTimeout(timeout);
        this.watches.delete(w);
      },
    };
    this.watches.add(w);
    res.on('close', w.stop);
    for (const e of replay) this.send(w, e);
    const seconds = Number(q['timeoutSeconds'] ?? '0');
    if (seconds > 0) {
      timeout = setTimeout(() => {
        w.stop();
        res.end();
      }, seconds * 1000);
    }
  }

  private send(w: ActiveWatch, e: { type: string; object: Record<string, unknown> }): void {
    const object = e.type === 'BOOKMARK' ? e.object : this.view(e.object as Obj, w.resource, w.version);
    w.res.write(JSON.stringify({ type: e.type, object }) + '\n');
  }

  /** The object as served at `version` (custom resources: same schema, apiVersion rewritten). */
  private view(o: Obj, r: FakeResource, version: string): Obj {
    return { ...o, kind: r.kind, apiVersion: gv(r, version) };
  }
}

function gv(r: FakeResource, version: string): string {
  return r.group === '' ? version : `${r.group}/${version}`;
}

function statusObject(code: number, reason: string, message: string): Record<string, unknown> {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
}

function status(res: ServerResponse, code: number, reason: string, message: string): void {
  json(res, code, statusObject(code, reason, message));
}

function json(res: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
