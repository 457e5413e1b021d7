// A plaintext TCP listener on 127.0.0.1 whose every connection is carried through one CONNECT
// stream (the waypoint's client side): lets real clients (curl, python3, hey, h2load) talk HTTP
// into a waypoint tunnel as if it were a plain server.

import { once } from 'node:events';
import * as net from 'node:net';
import type { Duplex } from 'node:stream';

/** `connect` opens one CONNECT stream; its close ends the client's socket shortly after (so late bytes still arrive). */
export async function tunnelListener(connect: () => Promise<{ stream: Duplex }>): Promise<{ port: number; close(): void }> {
  const srv = net.createServer({ pauseOnConnect: true, allowHalfOpen: true }, (sock) => {
    sock.on('error', () => {});
    // Small frames (HTTP/2 WINDOW_UPDATE, gRPC pings) must not wait for Nagle + delayed ACK.
    sock.setNoDelay(true);
    connect().then(({ stream }) => {
      stream.on('error', () => {});
      sock.pipe(stream);
      stream.pipe(sock);
      stream.once('close', () => setTimeout(() => sock.destroy(), 100).unref());
      sock.once('close', () => stream.destroy());
      sock.resume();
    }, () => sock.destroy());
  });
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  return { port: (srv.address() as net.AddressInfo).port, close: () => srv.close() };
}
