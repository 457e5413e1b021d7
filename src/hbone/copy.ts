// Bidirectional byte copy between an app TCP socket and an HBONE HTTP/2 stream, with ztunnel's
// half-close mapping (ztunnel src/copy.rs, src/proxy/h2.rs): each direction ends independently;
// done when both sockets close.

import * as http2 from 'node:http2';
import type * as net from 'node:net';
import { MeshError } from '../common/errors.js';
import { sessionLostReason, trackEndStream } from './session-liveness.js';

/**
 * Live byte counters. Directions are named from the TCP socket's point of view:
 * `upstream` = bytes read from the TCP socket and written into the h2 stream (tcp → h2),
 * `downstream` = bytes read from the h2 stream and written to the TCP socket (h2 → tcp).
 * On the client side that is app→mesh / mesh→app; on the server side it is the reverse
 * (the TCP socket is the destination app), so callers map these onto sent/received metrics.
 */
export interface CopyCounters {
  upstream?(n: number): void;
  downstream?(n: number): void;
}

export interface CopyOptions {
  /**
   * Bytes the h2 stream may buffer before TCP reads pause (ztunnel's per-stream send-buffer cap:
   * 4 MiB on the client, 400 KiB on the server). Node's stream highWaterMark (16 KiB) alone
   * would stall the TCP reader every few records.
   */
  readonly h2SendBufferBytes?: number;
}

/**
 * Default h2 send buffer (ztunnel src/proxy/h2/server.rs: server 400 KiB; the client passes its
 * stream window, src/proxy/h2/client.rs).
 */
export const DEFAULT_H2_SEND_BUFFER_BYTES = 400 * 1024;

export interface CopyResult {
  readonly bytesTcpToH2: number;
  readonly bytesH2ToTcp: number;
  /** Set only for real I/O errors; resets and broken pipes count as a normal close. */
  readonly error?: Error;
}

const { NGHTTP2_NO_ERROR, NGHTTP2_CANCEL } = http2.constants;

/**
 * Flush size of the h2 → tcp write batch, bytes. HTTP/2 DATA reaches JS one TLS record at a time
 * (<= 16 KiB, and in two pieces wherever a 9-byte frame header straddles a record), each piece in
 * its own callback; written one by one that was a syscall (and, with NODELAY, a TCP segment) per
 * piece, down to 9 bytes. Batches flush at the end of the I/O turn or at this size, whichever is
 * first; much larger batches would hit the send-buffer cap and stall the stream until 'drain'.
 */
export const COALESCE_FLUSH_BYTES = 128 * 1024;
/**
 * Pieces below this size (bytes) that arrive with no batch open are written at once: a lone small
 * piece is typically a whole request or reply, and batching would only delay it to the end of the
 * turn. Bulk transfers arrive as ~16 KiB pieces, which open a batch that the small frame-header
 * remnants following them then join.
 */
export const COALESCE_MIN_PIECE_BYTES = 4 * 1024;

// Errors that mean "the peer went away": ztunnel swallows these and treats them as a close.
const BENIGN_SOCKET_ERRORS = new Set(['ECONNRESET', 'EPIPE', 'ENOTCONN', 'ECONNABORTED', 'ERR_STREAM_PREMATURE_CLOSE']);

/**
 * Copies until both `tcp` and `h2` have closed. The TCP socket is switched to allowHalfOpen so a
 * FIN from the app becomes END_STREAM while the other direction keeps flowing.
 * Mapping:
 *  - TCP EOF → h2.end() (empty DATA + END_STREAM);
 *  - h2 END_STREAM, or RST_STREAM NO_ERROR/CANCEL from the peer → tcp.end() (shutdown SHUT_WR),
 *    as ztunnel (src/copy.rs) treats them;
 *  - other RST codes → TCP reset (I/O error H2_STREAM, reported in `error`);
 *  - the HTTP/2 connection lost before the peer's END_STREAM (FIN, RST, GOAWAY then close,
 *    keepalive death, forced drain: see session-liveness.ts) → TCP reset and STREAM_TRUNCATED:
 *    the app must not take a cut-off stream for a complete one;
 *  - TCP RST/ECONNRESET/EPIPE, or the socket closing before EOF → RST_STREAM CANCEL on h2.
 * Backpressure: a side's reads pause while the other side's write buffer is full.
 */
