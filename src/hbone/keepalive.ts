// HTTP/2 PING keepalive shared by the HBONE client pool and server (ztunnel src/proxy/h2.rs):
// first PING one interval after start, then every interval, data flow or not; unanswered past the
// timeout = dead.
// Pings go on while a session drains after GOAWAY: a peer can die then too.

import type * as http2 from 'node:http2';

export interface KeepaliveOptions {
  /** ms between PINGs (10 s in ztunnel). 0 disables keepalive. */
  readonly intervalMs: number;
  /** ms a PING may stay unanswered before the connection is declared dead (20 s in ztunnel). */
  readonly timeoutMs: number;
}

/**
 * Starts the PING loop on `session`; `onDead(reason)` fires at most once. Returns a stop function,
 * which the owner must call when the session closes (timers are unref'd either way).
 */
export function startKeepalive(session: http2.Http2Session, options: KeepaliveOptions, onDead: (reason: string) => void): () => void {
  if (options.intervalMs <= 0) return () => {};
  let stopped = false;
  const timeouts = new Set<NodeJS.Timeout>();
  const die = (reason: string): void => {
    if (stopped) return;
    stop();
    onDead(reason);
  };
  const tick = (): void => {
    if (stopped || session.destroyed) return;
    const timer = setTimeout(() => die(`ping unanswered after ${options.timeoutMs} ms`), options.timeoutMs);
    timer.unref();
    timeouts.add(timer);
    let sent: boolean;
    try {
      sent = session.ping((err) => {
        clearTimeout(timer);
        timeouts.delete(timer);
        // ERR_HTTP2_PING_CANCEL is what a session being torn down reports: not a liveness failure.
        if (err && (err as NodeJS.ErrnoException).code !== 'ERR_HTTP2_PING_CANCEL') die(`ping failed: ${err.message}`);
      });
    } catch (err) {
      clearTimeout(timer);
      timeouts.delete(timer);
      die(`ping failed: ${(err as Error).message}`);
      return;
    }
    // Too many PINGs in flight (peer not answering): the timeout timer above decides.
    if (!sent) {
      clearTimeout(timer);
      timeouts.delete(timer);
    }
  };
  const interval = setInterval(tick, options.intervalMs);
  interval.unref();
  function stop(): void {
    if (stopped) return;
    stopped = true;
    clearInterval(interval);
    for (const t of timeouts) clearTimeout(t);
    timeouts.clear();
  }
  return stop;
}
