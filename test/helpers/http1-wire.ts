// A strict HTTP/1.1 response reader over a raw byte stream (RFC 9112): status line, field lines,
// bodies framed by Content-Length, chunked coding (with trailers) or the close, interim 1xx
// answers, and HEAD/204/304 without a body. Tests use it to speak raw HTTP through CONNECT tunnels.

import type { Readable } from 'node:stream';

export interface WireResponse {
  readonly version: string;
  readonly status: number;
  readonly reason: string;
  /** Field lines in order, names as sent. */
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly body: Buffer;
  readonly trailers: ReadonlyArray<readonly [string, string]>;
  /** Interim (1xx) responses received before this one. */
  readonly interim: readonly WireResponse[];
  /** The body was chunked. */
  readonly chunked: boolean;
}

/** First value of a header (case-insensitive), or undefined. */
export function wireHeader(r: { readonly headers: ReadonlyArray<readonly [string, string]> }, name: string): string | undefined {
  const n = name.toLowerCase();
  return r.headers.find(([k]) => k.toLowerCase() === n)?.[1];
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const STATUS_LINE = /^HTTP\/(1\.[01]) ([1-9][0-9]{2}) ([\t\x20-\x7e\x80-\xff]*)$/;

export class WireError extends Error {}

type Parsed = { response: WireResponse; used: number } | 'incomplete';

function lineEnd(buf: Buffer, from: number): number {
  const i = buf.indexOf('\r\n', from, 'latin1');
  return i;
}

function parseFields(text: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  if (text === '') return out;
  for (const line of text.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) throw new WireError(`malformed field line ${JSON.stringify(line)}`);
    const name = line.slice(0, colon);
    if (!TOKEN.test(name)) throw new WireError(`invalid field name ${JSON.stringify(name)}`);
    const value = line.slice(colon + 1).trim();
    if (/[\0\r\n]/.test(value)) throw new WireError(`invalid field value for ${name}`);
    out.push([name, value]);
  }
  return out;
}

/**
 * Parses one response (interim ones folded in) from `buf`. `method` decides HEAD; `eof` says
 * the stream ended, which completes a close-delimited body. Throws WireError when invalid.
 */