export function copyBidirectional(
  tcp: net.Socket,
  h2: http2.Http2Stream,
  counters: CopyCounters = {},
  options: CopyOptions = {},
): Promise<CopyResult> {
  tcp.allowHalfOpen = true;
  const h2Cap = options.h2SendBufferBytes ?? DEFAULT_H2_SEND_BUFFER_BYTES;
  let bytesTcpToH2 = 0;
  let bytesH2ToTcp = 0;
  let error: Error | undefined;
  let tcpReadEnded = false;
  let tcpClosed = tcp.destroyed;
  let h2Closed = h2.destroyed;
  /** We reset the stream ourselves (the app went away): its close is not the peer's doing. */
  let h2ResetLocally = false;
  let h2Error: Error | undefined;
  // Captured now: Node detaches a stream from its session when the stream is destroyed.
  const session = h2.session;
  // Node's 'end' also follows a reset or a lost session: only this tells a real END_STREAM.
  const endStream = trackEndStream(h2);

  return new Promise<CopyResult>((resolve) => {
    const maybeDone = (): void => {
      if (!tcpClosed || !h2Closed) return;
      tcp.off('drain', onTcpDrain);
      h2.off('drain', onH2Drain);
      resolve(error ? { bytesTcpToH2, bytesH2ToTcp, error } : { bytesTcpToH2, bytesH2ToTcp });
    };

    // tcp → h2
    tcp.on('data', (chunk: Buffer) => {
      if (h2.destroyed || !h2.writable) return; // stream gone: drop, the close path tears down
      bytesTcpToH2 += chunk.length;
      counters.upstream?.(chunk.length);
      // Pause only when write() returned false: that arms 'drain' (fired once the buffer empties),
      // so a pause is always followed by a resume whatever the cap.
      if (!h2.write(chunk) && h2.writableLength >= h2Cap) tcp.pause();
    });
    const onH2Drain = (): void => {
      tcp.resume();
    };
    h2.on('drain', onH2Drain);
    tcp.on('end', () => {
      tcpReadEnded = true;
      if (!h2.destroyed && h2.writable) h2.end();
    });

    // h2 → tcp, coalesced (see COALESCE_FLUSH_BYTES): cork on the first big piece of an I/O turn,
    // uncork from setImmediate (which runs after every read callback of the turn) or as soon as
    // the batch reaches the flush size. end()/destroy() flush or drop a pending cork themselves.
    let corkedBytes = -1; // -1 = not corked
    let flushScheduled = false;
    const flushTcp = (): void => {
      if (corkedBytes < 0) return;
      corkedBytes = -1;
      if (!tcp.destroyed) tcp.uncork();
    };
    const onTurnEnd = (): void => {
      flushScheduled = false;
      flushTcp();
    };
    h2.on('data', (chunk: Buffer) => {
      if (tcp.destroyed || !tcp.writable) return;
      bytesH2ToTcp += chunk.length;
      counters.downstream?.(chunk.length);
      // A small piece with nothing corked is most likely a whole request or reply: write it now.
      if (corkedBytes < 0 && chunk.length >= COALESCE_MIN_PIECE_BYTES) {
        corkedBytes = 0;
        tcp.cork();
        if (!flushScheduled) {
          flushScheduled = true;
          setImmediate(onTurnEnd);
        }
      }
      const belowMark = tcp.write(chunk);
      if (corkedBytes >= 0) {
        corkedBytes += chunk.length;
        if (corkedBytes >= COALESCE_FLUSH_BYTES) flushTcp();
      }
      // Same cap toward TCP (checked after any flush; a batch stays under the flush size). Pause
      // only if write() returned false: that arms 'drain', so every pause is followed by a resume.
      if (!belowMark && tcp.writableLength >= h2Cap) h2.pause();
    });
    const onTcpDrain = (): void => {
      h2.resume();
    };
    tcp.on('drain', onTcpDrain);
    h2.on('end', () => {
      // Any other end is decided when the stream closes (reset, EOF-like reset or truncation).
      if (endStream.received && !tcp.destroyed && tcp.writable) tcp.end();
    });
    // Accepted sockets arrive paused (pauseOnConnect): start both directions explicitly.
    tcp.resume();
    h2.resume();

    tcp.on('error', (err: NodeJS.ErrnoException) => {
      if (!BENIGN_SOCKET_ERRORS.has(err.code ?? '')) error ??= err;
    });
    tcp.on('close', () => {
      tcpClosed = true;
      // The app went away before its EOF (RST, error, local destroy): abort the stream so the
      // peer learns of it, instead of a clean END_STREAM it would take as a graceful close.
      if (!h2.destroyed && (!tcpReadEnded || !endStream.received)) {
        h2ResetLocally = true;
        h2.close(NGHTTP2_CANCEL);
      }
      maybeDone();
    });

    h2.on('error', (err: Error) => {
      if (!BENIGN_SOCKET_ERRORS.has((err as NodeJS.ErrnoException).code ?? '')) h2Error ??= err;
    });
    h2.on('close', () => {
      h2Closed = true;
      const code = h2.rstCode ?? NGHTTP2_NO_ERROR;
      const lost = endStream.received || h2ResetLocally ? undefined : sessionLostReason(session);
      if (lost !== undefined) {
        error ??= new MeshError('STREAM_TRUNCATED', `hbone stream cut off before the peer ended it: ${lost}`, { cause: h2Error });
        resetTcp(tcp);
      } else if (code !== NGHTTP2_NO_ERROR && code !== NGHTTP2_CANCEL) {
        error ??= new MeshError('H2_STREAM', `hbone stream reset with code ${code}`, { cause: h2Error });
        resetTcp(tcp);
      } else {
        if (h2Error) error ??= new MeshError('H2_STREAM', `hbone stream failed: ${h2Error.message}`, { cause: h2Error });
        if (!tcp.destroyed) {
          // Reset NO_ERROR/CANCEL counts as EOF: flush what we have, FIN, and since nothing more
          // can go into the stream, release the socket once our side is written out.
          if (!endStream.received && tcp.writable) tcp.end();
          if (!tcpReadEnded) destroyAfterFinish(tcp);
        }
      }
      maybeDone();
    });

    if (tcpClosed && !h2Closed) {
      h2ResetLocally = true;
      h2.close(NGHTTP2_CANCEL);
    }
    if (h2Closed && !tcpClosed) tcp.end();
    maybeDone();
  });
}

/** Aborts a TCP connection with RST (the peer sees ECONNRESET, not a clean end); plain destroy once our FIN is out. */
export function resetTcp(tcp: net.Socket): void {
  if (tcp.destroyed) return;
  // resetAndDestroy (Node >= 18.3) sends RST so the app sees an abort, not a clean FIN. After our
  // FIN went out it fails with EINVAL and Node then never emits 'close', so plain destroy there.
  if (!tcp.writableEnded && (tcp as { _handle?: unknown })._handle) tcp.resetAndDestroy();
  else tcp.destroy();
}

function destroyAfterFinish(tcp: net.Socket): void {
  if (tcp.writableFinished) tcp.destroy();
  else tcp.once('finish', () => tcp.destroy());
}
