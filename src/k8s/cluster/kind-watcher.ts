// One kind's list+watch against the API server, on @kubernetes/client-node's ListWatch informer:
// paged list, watch from the list's resourceVersion with bookmarks, relist on 410 Gone (inside the
// informer), restart with capped exponential backoff after errors, absent CRD = empty + retried.
//
// Versions: the kind's versions are tried in KIND_INFO order; a 404 on one moves to the next (a
// cluster with older CRDs serves only older versions); 404 on all = the CRD is not installed.
// Invariant: after close() no request is in flight and none will start (the informer's own
// reconnect delay and a watch connecting at close are both cut short here).

import { ListWatch, Watch, type KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '../../common/log.js';
import { collectionPath, kubeRequest, statusCodeOf, KubeApiError } from './kube-request.js';
import { KIND_INFO, type Kind } from '../objects.js';

export interface KindWatcherOptions {
  readonly kc: KubeConfig;
  readonly kind: Kind;
  readonly logger: Logger;
  /** List page size (`limit`). */
  readonly pageSize: number;
  readonly backoffInitialMs: number;
  readonly backoffMaxMs: number;
  /** How often a kind whose CRD is absent is listed again, ms. */
  readonly absentRetryMs: number;
  readonly requestTimeoutMs: number;
  /** A complete list (every page, one resourceVersion): the kind's whole state. */
  readonly onList: (items: readonly Record<string, unknown>[], version: string) => void;
  readonly onEvent: (type: 'upsert' | 'delete', object: Record<string, unknown>) => void;
  /** Every version answered 404: the kind is not served by this cluster. */
  readonly onAbsent: () => void;
}

/** A Watch that remembers its open streams so close() can end them, and sees every event. */
class TrackedWatch extends Watch {
  closed = false;
  private readonly open = new Set<AbortController>();

  constructor(
    kc: KubeConfig,
    private readonly onEvent: () => void,
  ) {
    super(kc);
  }

  override async watch(
    path: string,
    query: Record<string, string | number | boolean | undefined>,
    callback: (phase: string, apiObj: unknown, watchObj?: unknown) => void,
    done: (err: unknown) => void,
  ): Promise<AbortController> {
    // Closed: hand back an idle controller and never call done, so the informer stays stopped.
    if (this.closed) return new AbortController();
    let ended = false;
    let controller: AbortController | undefined;
    const wrappedDone = (err: unknown): void => {
      ended = true;
      if (controller !== undefined) this.open.delete(controller);
      done(err);
    };
    const wrapped = (phase: string, obj: unknown, raw?: unknown): void => {
      this.onEvent();
      callback(phase, obj, raw);
    };
    controller = await super.watch(path, { ...query, allowWatchBookmarks: true }, wrapped, wrappedDone);
    if (!ended) this.open.add(controller);
    if (this.closed) controller.abort();
    return controller;
  }

  close(): void {
    this.closed = true;
    for (const c of this.open) c.abort();
    this.open.clear();
  }
}

export class KindWatcher {
  private readonly versions: readonly string[];
  private versionIndex = 0;
  private informer: ListWatch<never> | undefined;
  private watch: TrackedWatch | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly delays = new Set<{ timer: NodeJS.Timeout }>();
  private failures = 0;
  private absent = false;
  private closed = false;

  constructor(private readonly options: KindWatcherOptions) {
    this.versions = KIND_INFO[options.kind].versions;
  }

  /** The version being listed and watched (the preferred one until a 404 moves it on). */
  get version(): string {
    return this.versions[this.versionIndex]!;
  }

  /** The informer's last resourceVersion (from the list, then each event and bookmark). */
  resourceVersion(): string {
    return this.informer?.latestResourceVersion() ?? '';
  }

  start(): void {
    if (this.closed) return;
    this.informer?.stop().catch(() => undefined);
    this.watch?.close();
    const { kc, kind } = this.options;
    const version = this.version;
    const watch = new TrackedWatch(kc, () => {
      this.failures = 0;
    });
    const informer = new ListWatch<never>(collectionPath(kind, version), watch, () => this.list(version), false, undefined, undefined, {
      delayFn: (ms) => this.delay(ms),
    });
    informer.on('add', (o: never) => this.options.onEvent('upsert', withType(o, kind, version)));
    informer.on('update', (o: never) => this.options.onEvent('upsert', withType(o, kind, version)));
    informer.on('delete', (o: never) => this.options.onEvent('delete', withType(o, kind, version)));
    informer.on('error', (err?: unknown) => this.failed(informer, err));
    this.informer = informer;
    this.watch = watch;
    informer.start().catch((err: unknown) => this.failed(informer, err));
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    for (const d of this.delays) clearTimeout(d.timer);
    this.delays.clear();
    this.watch?.close();
    await this.informer?.stop();
  }

  /**
   * The informer's reconnect pause. Cut short at close by never resolving: the informer's
   * continuation (which would open a new watch) then never runs, and nothing keeps the process up.
   */
  private delay(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.closed) return;
      const entry = { timer: setTimeout(() => {
        this.delays.delete(entry);
        resolve();
      }, ms) };
      this.delays.add(entry);
    });
  }

  /** Lists every page at one resourceVersion; a continue token that expired (410) restarts it. */
  private async list(version: string): Promise<{ metadata: { resourceVersion: string }; items: never[] }> {
    const { kc, kind, pageSize, requestTimeoutMs } = this.options;
    const path = collectionPath(kind, version);
    for (let attempt = 0; ; attempt++) {
      const items: Record<string, unknown>[] = [];
      let cont: string | undefined;
      let resourceVersion = '';
      try {
        do {
          const page = (await kubeRequest(kc, 'GET', path, { query: { limit: String(pageSize), continue: cont }, timeoutMs: requestTimeoutMs })) as ListBody;
          for (const item of page.items ?? []) items.push(withType(item, kind, version));
          resourceVersion = page.metadata?.resourceVersion ?? '';
          cont = page.metadata?.continue || undefined;
        } while (cont !== undefined);
      } catch (err) {
        if (statusCodeOf(err) === 410 && cont !== undefined && attempt < 2) continue;
        throw err;
      }
      // Closed while listing: fail so the informer does not go on to open a watch.
      if (this.closed) throw new KubeApiError(0, 'Closed', `${kind}: watcher closed`);
      this.failures = 0;
      if (this.absent) {
        this.absent = false;
        this.options.logger.info({ kind, version }, 'kind is served now; watching it');
      }
      this.options.onList(items, version);
      return { metadata: { resourceVersion }, items: items as never[] };
    }
  }

  private failed(informer: ListWatch<never>, err: unknown): void {
    if (this.closed || informer !== this.informer) return;
    const { kind, logger } = this.options;
    const status = statusCodeOf(err);
    if (status === 404) {
      if (this.versionIndex + 1 < this.versions.length) {
        this.versionIndex++;
        logger.debug({ kind, version: this.version }, 'version not served; trying the next one');
        this.start();
        return;
      }
      this.versionIndex = 0;
      if (!this.absent) {
        this.absent = true;
        logger.warn(
          { kind, versions: this.versions, group: KIND_INFO[kind].group, retryMs: this.options.absentRetryMs },
          'kind not served by the API server (CRD not installed?); treating it as empty and retrying',
        );
        this.options.onAbsent();
      }
      this.schedule(this.options.absentRetryMs);
      return;
    }
    this.failures++;
    const { backoffInitialMs, backoffMaxMs } = this.options;
    const base = Math.min(backoffMaxMs, backoffInitialMs * 2 ** Math.min(this.failures - 1, 20));
    const wait = Math.round(base * (0.8 + 0.4 * Math.random())); // ±20 %: many watchers must not retry in step
    const fields = { kind, version: this.version, attempt: this.failures, retryMs: wait, err: (err as Error)?.message ?? String(err) };
    if (this.failures === 1) logger.warn(fields, 'list/watch failed; retrying with backoff');
    else logger.debug(fields, 'list/watch failed again');
    this.schedule(wait);
  }

  private schedule(ms: number): void {
    if (this.closed) return;
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (this.absent) this.start(); // a fresh informer from the preferred version
      else this.informer?.start().catch((e: unknown) => this.failed(this.informer!, e)); // resumes the watch from its resourceVersion
    }, ms);
  }
}

interface ListBody {
  readonly metadata?: { readonly resourceVersion?: string; readonly continue?: string };
  readonly items?: readonly Record<string, unknown>[];
}

/**
 * Items of a list of a built-in kind come without kind and apiVersion (the list carries them);
 * they are set from the endpoint so every object handed on is complete.
 */
function withType(o: unknown, kind: Kind, version: string): Record<string, unknown> {
  const obj = o as Record<string, unknown>;
  if (typeof obj['kind'] === 'string' && typeof obj['apiVersion'] === 'string') return obj;
  const group = KIND_INFO[kind].group;
  return { ...obj, kind: obj['kind'] ?? kind, apiVersion: obj['apiVersion'] ?? (group === '' ? version : `${group}/${version}`) };
}
