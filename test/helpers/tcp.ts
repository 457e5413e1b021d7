// TCP test servers and clients: an echo server that records who connected, a SOCKS5 client, and
// helpers to push N bytes through a connection and hash what comes back; the kernel's TCP buffer limits.

import { readFileSync } from 'node:fs';
import { createServer, connect, isIPv4, isIPv6, SocketAddress, type Server, type Socket, type AddressInfo } from 'node:net';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';

export interface EchoServer {
  readonly server: Server;
  readonly port: number;
  readonly host: string;
  /** Remote addresses of accepted connections, in order. */
  readonly peers: string[];
  close(): Promise<void>;
}

/** An echo server (half-close aware: echoes until the client ends, then ends). */
export async function startEchoServer(host: string, port = 0): Promise<EchoServer> {
  const peers: string[] = [];
  const sockets = new Set<Socket>();
  const server = createServer({ allowHalfOpen: true }, (s) => {
    peers.push(`${s.remoteAddress}:${s.remotePort}`);
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    s.pipe(s);
  });
  server.listen(port, host);
  await once(server, 'listening');
  return {
    server,
    host,
    port: (server.address() as AddressInfo).port,
    peers,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/**
 * Connects through a SOCKS5 proxy; resolves with the socket once the proxy reports success. IPv4
 * and IPv6 literals go as address types 1 and 4, anything else (or `asDomain`) as a domain name.
 */
export async function socks5Connect(
  proxy: { host: string; port: number },
  target: { host: string; port: number; asDomain?: boolean },
  localAddress?: string,
): Promise<Socket> {
  const s = connect({ host: proxy.host, port: proxy.port, localAddress, allowHalfOpen: true });
  await once(s, 'connect');
  return socks5Handshake(s, target);
}

/** The SOCKS5 no-auth CONNECT handshake on an already connected socket (e.g. one made in a netns). */
export async function socks5Handshake(s: Socket, target: { host: string; port: number; asDomain?: boolean }): Promise<Socket> {
  s.write(Buffer.from([5, 1, 0]));
  const greet = await readN(s, 2);
  if (greet[1] !== 0) throw new Error(`socks5 method rejected: ${greet[1]}`);
  let addr: Buffer;
  if (!target.asDomain && isIPv4(target.host)) addr = Buffer.from([1, ...target.host.split('.').map(Number)]);
  else if (!target.asDomain && isIPv6(target.host)) addr = Buffer.concat([Buffer.from([4]), ipv6Bytes(target.host)]);
  else addr = Buffer.concat([Buffer.from([3, target.host.length]), Buffer.from(target.host)]);
  const port = Buffer.alloc(2);
  port.writeUInt16BE(target.port);
  s.write(Buffer.concat([Buffer.from([5, 1, 0]), addr, port]));
  const reply = await readN(s, 10);
  if (reply[1] !== 0) {
    s.destroy();
    throw Object.assign(new Error(`socks5 connect failed with reply ${reply[1]}`), { socksReply: reply[1] });
  }
  return s;
}

/** The 16 bytes of an IPv6 literal (any text form, embedded IPv4 tail included). */
function ipv6Bytes(text: string): Buffer {
  let canonical = new SocketAddress({ address: text, family: 'ipv6' }).address;
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(canonical);
  if (v4) canonical = canonical.slice(0, v4.index) + `${((+v4[1]! << 8) | +v4[2]!).toString(16)}:${((+v4[3]! << 8) | +v4[4]!).toString(16)}`;
  const [head = '', tail = ''] = canonical.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = canonical.includes('::') ? [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t] : h;
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

/** Reads exactly n bytes (paused mode) or rejects on end. */
export function readN(s: Socket, n: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const onReadable = (): void => {
      const b = s.read(n) as Buffer | null;
      if (b) {
        done();
        resolve(b);
      }
    };
    const onEnd = (): void => {
      done();
      reject(new Error(`stream ended before ${n} bytes`));
    };
    const done = (): void => {
      s.off('readable', onReadable);
      s.off('end', onEnd);
      s.off('close', onEnd);
    };
    s.on('readable', onReadable);
    s.on('end', onEnd);
    s.on('close', onEnd);
    onReadable();
  });
}

export interface TransferResult {
  readonly sentSha256: string;
  readonly receivedSha256: string;
  readonly receivedBytes: number;
}

/**
 * Writes `bytes` random bytes, half-closes, and reads everything back until EOF. With an echo
 * server on the far side, sent and received hashes must be equal.
 */
export async function echoTransfer(s: Socket, bytes: number): Promise<TransferResult> {
  const sent = createHash('sha256');
  const recv = createHash('sha256');
  let receivedBytes = 0;
  s.on('data', (d: Buffer) => {
    recv.update(d);
    receivedBytes += d.length;
  });
  s.resume();
  const ended = once(s, 'end');
  const chunk = 64 * 1024;
  let left = bytes;
  while (left > 0) {
    const n = Math.min(chunk, left);
    const buf = randomBytes(n);
    sent.update(buf);
    left -= n;
    if (!s.write(buf)) await once(s, 'drain');
  }
  s.end();
  await ended;
  return { sentSha256: sent.digest('hex'), receivedSha256: recv.digest('hex'), receivedBytes };
}

/** A random loopback /24 base like 127.83.17 so parallel tests do not collide. */
export function randomLoopbackPrefix(): string {
  return `127.${10 + Math.floor(Math.random() * 200)}.${Math.floor(Math.random() * 250)}`;
}

/** The maximum of a `min default max` kernel TCP buffer sysctl (tcp_rmem / tcp_wmem), in bytes. */
export function tcpBufferMax(name: 'tcp_rmem' | 'tcp_wmem'): number {
  return Number(readFileSync(`/proc/sys/net/ipv4/${name}`, 'utf8').trim().split(/\s+/)[2]);
}
