// Works around string chunks written in one writev to an HTTP/2 stream arriving corrupted:
// HTTP/1.1 spoken over a CONNECT stream converts them to Buffers first.

import type { Duplex } from 'node:stream';

/**
 * Node's HTTP/1 server and client cork the socket and flush head (latin1 string) + body through _writev;
 * an Http2Stream queues such string chunks natively and we saw their first bytes corrupted on the
 * wire (Node 20). Converting them to Buffers first keeps every byte owned by JS until sent.
 */
export function buffersOnly(stream: Duplex): void {
  type Entry = { chunk: unknown; encoding: BufferEncoding };
  const s = stream as unknown as { _writev?: (data: Entry[] & { allBuffers?: boolean }, cb: (err?: Error | null) => void) => void };
  const original = s._writev;
  if (typeof original !== 'function') return;
  s._writev = function (this: unknown, data, cb) {
    const converted = data.map((e) => ({ chunk: typeof e.chunk === 'string' ? Buffer.from(e.chunk, e.encoding) : e.chunk, encoding: 'buffer' as BufferEncoding })) as Entry[] & { allBuffers?: boolean };
    converted.allBuffers = true;
    return original.call(this, converted, cb);
  };
}

