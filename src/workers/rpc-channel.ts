// Requests with answers, and one-way notes, between the main thread and one worker thread over a
// MessagePort-like endpoint (the Worker object on one side, parentPort on the other).

import { ERROR_CODES, MeshError, meshErrorOf, type ErrorCode } from '../common/errors.js';

/** The part of Worker / MessagePort this uses. */
export interface RpcPort {
  postMessage(value: unknown): void;
  on(event: 'message', listener: (value: unknown) => void): unknown;
  off(event: 'message', listener: (value: unknown) => void): unknown;
}

/** An error as it crosses threads: structured clone keeps neither the class nor `code`. */
export interface WireError {
  readonly message: string;
  readonly code?: string;
}

type Frame =
  | { readonly rpc: 'req'; readonly id: number; readonly method: string; readonly payload: unknown }
  | { readonly rpc: 'res'; readonly id: number; readonly ok: true; readonly value: unknown }
  | { readonly rpc: 'res'; readonly id: number; readonly ok: false; readonly error: WireError }
  | { readonly rpc: 'note'; readonly method: string; readonly payload: unknown };

export function toWireError(err: unknown): WireError {
  const mesh = meshErrorOf(err);
  if (mesh) return { message: mesh.message, code: mesh.code };
  return { message: err instanceof Error ? err.message : String(err) };
}

/** A MeshError again when the code is one; a plain Error otherwise. */
export function fromWireError(e: WireError): Error {
  return e.code !== undefined && e.code in ERROR_CODES ? new MeshError(e.code as ErrorCode, e.message) : new Error(e.message);
}

interface Pending {
  readonly resolve: (v: unknown) => void;
  readonly reject: (e: Error) => void;
  readonly timer: NodeJS.Timeout | undefined;
}

type Handler = (payload: never) => unknown;

/**
 * Invariant: every request settles exactly once: with the answer, with the handler's error, at its
 * timeout, or at failAll() (the peer is gone). A request to an unknown method is answered with an
 * error, never left hanging; a note to an unknown method is dropped.
 */
export class RpcChannel {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly handlers = new Map<string, Handler>();
  private readonly noteHandlers = new Map<string, Handler>();
  private readonly listener = (value: unknown): void => this.receive(value as Frame);
  private closedWith: Error | undefined;

  constructor(private readonly port: RpcPort) {
    port.on('message', this.listener);
  }

  /** Answers `method` requests with `fn`'s value (or its error). */
  handle<P, R>(method: string, fn: (payload: P) => R | Promise<R>): this {
    this.handlers.set(method, fn as Handler);
    return this;
  }

  /** Receives `method` notes. */
  onNote<P>(method: string, fn: (payload: P) => void): this {
    this.noteHandlers.set(method, fn as Handler);
    return this;
  }

  request<R>(method: string, payload: unknown, timeoutMs?: number): Promise<R> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    const id = this.nextId++;
    return new Promise<R>((resolve, reject) => {
      const timer =
        timeoutMs === undefined
          ? undefined
          : setTimeout(() => {
              this.pending.delete(id);
              reject(new MeshError('INTERNAL', `worker request ${method} timed out after ${timeoutMs} ms`));
            }, timeoutMs);
      timer?.unref();
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
      this.port.postMessage({ rpc: 'req', id, method, payload } satisfies Frame);
    });
  }

  note(method: string, payload: unknown): void {
    if (!this.closedWith) this.port.postMessage({ rpc: 'note', method, payload } satisfies Frame);
  }

  get pendingRequests(): number {
    return this.pending.size;
  }

  /** The peer is gone: every pending and future request rejects with `err`. */
  failAll(err: Error): void {
    this.closedWith ??= err;
    this.port.off('message', this.listener);
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      if (p.timer) clearTimeout(p.timer);
      p.reject(err);
    }
  }

  private receive(frame: Frame): void {
    if (typeof frame !== 'object' || frame === null || !('rpc' in frame)) return;
    if (frame.rpc === 'res') {
      const p = this.pending.get(frame.id);
      if (!p) return; // timed out meanwhile
      this.pending.delete(frame.id);
      if (p.timer) clearTimeout(p.timer);
      if (frame.ok) p.resolve(frame.value);
      else p.reject(fromWireError(frame.error));
    } else if (frame.rpc === 'req') {
      void this.answer(frame.id, frame.method, frame.payload);
    } else {
      (this.noteHandlers.get(frame.method) as ((p: unknown) => void) | undefined)?.(frame.payload);
    }
  }

  private async answer(id: number, method: string, payload: unknown): Promise<void> {
    const fn = this.handlers.get(method) as ((p: unknown) => unknown) | undefined;
    let frame: Frame;
    try {
      if (!fn) throw new Error(`no handler for ${method}`);
      frame = { rpc: 'res', id, ok: true, value: await fn(payload) };
    } catch (err) {
      frame = { rpc: 'res', id, ok: false, error: toWireError(err) };
    }
    if (this.closedWith) return;
    try {
      this.port.postMessage(frame);
    } catch (err) {
      // An answer that cannot be cloned is a bug of the handler; the asker must still hear back.
      this.port.postMessage({ rpc: 'res', id, ok: false, error: toWireError(err) } satisfies Frame);
    }
  }
}
