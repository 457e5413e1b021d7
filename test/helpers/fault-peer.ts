// A fault-injecting HBONE peer for tests: a real mTLS 1.3 + HTTP/2 CONNECT client or server whose
// TCP bytes pass through a tap, so it can fail below TLS the way crashed or cut-off peers do.
//
// Faults (inject): 'fin' = TCP FIN with no TLS close_notify and no GOAWAY (a killed process);
// 'goaway-fin' = HTTP/2 GOAWAY(NO_ERROR), then FIN as soon as it is on the wire; 'rst' = TCP RST;
// 'silent' = the peer keeps its socket but drops every byte both ways (a partitioned host).

import * as http2 from 'node:http2';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Duplex } from 'node:stream';
import { generateKeyPair, issueCertificate, privateKeyToPem } from '../../src/identity/x509.js';
import type { TestCert } from './certs.js';
import { hboneTlsBase } from './hbone-tls.js';

export type Fault = 'fin' | 'goaway-fin' | 'rst' | 'silent';

/** A leaf for `spiffeId` signed by the builtin CA root that agents sharing `stateDir` trust. */
export async function meshCertFromStateDir(stateDir: string, spiffeId: string): Promise<TestCert> {
  const certPem = readFileSync(join(stateDir, 'root-cert.pem'), 'utf8');
  const keyPem = readFileSync(join(stateDir, 'root-key.pem'), 'utf8');
  const keys = await generateKeyPair();
  const now = Date.now();
  const leaf = await issueCertificate({
    ca: { certPem, keyPem },
    publicKey: keys.publicKey,
    uris: [spiffeId],
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + 3600_000),
  });
  return { certChainPem: leaf, keyPem: privateKeyToPem(keys.privateKey), rootPem: certPem };
}

/**
 * Relays bytes between a TCP socket and the JS Duplex that TLS runs over. Faults act on the TCP
 * socket directly, underneath TLS and HTTP/2, so neither layer gets to say goodbye.
 */
export class Tap {
  readonly inner: Duplex;
  private silent = false;
  private finished = false;

  constructor(readonly tcp: net.Socket) {
    this.inner = new Duplex({
      read: () => {
        tcp.resume();
      },
      write: (chunk: Buffer, _enc, cb) => {
        if (!this.silent && !this.finished && !tcp.destroyed && tcp.writable) tcp.write(chunk);
        cb();
      },
      final: (cb) => {
        if (!this.silent && !this.finished && !tcp.destroyed) tcp.end();
        cb();
      },
      destroy: (err, cb) => {
        tcp.destroy();
        cb(err);
      },
    });
    tcp.on('data', (d: Buffer) => {
      if (this.silent || this.finished) return;
      if (!this.inner.push(d)) tcp.pause();
    });
    tcp.on('end', () => {
      if (!this.silent && !this.finished) this.inner.push(null);
    });
    tcp.on('close', () => this.inner.destroy());
    tcp.on('error', () => {});
    this.inner.on('error', () => {});
  }

  /** FIN now, without close_notify; what the peer sends afterwards is read and discarded. */
  fin(): void {
    this.finished = true;
    if (!this.tcp.destroyed && this.tcp.writable) this.tcp.end();
    this.tcp.resume();
  }

  rst(): void {
    this.finished = true;
    if (!this.tcp.destroyed) this.tcp.resetAndDestroy();
  }

  /** Drops every byte both ways; the socket stays open (no FIN, no RST). */
  blackhole(): void {
    this.silent = true;
    this.tcp.resume();
  }

  /** Closes the TCP socket (test cleanup). */
  destroy(): void {
    this.tcp.destroy();
  }
}

/** Injects `fault` on one HBONE connection (its tap and HTTP/2 session). */
export function injectFault(tap: Tap, session: http2.Http2Session, fault: Fault): Promise<void> {
  switch (fault) {
    case 'fin':
      tap.fin();
      return Promise.resolve();
    case 'rst':
      tap.rst();
      return Promise.resolve();
    case 'silent':
      tap.blackhole();
      return Promise.resolve();
    case 'goaway-fin': {
      const before = tap.tcp.bytesWritten;
      session.goaway(http2.constants.NGHTTP2_NO_ERROR);
      // FIN once the GOAWAY frame has reached the TCP socket (it goes through TLS asynchronously).
      return new Promise((resolve) => {
        const poll = setInterval(() => {
          if (tap.tcp.bytesWritten > before || tap.tcp.destroyed) {
            clearInterval(poll);
            tap.fin();
            resolve();
          }
        }, 2);
      });
    }
  }
}

async function dialTcp(host: string, port: number, localAddress: string | undefined): Promise<net.Socket> {
  const tcp = net.connect({ host, port, localAddress, noDelay: true });
  await new Promise<void>((resolve, reject) => {
    tcp.once('connect', resolve);
    tcp.once('error', reject);
  });
  return tcp;
}


export interface FaultClient {
  readonly tap: Tap;
  readonly session: http2.ClientHttp2Session;
  /** Opens a CONNECT stream and resolves once the server answered; rejects on a non-200. */
  connect(authority: string): Promise<http2.ClientHttp2Stream>;
  inject(fault: Fault): Promise<void>;
  destroy(): void;
}

/**
 * An HBONE client presenting `cert`; the server's identity is not checked (tests target agents).
 * `connectTcp` replaces the default dial (e.g. a socket made inside a network namespace).
 */
