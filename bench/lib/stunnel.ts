// The stunnel reference path: a two-hop mutual-TLS tunnel (client side: plaintext in, TLS 1.3 out;
// server side: TLS in with a verified client certificate, plaintext to the app), logging at warning.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MeshError } from '../../src/common/errors.js';
import { runHere, spawnTool, type RunIn, type ToolProcess } from './run-in.js';

/** The certificate material both hops use (the same PKI as the mesh's workloads). */
export interface StunnelTls {
  /** Leaf (+ intermediates) PEM. */
  readonly certChainPem: string;
  readonly keyPem: string;
  /** Trust anchor PEM (the mesh root). */
  readonly rootPem: string;
}

export type StunnelRole = 'client' | 'server';

/** stunnel's `debug` levels (syslog names, 0..7; see `man stunnel`, option `debug`). */
export type StunnelLogLevel = 'emerg' | 'alert' | 'crit' | 'err' | 'warning' | 'notice' | 'info' | 'debug';

/** stunnel's two log levels: of the process itself, and of the connections its service carries. */
export interface StunnelLogging {
  /**
   * Global section: messages of the main thread (start-up, configuration, shutdown).
   * `notice` keeps the start-up lines, among them "Configuration successful" that start() waits for.
   */
  readonly global: StunnelLogLevel;
  /**
   * Service section: messages of each connection's thread. stunnel's default, notice (5), writes
   * 4-5 lines per connection (accepted, certificate accepted, connected, closed with byte counts);
   * warning (4) keeps warnings and errors (refused certificates, failed handshakes) and drops them.
   */
  readonly service: StunnelLogLevel;
}

/**
 * The bench's logging for stunnel, the equivalent of the agents' `--log-level warn`: warnings and
 * errors only on the data path, no line per connection. At notice the per-connection lines cut
 * stunnel's new connections/s from about 1,100 to about 120 (issue "Performance, round 2"). The
 * start-up notices are a handful of lines per process, none on the data path.
 */
export const BENCH_STUNNEL_LOGGING: StunnelLogging = { global: 'notice', service: 'warning' };

export interface StunnelOptions {
  /**
   * client: plaintext accepted here, TLS to `connect` (the server side).
   * server: TLS accepted here (client certificate required and verified), plaintext to `connect` (the app).
   */
  readonly role: StunnelRole;
  /** `host:port` to listen on. */
  readonly accept: string;
  /** `host:port` to connect to. */
  readonly connect: string;
  readonly tls: StunnelTls;
  /**
   * Parent of the private directory holding the config and PEM files (default the system temp
   * dir). A harness passes its own work dir so that removing it also removes the key files of an
   * instance whose close() never ran (interrupted start-up).
   */
  readonly filesParentDir?: string;
  /** Log levels (default BENCH_STUNNEL_LOGGING). */
  readonly logging?: StunnelLogging;
}

export interface StunnelFiles {
  readonly dir: string;
  readonly configPath: string;
}

/**
 * The stunnel configuration for one side. Only what the benchmark requires is set: TLS 1.3 only,
 * chain verification against our root (on the server this also makes the client certificate
 * mandatory: verifyChain implies requireCert), foreground with no pid file (several instances run
 * side by side), and the log levels (StunnelLogging). Everything else (ciphers, session cache,
 * threads) is stunnel's default.
 */
export function stunnelConfig(opts: StunnelOptions, files: { cert: string; key: string; ca: string }): string {
  const logging = opts.logging ?? BENCH_STUNNEL_LOGGING;
  return [
    '; written by bench/lib/stunnel.ts',
    'foreground = yes',
    'pid =',
    `debug = ${logging.global}`,
    '',
    `[ambit-bench-${opts.role}]`,
    `debug = ${logging.service}`,
    ...(opts.role === 'client' ? ['client = yes'] : []),
    `accept = ${opts.accept}`,
    `connect = ${opts.connect}`,
    `cert = ${files.cert}`,
    `key = ${files.key}`,
    `CAfile = ${files.ca}`,
    'verifyChain = yes',
    'sslVersionMin = TLSv1.3',
    '',
  ].join('\n');
}

