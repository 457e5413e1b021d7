// Test clients that report how an HBONE server refused them: a Node TLS client that opens an
// HTTP/2 CONNECT right after the handshake (as real clients do), and `openssl s_client`.

import * as http2 from 'node:http2';
import * as tls from 'node:tls';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestCert } from './certs.js';

export interface ProbeOutcome {
  /** The client finished its side of the handshake ('secureConnect'). */
  readonly secure: boolean;
  /** First error on the TLS socket (a received alert shows here: ERR_SSL_…_ALERT_…). */
  readonly error?: { readonly code?: string; readonly message: string };
  /** The CONNECT response status, if one came. */
  readonly status?: number;
  /** The server ended the TLS stream without error (close_notify / FIN seen as 'end'). */
  readonly ended: boolean;
}

/**
 * Connects with `options`, sends CONNECT `authority` plus a few bytes as soon as TLS is up, and
 * resolves with what happened first: an error, a response, or the close. Rejects on timeout.
 */
export function probeHbone(options: tls.ConnectionOptions, authority: string, timeoutMs = 10_000): Promise<ProbeOutcome> {
  return new Promise((resolve, reject) => {
    let secure = false;
    let ended = false;
    let done = false;
    let session: http2.ClientHttp2Session | undefined;
    const sock = tls.connect({ ALPNProtocols: ['h2'], checkServerIdentity: () => undefined, ...options });
    const finish = (o: Omit<ProbeOutcome, 'secure' | 'ended'>): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve({ secure, ended, ...o });
      session?.destroy();
      sock.destroy();
    };
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`probe of ${authority} timed out`));
    }, timeoutMs);
    sock.once('secureConnect', () => {
      secure = true;
      session = http2.connect(`https://${authority}`, { createConnection: () => sock });
      session.on('error', () => {}); // the TLS socket's own error is the one reported
      const req = session.request({ ':method': 'CONNECT', ':authority': authority });
      req.on('error', () => {});
      req.once('response', (headers) => finish({ status: Number(headers[':status']) }));
      req.write('hello');
    });
    sock.on('end', () => {
      ended = true;
    });
    sock.once('error', (err: NodeJS.ErrnoException) => finish({ error: { code: err.code, message: err.message } }));
    sock.once('close', () => finish({}));
  });
}

/** Node TLS options presenting `cert` and trusting `rootPem` (TLS 1.3 only, like HBONE). */
export function clientOptions(cert: TestCert, rootPem: string, extra: tls.ConnectionOptions = {}): tls.ConnectionOptions {
  return { cert: cert.certChainPem, key: cert.keyPem, ca: rootPem, minVersion: 'TLSv1.3', ...extra };
}

/**
 * Runs `openssl s_client` with `cert` against host:port (TLS 1.3, ALPN h2), sends an HTTP/2
 * preface, and resolves with its combined output once it exits (stdin closes after `holdMs`).
 */
export async function opensslClient(host: string, port: number, cert: TestCert, rootPem: string, extraArgs: readonly string[] = [], holdMs = 2_000): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'ambit-s-client-'));
  try {
    writeFileSync(join(dir, 'cert.pem'), cert.certChainPem);
    writeFileSync(join(dir, 'key.pem'), cert.keyPem);
    writeFileSync(join(dir, 'root.pem'), rootPem);
    const args = ['s_client', '-connect', `${host}:${port}`, '-tls1_3', '-alpn', 'h2', '-CAfile', join(dir, 'root.pem'), '-cert', join(dir, 'cert.pem'), '-key', join(dir, 'key.pem'), ...extraArgs];
    return await new Promise<string>((resolve, reject) => {
      const p = spawn('openssl', args, { stdio: ['pipe', 'pipe', 'pipe'] });
      let out = '';
      p.stdout.on('data', (d: Buffer) => (out += d.toString()));
      p.stderr.on('data', (d: Buffer) => (out += d.toString()));
      p.once('error', reject);
      p.stdin.on('error', () => {});
      p.stdin.write('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
      const timer = setTimeout(() => p.stdin.end(), holdMs);
      p.once('close', () => {
        clearTimeout(timer);
        resolve(out);
      });
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
