// A per-netns stock of pre-created, unbound TCP sockets, so an upstream connection made inside a pod's
// netns skips createSocket's per-connection threadpool hop (setns + socket + setsockopt, ~45 µs).
//
// INVARIANT: every socket holds a reference to the netns it was made in. A pod's pool MUST be closed
// when the pod is removed, or its pooled fds keep the deleted netns (and its veth, conntrack...) alive.

import type { NativeSocketError, NativeSockets } from './native-loader.js';
import { netnsOptions, type NetnsTarget } from './netns-target.js';

/**
 * Every pooled socket is an upstream connection's socket: made with TCP_NODELAY and keepalive after
 * this many idle seconds (ztunnel's 180 s), so nothing is set on it per connection afterwards.
 */
export const UPSTREAM_KEEPALIVE_S = 180;

/** Sockets are interchangeable only within one key: family and the options set at creation. */
export interface SocketPoolKey {
  readonly family: 4 | 6;
  /** IP_TRANSPARENT + IP_FREEBIND (spoofed sources), as connectInNetns sets them. */
  readonly transparent: boolean;
  /** SO_MARK; absent = none. */
  readonly mark?: number;
}

export interface NetnsSocketPoolOptions {
  /** Netns the sockets are made in (the same target connectInNetns is given): a file or an fd. */
  readonly netns: NetnsTarget;
  /** Sockets made per refill (one threadpool work item), 1..256. Default 16. */
  readonly batch?: number;
  /** A key is refilled when a take leaves fewer than this many. Default 4. */
  readonly lowWater?: number;
  /** A key not taken from for this long (ms) has its stock closed. Default 30 000. */
  readonly idleMs?: number;
  /** After a failed refill, no refill of that key for this long (ms). Default 5 000. */
  readonly errorBackoffMs?: number;
}

interface Stock {
  readonly key: SocketPoolKey;
  readonly fds: number[];
  refilling: boolean;
  /** performance.now() of the last take (ms). */
  lastUsedMs: number;
  /** No refill before this performance.now() (ms): set after a failed refill. */
  backoffUntilMs: number;
  lastError: NativeSocketError | Error | undefined;
}

function keyId(key: SocketPoolKey): string {
  return `${key.family}/${key.transparent ? 't' : '-'}/${key.mark ?? ''}`;
}

function closeQuietly(native: NativeSockets, fds: readonly number[]): void {
  for (const fd of fds) {
    try {
      native.closeSocket(fd);
    } catch {
      // already closed: nothing else can own a pooled fd, so nothing to report
    }
  }
}

/**
 * Lazy: a key has no sockets until its first take, which returns undefined (the caller falls back to
 * createSocket, so no connection ever waits for a refill) and starts the first refill. At most one
 * refill is in flight per key. Refill errors are not logged here (the fallback path reports errors
 * per connection): the last one is kept (lastError) and the key is not refilled for errorBackoffMs.
 */
export class NetnsSocketPool {
  readonly netns: NetnsTarget;
  private readonly batch: number;
  private readonly lowWater: number;
  private readonly idleMs: number;
  private readonly errorBackoffMs: number;
  private readonly stocks = new Map<string, Stock>();
  private idleTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly native: NativeSockets,
    options: NetnsSocketPoolOptions,
  ) {
    this.netns = options.netns;
    this.batch = Math.min(256, Math.max(1, Math.floor(options.batch ?? 16)));
    this.lowWater = Math.max(0, options.lowWater ?? 4);
    this.idleMs = options.idleMs ?? 30_000;
    this.errorBackoffMs = options.errorBackoffMs ?? 5_000;
  }

  /** A pooled fd (the caller now owns it), or undefined: none in stock, or the pool is closed. */
  take(key: SocketPoolKey): number | undefined {
    if (this.closed) return undefined;
    const id = keyId(key);
    let stock = this.stocks.get(id);
    if (stock === undefined) {
      stock = { key, fds: [], refilling: false, lastUsedMs: 0, backoffUntilMs: 0, lastError: undefined };
      this.stocks.set(id, stock);
      this.armIdleTimer();
    }
    stock.lastUsedMs = performance.now();
    const fd = stock.fds.pop();
    if (stock.fds.length < this.lowWater) this.refill(id, stock);
    return fd;
  }

  /** Sockets in stock for `key` (diagnostics, tests). */
  stock(key: SocketPoolKey): number {
    return this.stocks.get(keyId(key))?.fds.length ?? 0;
  }

  /** Sockets in stock over all keys. */
  get size(): number {
    let n = 0;
    for (const s of this.stocks.values()) n += s.fds.length;
    return n;
  }

  /** The error of `key`'s last refill, until a refill succeeds. */
  lastError(key: SocketPoolKey): Error | undefined {
    return this.stocks.get(keyId(key))?.lastError;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Closes every pooled fd now and any a refill in flight delivers later. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.idleTimer);
    this.idleTimer = undefined;
    for (const s of this.stocks.values()) closeQuietly(this.native, s.fds.splice(0));
    this.stocks.clear();
  }

  private refill(id: string, stock: Stock): void {
    if (stock.refilling || performance.now() < stock.backoffUntilMs) return;
    stock.refilling = true;
    const { family, transparent, mark } = stock.key;
    const onDone = (err: NativeSocketError | Error | null, fds?: number[]): void => {
      stock.refilling = false;
      if (err || fds === undefined) {
        stock.lastError = err ?? new Error('createSockets returned no fds');
        stock.backoffUntilMs = performance.now() + this.errorBackoffMs;
        return;
      }
      // Closed, or the key was trimmed while this batch was being made: nobody will take these.
      if (this.closed || this.stocks.get(id) !== stock) return closeQuietly(this.native, fds);
      stock.lastError = undefined;
      stock.fds.push(...fds);
    };
    try {
      this.native.createSockets(
        {
          ...netnsOptions(this.netns),
          family,
          mark,
          transparent: transparent || undefined,
          freebind: transparent || undefined,
          noDelay: true,
          keepAliveS: UPSTREAM_KEEPALIVE_S,
        },
        this.batch,
        onDone,
      );
    } catch (err) {
      onDone(err as Error);
    }
  }

  /** One unref'd sweep per idleMs while any key exists; a key idle for idleMs is closed and forgotten. */
  private armIdleTimer(): void {
    if (this.idleTimer !== undefined) return;
    this.idleTimer = setInterval(() => this.trimIdle(), this.idleMs);
    this.idleTimer.unref();
  }

  private trimIdle(): void {
    const now = performance.now();
    for (const [id, s] of this.stocks) {
      if (now - s.lastUsedMs < this.idleMs) continue;
      closeQuietly(this.native, s.fds.splice(0));
      // A refill in flight finds its stock gone and closes what it delivers.
      this.stocks.delete(id);
    }
    if (this.stocks.size === 0) {
      clearInterval(this.idleTimer);
      this.idleTimer = undefined;
    }
  }
}