export function parseResponse(buf: Buffer, method: string, eof: boolean): Parsed {
  const interim: WireResponse[] = [];
  let pos = 0;
  for (;;) {
    const headEnd = buf.indexOf('\r\n\r\n', pos, 'latin1');
    if (headEnd < 0) {
      if (eof) throw new WireError(buf.length > pos ? 'truncated response head' : 'closed without a response');
      return 'incomplete';
    }
    const head = buf.toString('latin1', pos, headEnd);
    const nl = head.indexOf('\r\n');
    const statusLine = nl < 0 ? head : head.slice(0, nl);
    const m = STATUS_LINE.exec(statusLine);
    if (!m) throw new WireError(`invalid status line ${JSON.stringify(statusLine.slice(0, 80))}`);
    const headers = parseFields(nl < 0 ? '' : head.slice(nl + 2));
    const status = Number(m[2]);
    pos = headEnd + 4;
    const base = { version: m[1]!, status, reason: m[3]!, headers };
    if (status >= 100 && status < 200 && status !== 101) {
      interim.push({ ...base, body: Buffer.alloc(0), trailers: [], interim: [], chunked: false });
      continue;
    }
    const noBody = method === 'HEAD' || status === 204 || status === 304 || status === 101;
    const te = headers.filter(([k]) => k.toLowerCase() === 'transfer-encoding').map(([, v]) => v.toLowerCase());
    const cls = headers.filter(([k]) => k.toLowerCase() === 'content-length').map(([, v]) => v);
    if (te.length > 0 && cls.length > 0) throw new WireError('both Transfer-Encoding and Content-Length');
    if (new Set(cls).size > 1) throw new WireError('conflicting Content-Length values');
    if (noBody) return { response: { ...base, body: Buffer.alloc(0), trailers: [], interim, chunked: false }, used: pos };
    if (te.length > 0) {
      if (te.join(',').split(',').map((s) => s.trim()).at(-1) !== 'chunked') throw new WireError(`unsupported Transfer-Encoding ${te.join(',')}`);
      const parts: Buffer[] = [];
      for (;;) {
        const e = lineEnd(buf, pos);
        if (e < 0) {
          if (eof) throw new WireError('truncated chunked body');
          return 'incomplete';
        }
        const sizeText = buf.toString('latin1', pos, e).split(';')[0]!.trim();
        if (!/^[0-9a-fA-F]{1,15}$/.test(sizeText)) throw new WireError(`invalid chunk size ${JSON.stringify(sizeText)}`);
        const size = parseInt(sizeText, 16);
        if (size === 0) {
          const tEnd = buf.indexOf('\r\n\r\n', e, 'latin1');
          if (buf.length >= e + 4 && buf.toString('latin1', e, e + 4) === '\r\n\r\n') {
            return { response: { ...base, body: Buffer.concat(parts), trailers: [], interim, chunked: true }, used: e + 4 };
          }
          if (tEnd < 0) {
            if (eof) throw new WireError('truncated trailer section');
            return 'incomplete';
          }
          const trailers = parseFields(buf.toString('latin1', e + 2, tEnd));
          return { response: { ...base, body: Buffer.concat(parts), trailers, interim, chunked: true }, used: tEnd + 4 };
        }
        if (buf.length < e + 2 + size + 2) {
          if (eof) throw new WireError('truncated chunk');
          return 'incomplete';
        }
        parts.push(buf.subarray(e + 2, e + 2 + size));
        if (buf.toString('latin1', e + 2 + size, e + 4 + size) !== '\r\n') throw new WireError('chunk not followed by CRLF');
        pos = e + 4 + size;
      }
    }
    if (cls.length > 0) {
      if (!/^[0-9]{1,15}$/.test(cls[0]!)) throw new WireError(`invalid Content-Length ${cls[0]}`);
      const n = Number(cls[0]);
      if (buf.length < pos + n) {
        if (eof) throw new WireError('truncated body');
        return 'incomplete';
      }
      return { response: { ...base, body: Buffer.from(buf.subarray(pos, pos + n)), trailers: [], interim, chunked: false }, used: pos + n };
    }
    // Neither: the body runs to the close (RFC 9112 §6.3 rule 8).
    if (!eof) return 'incomplete';
    return { response: { ...base, body: Buffer.from(buf.subarray(pos)), trailers: [], interim, chunked: false }, used: buf.length };
  }
}

/** Reads responses one after another from a byte stream. */
export class WireReader {
  private buf: Buffer = Buffer.alloc(0);
  private eof = false;
  private waiters: Array<() => void> = [];
  /** Resolves once the stream ended or closed. */
  readonly closed: Promise<void>;

  constructor(stream: Readable) {
    stream.on('data', (c: Buffer) => {
      this.buf = this.buf.length === 0 ? c : Buffer.concat([this.buf, c]);
      this.wake();
    });
    let markClosed!: () => void;
    this.closed = new Promise((r) => (markClosed = r));
    const done = (): void => {
      this.eof = true;
      markClosed();
      this.wake();
    };
    stream.once('end', done);
    stream.once('close', done);
    stream.on('error', () => {});
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Bytes received and not consumed by a response yet. */
  get pending(): Buffer {
    return this.buf;
  }

  get ended(): boolean {
    return this.eof;
  }

  /** The next complete response; rejects on invalid bytes, on EOF first, or after `timeoutMs`. */
  async response(method = 'GET', timeoutMs = 10_000): Promise<WireResponse> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const p = parseResponse(this.buf, method, this.eof);
      if (p !== 'incomplete') {
        this.buf = this.buf.subarray(p.used);
        return p.response;
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new WireError(`no complete response within ${timeoutMs} ms (have ${this.buf.length} bytes)`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }
}

/**
 * The text of `s` as it arrives, resolved once `pred` holds for all of it so far (or at its end) —
 * for tests that only need to see a status line or an error answer, not a parsed response.
 */
export function readUntil(s: NodeJS.ReadableStream, pred: (text: string) => boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    s.on('data', (c: Buffer) => {
      text += c.toString();
      if (pred(text)) resolve(text);
    });
    s.on('error', reject);
    s.on('end', () => resolve(text));
  });
}
