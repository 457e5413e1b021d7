// The JSON echo mode of the pod server (`--json`), for the waypoint netns tests: every request is
// answered with what the backend saw and logged as one JSON line on stdout; WebSocket echo on Upgrade.
//
// Query switches: `status=N` answers N, `delay=MS` waits before answering (both only in pod `only`
// when given), `header=name:value` (repeatable) adds a response header, `size=N` answers N pattern
// bytes instead of JSON (digest in x-body-sha256). Every answer carries `x-pod` and `x-version`.

import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { acceptKey, encodeFrame, FrameReader, OPCODE } from './websocket-frame.js';

/** What the backend saw of one request: the body of every JSON answer and of its stdout line. */
export interface SeenRequest {
  readonly event: 'request' | 'websocket' | 'grpc';
  readonly pod: string;
  readonly version: string;
  readonly method: string;
  /** The request target as received (path and query). */
  readonly url: string;
  readonly httpVersion: string;
  /** Header field lines, names lower case, each line its own value (duplicates kept). */
  readonly headers: Record<string, string[]>;
  /** The request body as text, or '' when longer than BODY_ECHO_LIMIT (see bodyBytes/bodySha256). */
  readonly body: string;
  readonly bodyBytes?: number;
  readonly bodySha256?: string;
  /** The peer address the server socket sees. */
  readonly client: string;
  /** Milliseconds since the epoch when the head arrived. */
  readonly at: number;
}

export interface EchoIdentity {
  readonly pod: string;
  readonly version: string;
}

/** rawHeaders → lower-case name → values in arrival order. */
export function headerLines(raw: readonly string[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (let i = 0; i + 1 < raw.length; i += 2) (out[raw[i]!.toLowerCase()] ??= []).push(raw[i + 1]!);
  return out;
}

/** Bodies up to this size are echoed as text; larger ones only by size and digest. */
const BODY_ECHO_LIMIT = 64 * 1024;

function seen(id: EchoIdentity, event: SeenRequest['event'], req: IncomingMessage, body: Buffer): SeenRequest {
  return {
    event, pod: id.pod, version: id.version, method: req.method ?? '', url: req.url ?? '', httpVersion: req.httpVersion,
    headers: headerLines(req.rawHeaders),
    body: body.length <= BODY_ECHO_LIMIT ? body.toString() : '',
    bodyBytes: body.length,
    bodySha256: createHash('sha256').update(body).digest('hex'),
    client: (req.socket.remoteAddress ?? '').replace(/^::ffff:/, ''), at: Date.now(),
  };
}

/** `size` bytes of a fixed pattern: what `?size=N` answers (the client checks x-body-sha256). */
export function patternBody(size: number): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = (i * 31 + 7) & 0xff;
  return b;
}

/** One line per event; stdout is the test's view of the backend (counts, headers, mirrors). */
export function logSeen(s: SeenRequest): void {
  process.stdout.write(`${JSON.stringify(s)}\n`);
}

export function jsonEchoHandler(id: EchoIdentity): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const s = seen(id, 'request', req, Buffer.concat(chunks));
      logSeen(s);
      const q = new URL(req.url ?? '/', 'http://x').searchParams;
      const mine = q.get('only') === null || q.get('only') === id.pod;
      const status = mine ? Number(q.get('status') ?? 200) : 200;
      const delay = mine ? Number(q.get('delay') ?? 0) : 0;
      const answer = (): void => {
        if (res.destroyed) return;
        res.setHeader('content-type', 'application/json');
        res.setHeader('x-pod', id.pod);
        res.setHeader('x-version', id.version);
        for (const h of q.getAll('header')) {
          const at = h.indexOf(':');
          if (at > 0) res.appendHeader(h.slice(0, at), h.slice(at + 1));
        }
        res.statusCode = Number.isInteger(status) && status >= 200 && status <= 599 ? status : 200;
        const size = Number(q.get('size') ?? -1);
        if (Number.isInteger(size) && size >= 0) {
          const out = patternBody(size);
          res.setHeader('content-type', 'application/octet-stream');
          res.setHeader('x-body-sha256', createHash('sha256').update(out).digest('hex'));
          res.end(out);
          return;
        }
        res.end(`${JSON.stringify(s)}\n`);
      };
      if (delay > 0) setTimeout(answer, delay);
      else answer();
    });
  };
}

/** WebSocket echo (RFC 6455): each text frame comes back as `<pod>:<text>`; close is echoed. */
export function webSocketEcho(id: EchoIdentity): (req: IncomingMessage, socket: Duplex, head: Buffer) => void {
  return (req, socket, head) => {
    socket.on('error', () => undefined);
    const key = req.headers['sec-websocket-key'];
    if (req.headers.upgrade?.toLowerCase() !== 'websocket' || typeof key !== 'string') {
      socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
      return;
    }
    logSeen(seen(id, 'websocket', req, Buffer.alloc(0)));
    socket.write(
      'HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\n' +
        `sec-websocket-accept: ${acceptKey(key)}\r\nx-pod: ${id.pod}\r\n\r\n`,
    );
    const reader = new FrameReader();
    const onData = (chunk: Buffer): void => {
      for (const f of reader.push(chunk)) {
        if (f.opcode === OPCODE.text) socket.write(encodeFrame(OPCODE.text, Buffer.from(`${id.pod}:${f.payload.toString()}`), false));
        else if (f.opcode === OPCODE.ping) socket.write(encodeFrame(OPCODE.pong, f.payload, false));
        else if (f.opcode === OPCODE.close) socket.end(encodeFrame(OPCODE.close, f.payload, false));
      }
    };
    socket.on('data', onData);
    if (head.length > 0) onData(head);
  };
}
