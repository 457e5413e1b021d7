// One outbound HBONE connection: TCP (NODELAY, connect timeout) → mTLS 1.3 (ALPN h2, identity
// check before any HTTP/2 byte) → HTTP/2 session ready once the peer's SETTINGS arrived.

import * as http2 from 'node:http2';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { MeshError, isMeshError } from '../common/errors.js';
import type { Http2Config } from '../config/types.js';
import { checkServerSpiffeIdentity } from '../tls/index.js';
import { formatAuthority } from './headers.js';
import { sessionInfoOf, type HboneSessionInfo } from './session-info.js';
import type { SessionTransport } from './session-liveness.js';

/** Client SETTINGS_MAX_HEADER_LIST_SIZE (ztunnel src/proxy/h2/client.rs). */
export const CLIENT_MAX_HEADER_LIST_BYTES = 16 * 1024;

/**
 * Opens the outer TCP connection and resolves once it is connected. The default dials in the
 * agent's namespace; in-pod proxies pass one that dials from inside the pod's network namespace.
 */
export type TcpConnector = (target: { readonly ip: string; readonly port: number }, localAddress?: string) => Promise<net.Socket>;

export interface DialOptions {
  readonly nextHop: { readonly ip: string; readonly port: number };
  readonly localAddress?: string;
  readonly connectTcp?: TcpConnector;
  /** Fresh per dial: the workload certificate may have rotated since the last one. */
  readonly tls: () => tls.ConnectionOptions;
  /** If set, the peer leaf's one SPIFFE identity must be one of these (checked before HTTP/2 starts). */
  readonly expectedSans?: readonly string[];
  readonly http2: Http2Config;
  readonly connectTimeoutMs: number;
  /** Lets the pool abort dials in flight on close/destroy; the returned function untracks. */
  readonly track: (socket: net.Socket) => () => void;
}

export interface DialedSession {
  readonly session: http2.ClientHttp2Session;
  readonly info: HboneSessionInfo;
  /** The sockets under the session, which the owner watches and tears down (session-liveness.ts). */
  readonly transport: SessionTransport;
}

/** Enough session memory (MB, Node's unit) for a full connection window plus framing slack. */
export function sessionMemoryMb(h: Http2Config): number {
  return Math.max(32, Math.ceil((2 * h.connectionWindowBytes) / (1024 * 1024)) + 16);
}

function classifyTlsError(err: unknown, target: string): MeshError {
  if (isMeshError(err)) return err;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return new MeshError('IDENTITY_MISMATCH', `peer ${target} presented an unexpected identity`, { cause: err });
  }
  return new MeshError('TLS_HANDSHAKE', `tls handshake with ${target} failed: ${(err as Error)?.message ?? String(err)}`, { cause: err });
}

/**
 * Dials and handshakes. Rejects with CONNECT_TIMEOUT (TCP), UPSTREAM_CONNECT (refused etc.),
 * TLS_HANDSHAKE, IDENTITY_MISMATCH or H2_ERROR; on rejection every socket is destroyed.
 */
