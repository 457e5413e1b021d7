// A connected Unix SOCK_SEQPACKET socket on the native addon (Node's net module has none): whole
// datagrams in and out, each received with its SCM_RIGHTS fds. The ZDS client talks to istio-cni on it.
//
// Invariant: one datagram is handled at a time. While the handler's promise is pending the socket
// is not read (the kernel queue holds the rest, and a sender that waits for answers never has more).

import type { NativeSocketError, NativeSockets, ReadableWatch, SeqpacketDatagram } from './native-loader.js';

export interface SeqpacketSocketEvents {
  /** A datagram; its fds are the handler's to keep or close. A returned promise pauses reading. */
  message(datagram: SeqpacketDatagram): void | Promise<void>;
  /** Once: the peer closed (err undefined), or a receive failed. The fd is closed already. */
  close(err: Error | undefined): void;
}

export class SeqpacketSocket {
  private watch: ReadableWatch | undefined;
  private closed = false;
  private busy = false;
  private events: SeqpacketSocketEvents | undefined;

  private constructor(
    private readonly native: NativeSockets,
    private readonly fd: number,
    private readonly maxBytes: number,
  ) {}

  /** Connects to `path`; throws the addon's error (syscall 'connect', code ENOENT, ECONNREFUSED...). */
  static connect(native: NativeSockets, path: string, maxBytes: number): SeqpacketSocket {
    return new SeqpacketSocket(native, native.seqpacketConnect(path), maxBytes);
  }

  /** Starts reading; call once. */
  start(events: SeqpacketSocketEvents): void {
    if (this.events) throw new Error('SeqpacketSocket already started');
    this.events = events;
    this.watch = this.native.pollReadable(this.fd, (err, disconnected) => this.onReadable(err, disconnected));
  }

  /** Sends one datagram; throws NativeSocketError (EAGAIN when the peer's queue is full, EPIPE...). */
  send(bytes: Uint8Array): void {
    if (this.closed) throw new Error('seqpacket socket is closed');
    this.native.seqpacketSend(this.fd, bytes);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Closes the socket; `close` is not reported for a close the owner asked for. Idempotent. */
  destroy(): void {
    this.teardown();
  }

  private teardown(): boolean {
    if (this.closed) return false;
    this.closed = true;
    // The watch goes before the fd: uv_poll must never watch a closed (or reused) fd number.
    this.watch?.close();
    this.watch = undefined;
    this.native.closeSocket(this.fd);
    return true;
  }

  private end(err: Error | undefined): void {
    if (this.teardown()) this.events?.close(err);
  }

  private onReadable(err: NativeSocketError | null, disconnected: boolean): void {
    if (this.closed || this.busy) return;
    if (err) return this.end(err);
    for (;;) {
      let datagram: SeqpacketDatagram | null;
      try {
        datagram = this.native.seqpacketRecv(this.fd, this.maxBytes);
      } catch (e) {
        return this.end(e as Error);
      }
      if (datagram === null) {
        // Nothing queued: a hang-up with nothing left to read is the end.
        if (disconnected) this.end(undefined);
        return;
      }
      if (datagram.data.length === 0 && datagram.fds.length === 0) return this.end(undefined);
      const pending = this.events?.message(datagram);
      if (pending === undefined) continue;
      this.busy = true;
      this.watch?.pause();
      void pending
        .catch(() => undefined) // the handler reports its own failures
        .then(() => {
          this.busy = false;
          // Level-triggered: resuming reports the socket again if more is queued or it hung up.
          if (!this.closed) this.watch?.resume();
        });
      return;
    }
  }
}
