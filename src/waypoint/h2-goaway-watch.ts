// Spots the GOAWAY an HTTP/2 server session sends for a connection error (RFC 9113 §5.4.1) by
// reading the frame headers it writes. nghttp2 then ignores all input, but Node (20) neither
// closes the session nor tells the application, so without this a tunnel whose client broke the
// protocol would stay open until the client hangs up.

import type { Duplex } from 'node:stream';

const FRAME_HEADER = 9;
const GOAWAY = 0x7;

/**
 * A server's output is frames from its first byte (its preface is a SETTINGS frame). Calls
 * `onError(code)` once when `stream` carries a GOAWAY frame with a non-zero error code
 * written by the session on top of it. Only frame headers and GOAWAY payloads are examined.
 */
export function watchGoaway(stream: Duplex, onError: (code: number) => void): void {
  const head = Buffer.alloc(FRAME_HEADER + 8);
  let have = 0;
  /** Bytes of the current frame's payload still to skip (after a header, or a GOAWAY's first 8). */
  let skip = 0;
  let want = FRAME_HEADER;
  let fired = false;
  const scan = (chunk: Buffer): void => {
    let i = 0;
    while (i < chunk.length && !fired) {
      if (skip > 0) {
        const n = Math.min(skip, chunk.length - i);
        skip -= n;
        i += n;
        continue;
      }
      const n = Math.min(want - have, chunk.length - i);
      chunk.copy(head, have, i, i + n);
      have += n;
      i += n;
      if (have < want) break;
      const len = head.readUIntBE(0, 3);
      if (want === FRAME_HEADER && head[3] === GOAWAY && len >= 8) {
        want = FRAME_HEADER + 8;
        continue;
      }
      if (want === FRAME_HEADER + 8) {
        const code = head.readUInt32BE(FRAME_HEADER + 4);
        skip = len - 8;
        if (code !== 0) {
          fired = true;
          onError(code);
        }
      } else skip = len;
      have = 0;
      want = FRAME_HEADER;
    }
  };
  const original = stream.write.bind(stream) as (...args: unknown[]) => boolean;
  (stream as unknown as { write: (...args: unknown[]) => boolean }).write = (chunk: unknown, ...rest: unknown[]): boolean => {
    if (!fired && Buffer.isBuffer(chunk)) scan(chunk);
    else if (!fired && chunk instanceof Uint8Array) scan(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    return original(chunk, ...rest);
  };
}
