// An HTTP/2 client (Node's, over mTLS) whose request header blocks are swapped on the wire for
// hand-encoded ones, so tests can send fields Node refuses to send (CR/LF/NUL, upper case, ...).
//
// How: Node's session writes through a Duplex that parses its frames; each HEADERS frame opening a
// stream is given the next queued block instead. The blocks use only HPACK literals without
// indexing (RFC 7541 §6.2.2, raw strings), so the server's dynamic table never changes and the
// client's own encoder state (whose output is discarded) cannot desynchronise it. Responses are
// decoded by Node as usual.

import { Duplex } from 'node:stream';
import * as http2 from 'node:http2';
import * as tls from 'node:tls';
import { once } from 'node:events';

export type RawField = readonly [name: string, value: string];

/** What the server did with one request. */
export type RawOutcome =
  | { readonly kind: 'response'; readonly status: number; readonly endStream: boolean }
  | { readonly kind: 'reset'; readonly code: number };

const PREFACE_BYTES = 24;
const FRAME_HEADERS = 0x1;
const FLAG_END_STREAM = 0x1;
const FLAG_END_HEADERS = 0x4;

/** HPACK integer (RFC 7541 §5.1) with an N-bit prefix and the representation's high bits. */
function hpackInt(n: number, prefixBits: number, high: number): number[] {
  const max = (1 << prefixBits) - 1;
  if (n < max) return [high | n];
  const out = [high | max];
  for (n -= max; n >= 128; n = Math.floor(n / 128)) out.push((n % 128) | 128);
  out.push(n);
  return out;
}

/** One field as "literal header field without indexing, new name", raw (non-Huffman) latin1 strings. */
export function encodeLiteral(name: string, value: string): Buffer {
  const n = Buffer.from(name, 'latin1');
  const v = Buffer.from(value, 'latin1');
  return Buffer.concat([Buffer.from([0x00, ...hpackInt(n.length, 7, 0)]), n, Buffer.from(hpackInt(v.length, 7, 0)), v]);
}

export function encodeBlock(fields: readonly RawField[]): Buffer {
  return Buffer.concat(fields.map(([n, v]) => encodeLiteral(n, v)));
}

/** Sits between Node's HTTP/2 session and the TLS socket; rewrites outgoing request HEADERS. */
class HeaderSwap extends Duplex {
  readonly queue: Buffer[] = [];
  private pending = Buffer.alloc(0);
  private prefaceLeft = PREFACE_BYTES;

  constructor(private readonly inner: Duplex) {
    super();
    inner.on('data', (d: Buffer) => this.push(d));
    inner.on('end', () => this.push(null));
    inner.on('error', (err) => this.destroy(err));
    inner.on('close', () => this.destroy());
  }

  override _read(): void {}

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.pending = Buffer.concat([this.pending, chunk]);
    const out: Buffer[] = [];
    if (this.prefaceLeft > 0) {
      const n = Math.min(this.prefaceLeft, this.pending.length);
      out.push(this.pending.subarray(0, n));
      this.pending = this.pending.subarray(n);
      this.prefaceLeft -= n;
    }
    while (this.prefaceLeft === 0 && this.pending.length >= 9) {
      const len = this.pending.readUIntBE(0, 3);
      if (this.pending.length < 9 + len) break;
      const frame = this.pending.subarray(0, 9 + len);
      this.pending = this.pending.subarray(9 + len);
      out.push(frame[3] === FRAME_HEADERS ? this.swap(frame) : frame);
    }
    if (out.length === 0) cb();
    else this.inner.write(Buffer.concat(out), cb);
  }

  private swap(frame: Buffer): Buffer {
    const block = this.queue.shift();
    if (block === undefined) return frame;
    if ((frame[4]! & FLAG_END_HEADERS) === 0) throw new Error('h2-raw-headers: CONTINUATION not supported');
    const head = Buffer.alloc(9);
    head.writeUIntBE(block.length, 0, 3);
    head[3] = FRAME_HEADERS;
    // Padding and priority of the original frame are dropped with its payload.
    head[4] = (frame[4]! & FLAG_END_STREAM) | FLAG_END_HEADERS;
    frame.copy(head, 5, 5, 9);
    return Buffer.concat([head, block]);
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.inner.end();
    cb();
  }

  override _destroy(err: Error | null, cb: (err: Error | null) => void): void {
    this.inner.destroy();
    cb(err);
  }
}

export interface RawHeaderClient {
  readonly session: http2.ClientHttp2Session;
  /** Sends one request whose header block is exactly `fields`, in order; resolves with the outcome. */
  send(fields: readonly RawField[], opts?: { endStream?: boolean }): Promise<RawOutcome>;
  close(): void;
}

/** Connects over mTLS (`tlsOptions` as for http2.connect) to 127.0.0.1:`port`. */
export async function rawHeaderClient(port: number, tlsOptions: tls.ConnectionOptions): Promise<RawHeaderClient> {
  const socket = tls.connect({ ...tlsOptions, host: '127.0.0.1', port });
  // Small frames back to back: Nagle plus delayed ACKs would add ~40 ms to each request.
  socket.setNoDelay(true);
  await once(socket, 'secureConnect');
  return rawHeaderSession(socket);
}

/** The same client over any byte stream already connected to an HTTP/2 server (e.g. a CONNECT tunnel). */
export async function rawHeaderSession(socket: Duplex): Promise<RawHeaderClient> {
  const swap = new HeaderSwap(socket);
  const session = http2.connect('http://raw.test', { createConnection: () => swap });
  session.on('error', () => {});
  await once(session, 'connect');
  return {
    session,
    send(fields, opts = {}) {
      swap.queue.push(encodeBlock(fields));
      // Any valid request: its encoded block is replaced before it leaves. With endStream the
      // HEADERS frame ends the request (a request without a body).
      const req = opts.endStream
        ? session.request({ ':method': 'GET', ':path': '/placeholder', ':authority': 'placeholder:1' }, { endStream: true })
        : session.request({ ':method': 'CONNECT', ':authority': 'placeholder:1' });
      req.on('error', () => {});
      return new Promise<RawOutcome>((resolve) => {
        let outcome: RawOutcome | undefined;
        req.once('response', (headers: http2.IncomingHttpHeaders, flags: number) => {
          outcome = { kind: 'response', status: Number(headers[':status']), endStream: (flags & FLAG_END_STREAM) !== 0 };
          // END_STREAM on our side, not close(CANCEL): every RST_STREAM counts toward the
          // server's stream-reset rate limit (nghttp2's rapid-reset guard: about 1000 in a
          // burst, then GOAWAY), which would end the session after ~1000 requests.
          req.end();
        });
        req.resume();
        req.once('close', () => resolve(outcome ?? { kind: 'reset', code: req.rstCode ?? -1 }));
      });
    },
    close() {
      session.destroy();
      socket.destroy();
    },
  };
}
