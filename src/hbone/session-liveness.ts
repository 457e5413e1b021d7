// Liveness of the transport under an HBONE HTTP/2 session: a peer's FIN, RST or socket error ends
// the session at once, and why it ended is recorded before its streams are torn down.
//
// Why this exists: Node keeps a half-open socket open (our sockets are allowHalfOpen, the TLS
// socket inherits it), HTTP/2 has no half-closed connection, and Node's graceful session close
// waits for the peer's FIN forever. A crashed or cut-off peer would otherwise hold the session,
// its streams and its file descriptors until keepalive gave up, or for ever.
// Invariant: once markSessionLost(session) ran, every stream of that session that had not received
// END_STREAM is a truncated stream (copyBidirectional turns it into a reset, not an EOF).

import type * as http2 from 'node:http2';
import type * as net from 'node:net';

const lost = new WeakMap<http2.Http2Session, string>();

/** Records why `session` ended abnormally; the first reason wins. */
export function markSessionLost(session: http2.Http2Session, reason: string): void {
  if (!lost.has(session)) lost.set(session, reason);
}

/** Why `session` was lost, or undefined while it is alive or after a clean close. */
export function sessionLostReason(session: http2.Http2Session | undefined): string | undefined {
  return session ? lost.get(session) : undefined;
}

/** The sockets under a session: the TLS socket it runs on and the TCP socket under that. */
export interface SessionTransport {
  readonly tls: net.Socket;
  readonly tcp: net.Socket;
}

/**
 * Ends `session` now: marks it lost, destroys it and both sockets (Node's own teardown may wait
 * for a FIN that never comes). The TCP socket goes last, once the TLS socket no longer uses it.
 */
export function killSession(session: http2.Http2Session, transport: SessionTransport, reason: string): void {
  markSessionLost(session, reason);
  if (!session.destroyed) session.destroy();
  transport.tls.destroy();
  if (transport.tls.closed) transport.tcp.destroy();
  else transport.tls.once('close', () => transport.tcp.destroy());
}

/**
 * Kills `session` when its transport fails: the peer's FIN (with or without TLS close_notify),
 * a socket error (RST, EPIPE) or the socket closing under it. `onLost` runs once, after the kill.
 * Register before the session starts reading, so nothing is missed.
 */
export function watchTransport(session: http2.Http2Session, transport: SessionTransport, onLost: (reason: string) => void): void {
  let done = false;
  const lose = (reason: string): void => {
    if (done) return;
    done = true;
    killSession(session, transport, reason);
    onLost(reason);
  };
  transport.tls.on('end', () => lose('peer closed the connection (FIN)'));
  transport.tls.on('error', (err: NodeJS.ErrnoException) => lose(`connection error: ${err.code ?? err.message}`));
  transport.tls.on('close', () => lose('connection closed'));
  transport.tcp.on('close', () => lose('connection closed'));
  session.once('close', () => {
    // A session that ended cleanly (both sides done) is not "lost"; only release the sockets.
    done = true;
    transport.tls.destroy();
    if (transport.tls.closed) transport.tcp.destroy();
    else transport.tls.once('close', () => transport.tcp.destroy());
  });
}

/** Whether the peer really sent END_STREAM on a stream (see trackEndStream). */
export interface EndStreamTracker {
  readonly received: boolean;
}

/**
 * Node pushes EOF into an HTTP/2 stream's readable side both for the peer's END_STREAM and when
 * the stream closes for any other reason: a RST_STREAM, or its session lost (Node's
 * lib/internal/http2/core.js, onStreamClose and socketOnClose). Only END_STREAM arrives while the
 * stream is still open, so the first EOF is classified at the moment it is pushed.
 */
export function trackEndStream(stream: http2.Http2Stream): EndStreamTracker {
  const state = { received: false };
  const push = stream.push;
  stream.push = function (this: http2.Http2Stream, chunk: unknown, encoding?: BufferEncoding): boolean {
    if (chunk === null && !stream.closed && !stream.destroyed) state.received = true;
    return push.call(this, chunk, encoding);
  };
  return state;
}
