// `ambit_waypoint_bad_requests_total{reason}` (Ambit-specific): requests and HTTP/2 sessions the
// waypoint refused as malformed inside a tunnel (400/431/408 or an h2 protocol error), by reason.

import { Counter, Registry } from 'prom-client';
import { meshErrorOf } from '../common/errors.js';

/**
 * Reasons besides the HTTP/1 parser's own (`HPE_INVALID_METHOD` ⇒ `invalid_method`: llhttp's
 * closed error enum, so the label set stays bounded).
 */
export type BadRequestReason = 'too_many_headers' | 'headers_timeout' | 'invalid_host' | 'h2_session' | 'h2_stream';

/** The label for an HTTP/1 server `clientError`, or undefined when it is no parse error (a reset peer). */
export function clientErrorReason(err: NodeJS.ErrnoException): string | undefined {
  const code = err.code ?? '';
  if (/^HPE_[A-Z_]+$/.test(code)) return code.slice(4).toLowerCase();
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT' || code === 'ERR_HTTP_HEADERS_TIMEOUT') return 'headers_timeout';
  return undefined;
}

const BAD_REQUEST = Symbol('ambit.badRequestStatus');

/** Marks a request whose own bytes were malformed after its head (e.g. a bad chunk size): answer `status`. */
export function markBadRequest(req: object, status: number): void {
  (req as Record<symbol, number>)[BAD_REQUEST] = status;
}

/** The status a request marked malformed must be answered, or undefined. */
export function badRequestStatus(req: object): number | undefined {
  return (req as Record<symbol, number | undefined>)[BAD_REQUEST];
}

export class BadRequestCounter {
  private readonly counter: Counter<'reason'>;

  /** Without a registry the counts are kept on a private one (tests, embedded use). */
  constructor(registry: Registry = new Registry()) {
    this.counter = new Counter({
      name: 'ambit_waypoint_bad_requests_total',
      help: 'Malformed requests or HTTP/2 sessions refused by the waypoint inside a tunnel, by reason (Ambit-specific)',
      labelNames: ['reason'] as const,
      registers: [registry],
    });
  }

  inc(reason: BadRequestReason | string): void {
    this.counter.inc({ reason });
  }

  /** Counts an h2 session error by its Node code, when it is a protocol error and not a plain reset. */
  h2(err: unknown): void {
    const code = (err as NodeJS.ErrnoException | undefined)?.code ?? meshErrorOf(err)?.code;
    if (code === 'ECONNRESET' || code === 'EPIPE' || code === 'ERR_STREAM_PREMATURE_CLOSE') return;
    this.inc('h2_session');
  }
}