/** Writes the PEM files and the config into a fresh private directory. */
export function writeStunnelFiles(
  opts: StunnelOptions,
  dir = mkdtempSync(join(opts.filesParentDir ?? tmpdir(), `ambit-stunnel-${opts.role}-`)),
): StunnelFiles {
  const files = { cert: join(dir, 'cert-chain.pem'), key: join(dir, 'key.pem'), ca: join(dir, 'root-cert.pem') };
  writeFileSync(files.cert, opts.tls.certChainPem, { mode: 0o600 });
  writeFileSync(files.key, opts.tls.keyPem, { mode: 0o600 });
  writeFileSync(files.ca, opts.tls.rootPem, { mode: 0o600 });
  const configPath = join(dir, 'stunnel.conf');
  writeFileSync(configPath, stunnelConfig(opts, files), { mode: 0o600 });
  return { dir, configPath };
}

/** One running stunnel process (one side of the tunnel). */
export class StunnelInstance {
  private proc: ToolProcess | null = null;
  private files: StunnelFiles | null = null;

  constructor(
    readonly opts: StunnelOptions,
    private readonly runIn: RunIn = runHere,
  ) {}

  /** The process id (for CPU and memory sampling); valid after start(). */
  get pid(): number {
    return this.proc?.pid ?? -1;
  }

  /** stunnel's log so far (stderr in foreground mode): handshake failures show here. */
  log(): string {
    return this.proc?.output() ?? '';
  }

  /** Resolves once the log matches `pattern` (e.g. a handshake failure being reported). */
  waitForLog(pattern: RegExp, timeoutMs = 5000): Promise<void> {
    if (this.proc === null) return Promise.reject(new MeshError('BENCH_TOOL', 'stunnel is not started'));
    return this.proc.waitFor(pattern, timeoutMs);
  }

  /** Writes the files and starts stunnel; resolves once it reports its configuration loaded and bound. */
  async start(): Promise<void> {
    this.files = writeStunnelFiles(this.opts);
    this.proc = spawnTool(this.runIn, ['stunnel', this.files.configPath]);
    try {
      await this.proc.waitFor(/Configuration successful/, 10_000);
    } catch (e) {
      await this.close();
      throw e;
    }
  }

  /** SIGTERM (stunnel closes its listeners and exits), then removes the files. */
  async close(): Promise<void> {
    await this.proc?.stop();
    this.removeFiles();
  }

  destroy(): void {
    this.proc?.child.kill('SIGKILL');
    this.removeFiles();
  }

  private removeFiles(): void {
    if (this.files) rmSync(this.files.dir, { recursive: true, force: true });
    this.files = null;
  }
}

/** Starts one side. */
export async function startStunnel(runIn: RunIn, opts: StunnelOptions): Promise<StunnelInstance> {
  const s = new StunnelInstance(opts, runIn);
  await s.start();
  return s;
}

export interface StunnelPath {
  readonly client: StunnelInstance;
  readonly server: StunnelInstance;
  close(): Promise<void>;
}

/**
 * Both hops: the server side first (it must listen before the client side connects to it).
 * app ← server side (serverAccept) ← TLS 1.3 mTLS ← client side (clientAccept) ← plaintext client.
 */
export async function startStunnelPath(opts: {
  readonly serverRunIn: RunIn;
  readonly clientRunIn: RunIn;
  readonly serverTls: StunnelTls;
  readonly clientTls: StunnelTls;
  /** Where the server side listens, e.g. `10.0.2.2:15443`. */
  readonly serverAccept: string;
  /** Where the client side connects to reach it (usually serverAccept). */
  readonly serverAddress?: string;
  /** The app, e.g. `127.0.0.1:8080` in the server netns. */
  readonly app: string;
  /** Both hops' log levels (default BENCH_STUNNEL_LOGGING). */
  readonly logging?: StunnelLogging;
  /** Where plaintext clients connect, e.g. `127.0.0.1:15080` in the client netns. */
  readonly clientAccept: string;
  /** See StunnelOptions.filesParentDir. */
  readonly filesParentDir?: string;
}): Promise<StunnelPath> {
  const files = {
    ...(opts.filesParentDir === undefined ? {} : { filesParentDir: opts.filesParentDir }),
    ...(opts.logging === undefined ? {} : { logging: opts.logging }),
  };
  const server = await startStunnel(opts.serverRunIn, { role: 'server', accept: opts.serverAccept, connect: opts.app, tls: opts.serverTls, ...files });
  let client: StunnelInstance;
  try {
    client = await startStunnel(opts.clientRunIn, {
      role: 'client',
      accept: opts.clientAccept,
      connect: opts.serverAddress ?? opts.serverAccept,
      tls: opts.clientTls,
      ...files,
    });
  } catch (e) {
    await server.close();
    throw e;
  }
  return {
    client,
    server,
    close: async () => {
      await Promise.all([client.close(), server.close()]);
    },
  };
}