export async function faultClient(opts: {
  host: string;
  port: number;
  localAddress?: string;
  cert: TestCert;
  connectTcp?: () => Promise<net.Socket>;
}): Promise<FaultClient> {
  const tcp = opts.connectTcp ? await opts.connectTcp() : await dialTcp(opts.host, opts.port, opts.localAddress);
  const tap = new Tap(tcp);
  const sock = tls.connect({ ...hboneTlsBase(opts.cert), socket: tap.inner, ALPNProtocols: ['h2'], checkServerIdentity: () => undefined });
  sock.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    sock.once('secureConnect', resolve);
    sock.once('error', reject);
  });
  const session = http2.connect(`https://${opts.host}:${opts.port}`, { createConnection: () => sock });
  session.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    session.once('remoteSettings', () => resolve());
    session.once('close', () => reject(new Error('session closed before SETTINGS')));
  });
  return {
    tap,
    session,
    connect(authority) {
      const stream = session.request({ ':method': 'CONNECT', ':authority': authority }, { endStream: false });
      stream.on('error', () => {});
      return new Promise((resolve, reject) => {
        stream.once('response', (h) => {
          if (h[':status'] === 200) resolve(stream);
          else reject(new Error(`CONNECT ${authority}: status ${String(h[':status'])}`));
        });
        stream.once('close', () => reject(new Error(`CONNECT ${authority}: stream closed, rst ${stream.rstCode}`)));
      });
    },
    inject: (fault) => injectFault(tap, session, fault),
    destroy() {
      session.destroy();
      tap.destroy();
    },
  };
}

export interface FaultServerConnection {
  readonly tap: Tap;
  readonly session: http2.ServerHttp2Session;
}

export interface FaultServer {
  readonly host: string;
  readonly port: number;
  /** Live connections, newest last. */
  readonly connections: FaultServerConnection[];
  /** Number of TCP connections accepted so far. */
  readonly accepted: number;
  /** The next this-many CONNECT streams are refused with RST_STREAM(REFUSED_STREAM), unanswered. */
  refuseNext: number;
  /** Stops listening and cuts every connection (a crash); `listen()` brings it back on the same port. */
  crash(): Promise<void>;
  listen(): Promise<void>;
  close(): Promise<void>;
}

export type FaultStreamHandler = (stream: http2.ServerHttp2Stream, conn: FaultServerConnection, headers: http2.IncomingHttpHeaders) => void;

/** Opens the listening socket for a fault server; `onConnection` takes every accepted socket. */
export type FaultListen = (onConnection: (tcp: net.Socket) => void) => Promise<net.Server>;

/**
 * An HBONE server presenting `cert` that answers every CONNECT with 200 and hands the stream to
 * `onStream` (default: echo). Client certificates are requested but not verified. `open` replaces
 * the default listener (e.g. one made inside a network namespace).
 */
export async function faultServer(opts: {
  host: string;
  port: number;
  cert: TestCert;
  onStream?: FaultStreamHandler;
  open?: FaultListen;
}): Promise<FaultServer> {
  const ctx = tls.createSecureContext(hboneTlsBase(opts.cert));
  const connections: FaultServerConnection[] = [];
  const sockets = new Set<net.Socket>();
  let accepted = 0;
  const control = { refuseNext: 0 };
  const h2 = http2.createServer();
  // Set around h2.emit('connection') so the synchronous 'session' event can pick it up.
  let pendingTap: Tap | undefined;
  h2.on('session', (session: http2.ServerHttp2Session) => {
    const tap = pendingTap;
    session.on('error', () => {});
    if (!tap) return;
    const conn = { tap, session };
    connections.push(conn);
    session.once('close', () => {
      const i = connections.indexOf(conn);
      if (i >= 0) connections.splice(i, 1);
    });
  });
  h2.on('stream', (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => {
    stream.on('error', () => {});
    const conn = connections.find((c) => c.session === stream.session);
    if (!conn || control.refuseNext > 0) {
      if (conn) control.refuseNext--;
      stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
      return;
    }
    stream.respond({ ':status': 200 });
    if (opts.onStream) opts.onStream(stream, conn, headers);
    else stream.pipe(stream);
  });
  const onConnection = (tcp: net.Socket): void => {
    accepted++;
    sockets.add(tcp);
    tcp.once('close', () => sockets.delete(tcp));
    const tap = new Tap(tcp);
    const sock = new tls.TLSSocket(tap.inner as unknown as net.Socket, {
      isServer: true,
      secureContext: ctx,
      requestCert: true,
      rejectUnauthorized: false,
      ALPNProtocols: ['h2'],
    });
    sock.on('error', () => {});
    sock.once('secure', () => {
      // As HboneServer does: a server TLSSocket never emits 'secureConnect', which h2 waits for.
      (sock as tls.TLSSocket & { secureConnecting: boolean }).secureConnecting = false;
      pendingTap = tap;
      try {
        h2.emit('connection', sock);
      } finally {
        pendingTap = undefined;
      }
    });
  };
  const open: FaultListen =
    opts.open ??
    ((handle) =>
      new Promise((resolve, reject) => {
        const server = net.createServer(handle);
        server.once('error', reject);
        server.listen({ host: opts.host, port: opts.port }, () => {
          server.off('error', reject);
          resolve(server);
        });
      }));
  let server = await open(onConnection);
  const listen = async (): Promise<void> => {
    server = await open(onConnection);
  };
  const port = (server.address() as net.AddressInfo).port;
  const crash = async (): Promise<void> => {
    const closed = new Promise<void>((resolve) => (server.listening ? server.close(() => resolve()) : resolve()));
    for (const s of sockets) s.destroy();
    await closed;
  };
  return {
    host: opts.host,
    port,
    connections,
    get accepted() {
      return accepted;
    },
    get refuseNext() {
      return control.refuseNext;
    },
    set refuseNext(n: number) {
      control.refuseNext = n;
    },
    crash,
    listen,
    close: crash,
  };
}
