// The request body as a replayable source: streamed to the current attempt as it arrives, and
// kept in memory up to a limit so a retry or a mirror can read it again from the start.
//
// Invariants: the source is read only once a first reader exists (nothing is lost before); only
// the primary reader applies backpressure to the source; a mirror that falls behind is dropped.

import { PassThrough, type Readable } from 'node:stream';
import { forwardableTrailers, headerMapFromRaw } from './header-map.js';
import type { HeaderMap } from './routing/index.js';

/** Bodies up to this size are kept for retries (Envoy's default per_request_buffer_limit is 1 MiB too). */
export const RETRY_BODY_LIMIT_BYTES = 1024 * 1024;

export class BodyTap {
  private chunks: Buffer[] = [];
  private kept = 0;
  private overflow = false;
  private ended = false;
  private failed: Error | undefined;
  private started = false;
  private readonly readers = new Set<PassThrough>();
  private primary: PassThrough | undefined;
  /** Bytes read from the source. */
  bytes = 0;

  /** Failure listeners are on from the start: a body can fail before any attempt reads it. */
  constructor(private readonly src: Readable, private readonly limit = RETRY_BODY_LIMIT_BYTES) {
    const fail = (err: Error): void => {
      if (this.ended || this.failed) return;
      this.failed = err;
      for (const r of this.readers) r.destroy(err);
      this.readers.clear();
    };
    src.once('error', fail);
    src.once('aborted', () => fail(new Error('client aborted the request')));
  }

  /** Whether a new reader would see the whole body (false once more than the limit was read). */
  get replayable(): boolean {
    return !this.overflow;
  }

  get complete(): boolean {
    return this.ended;
  }

  /** The source failed (client gone, malformed body): no attempt can get the whole body. */
  get broken(): boolean {
    return this.failed !== undefined;
  }

  /** The source's trailers (HTTP/1.1 chunked, HTTP/2), once it ended; undefined when none. */
  trailers(): HeaderMap | undefined {
    if (!this.ended) return undefined;
    const raw = (this.src as Readable & { rawTrailers?: string[] }).rawTrailers;
    return raw && raw.length > 0 ? forwardableTrailers(headerMapFromRaw(raw)) : undefined;
  }

  /** A new reader from the first byte, or undefined when that is no longer possible. */
  reader(primary: boolean): Readable | undefined {
    if (this.overflow) return undefined;
    const r = new PassThrough();
    // A reader no attempt consumes yet (a mirror still connecting) may be failed by the source:
    // that must not become an uncaught 'error'. Consumers add their own listeners.
    r.on('error', () => {});
    for (const c of this.chunks) r.write(c);
    if (this.failed) r.destroy(this.failed);
    else if (this.ended) r.end();
    else this.readers.add(r);
    r.once('close', () => this.release(r));
    if (primary) {
      if (this.primary) this.release(this.primary);
      this.primary = r;
    }
    this.start();
    return r;
  }

  /** Stops feeding a reader (its attempt is over). */
  release(r: Readable): void {
    this.readers.delete(r as PassThrough);
    if (this.primary === r) {
      this.primary = undefined;
      if (this.src.isPaused()) this.src.resume();
    }
  }

  private start(): void {
    if (this.started) return;
    this.started = true;
    this.src.on('data', (c: Buffer) => this.onData(c));
    this.src.once('end', () => {
      if (this.failed) return;
      this.ended = true;
      for (const r of this.readers) r.end();
      this.readers.clear();
    });
  }

  private onData(c: Buffer): void {
    this.bytes += c.length;
    if (!this.overflow) {
      this.kept += c.length;
      if (this.kept > this.limit) {
        this.overflow = true;
        this.chunks = [];
      } else this.chunks.push(c);
    }
    for (const r of [...this.readers]) {
      const ok = r.write(c);
      if (ok) continue;
      if (r === this.primary) {
        this.src.pause();
        r.once('drain', () => {
          if (this.primary === r) this.src.resume();
        });
      } else {
        this.readers.delete(r);
        r.destroy();
      }
    }
  }
}