export function dialHbone(o: DialOptions): Promise<DialedSession> {
  const target = formatAuthority(o.nextHop.ip, o.nextHop.port);
  return new Promise<DialedSession>((resolve, reject) => {
    let phase: 'tcp' | 'tls' | 'h2' | 'done' = 'tcp';
    let tlsSocket: tls.TLSSocket | undefined;
    let session: http2.ClientHttp2Session | undefined;
    let tcp: net.Socket | undefined;
    let untrack: () => void = () => undefined;

    const fail = (err: MeshError): void => {
      if (phase === 'done') return;
      phase = 'done';
      clearTimeout(timer);
      untrack();
      session?.destroy();
      tlsSocket?.destroy();
      tcp?.destroy();
      reject(err);
    };
    // One deadline covers TCP, TLS and the SETTINGS exchange; only the TCP part means "network".
    const timer = setTimeout(() => {
      if (phase === 'tcp') {
        fail(new MeshError('CONNECT_TIMEOUT', `connect to ${target} timed out; maybe a NetworkPolicy is blocking HBONE port ${o.nextHop.port}`));
      } else {
        fail(new MeshError('TLS_HANDSHAKE', `hbone handshake with ${target} timed out after ${o.connectTimeoutMs} ms`));
      }
    }, o.connectTimeoutMs);

    const onTcpConnected = (sock: net.Socket): void => {
      if (phase !== 'tcp') {
        sock.destroy();
        return;
      }
      phase = 'tls';
      let options: tls.ConnectionOptions;
      try {
        options = o.tls();
      } catch (err) {
        fail(new MeshError('TLS_HANDSHAKE', `no tls options for ${target}: ${(err as Error).message}`, { cause: err }));
        return;
      }
      // `host` only feeds checkServerIdentity's hostname argument; SNI is not sent for an IP.
      tlsSocket = tls.connect({ ALPNProtocols: ['h2'], ...options, socket: sock, host: o.nextHop.ip });
      tlsSocket.on('error', (err) => {
        if (phase === 'tls') fail(classifyTlsError(err, target));
        else if (phase === 'h2') fail(new MeshError('TLS_HANDSHAKE', `hbone peer ${target} dropped the connection: ${err.message}`, { cause: err }));
      });
      tlsSocket.once('secureConnect', () => onSecure(tlsSocket!));
    };

    if (o.connectTcp) {
      o.connectTcp(o.nextHop, o.localAddress).then(
        (sock) => {
          tcp = sock;
          untrack = o.track(sock);
          sock.setNoDelay(true);
          onTcpConnected(sock);
        },
        (err: unknown) => {
          if (phase === 'tcp') fail(new MeshError('UPSTREAM_CONNECT', `connect to ${target} failed: ${(err as Error).message}`, { cause: err }));
        },
      );
    } else {
      const sock = net.connect({ host: o.nextHop.ip, port: o.nextHop.port, localAddress: o.localAddress, noDelay: true });
      tcp = sock;
      untrack = o.track(sock);
      sock.on('error', (err) => {
        if (phase === 'tcp') fail(new MeshError('UPSTREAM_CONNECT', `connect to ${target} failed: ${err.message}`, { cause: err }));
      });
      sock.once('connect', () => onTcpConnected(sock));
    }

    const onSecure = (sock: tls.TLSSocket): void => {
      if (phase !== 'tls') return;
      if (sock.alpnProtocol !== 'h2') {
        fail(new MeshError('TLS_HANDSHAKE', `hbone peer ${target} did not negotiate ALPN h2`));
        return;
      }
      if (o.expectedSans) {
        // The same rule as the TLS options' checkServerIdentity, in case a caller's options lack it.
        const refused = checkServerSpiffeIdentity(sock.getPeerCertificate(), o.expectedSans);
        if (refused) {
          fail(new MeshError(isMeshError(refused) ? refused.code : 'IDENTITY_MISMATCH', `peer ${target}: ${refused.message}`, { cause: refused }));
          return;
        }
      }
      phase = 'h2';
      const h = o.http2;
      const s = http2.connect(`https://${target}`, {
        createConnection: () => sock,
        maxSessionMemory: sessionMemoryMb(h),
        settings: {
          initialWindowSize: h.streamWindowBytes,
          maxFrameSize: h.frameSizeBytes,
          enablePush: false,
          maxHeaderListSize: CLIENT_MAX_HEADER_LIST_BYTES,
        },
      });
      session = s;
      s.on('error', (err) => {
        if (phase === 'h2') fail(new MeshError('H2_ERROR', `http/2 with ${target} failed: ${err.message}`, { cause: err }));
      });
      // A server that rejects our certificate (checked after TLS 1.3 Finished) closes before SETTINGS.
      s.once('close', () => {
        if (phase === 'h2') fail(new MeshError('TLS_HANDSHAKE', `hbone peer ${target} closed the connection before HTTP/2 SETTINGS (client certificate rejected?)`));
      });
      s.once('remoteSettings', () => {
        if (phase !== 'h2') return;
        phase = 'done';
        clearTimeout(timer);
        untrack();
        // Connection-level receive window; stream windows come from SETTINGS
        // (ztunnel src/proxy/h2/client.rs).
        try {
          s.setLocalWindowSize(h.connectionWindowBytes);
        } catch {
          // Only fails on a destroyed session, which the pool's close handler cleans up.
        }
        resolve({ session: s, info: sessionInfoOf(sock), transport: { tls: sock, tcp: tcp ?? sock } });
      });
    };
  });
}
