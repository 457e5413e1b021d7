// A WebSocket client run inside a client pod's netns by the waypoint netns tests:
// `node pod-ws-client.js <ip> <port> <path> <message...>` sends each message as a text frame, reads
// as many replies, closes, and prints one JSON line (handshake status, accept check, replies).

import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { acceptKey, encodeFrame, FrameReader, OPCODE } from './websocket-frame.js';

/** What one session printed. */
export interface WsSessionResult {
  readonly status: number;
  /** Sec-WebSocket-Accept matched the key sent. */
  readonly acceptOk: boolean;
  readonly headers: Record<string, string>;
  readonly replies: string[];
  readonly closed: boolean;
  readonly error?: string;
}

function main(): void {
  const [host, port, path, ...messages] = process.argv.slice(2);
  const key = randomBytes(16).toString('base64');
  const sock = connect(Number(port), host!);
  const result = { status: 0, acceptOk: false, headers: {} as Record<string, string>, replies: [] as string[], closed: false, error: undefined as string | undefined };
  const done = (): void => {
    process.stdout.write(`${JSON.stringify(result)}\n`);
    process.exit(0);
  };
  setTimeout(() => {
    result.error = 'timeout';
    done();
  }, 10_000).unref();
  sock.on('error', (e) => {
    result.error = e.message;
    done();
  });
  sock.on('close', done);
  sock.on('connect', () => {
    sock.write(`GET ${path} HTTP/1.1\r\nhost: ${host}:${port}\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-key: ${key}\r\nsec-websocket-version: 13\r\n\r\n`);
  });
  let head = Buffer.alloc(0);
  let reader: FrameReader | undefined;
  sock.on('data', (chunk: Buffer) => {
    if (!reader) {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      const lines = head.subarray(0, end).toString().split('\r\n');
      result.status = Number(lines[0]!.split(' ')[1]);
      for (const l of lines.slice(1)) result.headers[l.slice(0, l.indexOf(':')).toLowerCase()] = l.slice(l.indexOf(':') + 1).trim();
      result.acceptOk = result.headers['sec-websocket-accept'] === acceptKey(key);
      if (result.status !== 101) {
        sock.destroy();
        return;
      }
      reader = new FrameReader();
      for (const m of messages) sock.write(encodeFrame(OPCODE.text, Buffer.from(m), true));
      chunk = head.subarray(end + 4);
    }
    for (const f of reader.push(chunk)) {
      if (f.opcode === OPCODE.text) result.replies.push(f.payload.toString());
      if (f.opcode === OPCODE.close) result.closed = true;
      if (f.opcode === OPCODE.text && result.replies.length === messages.length) sock.write(encodeFrame(OPCODE.close, Buffer.from([0x03, 0xe8]), true));
    }
  });
}

main();
