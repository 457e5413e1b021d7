// The built-in CA: a self-signed EC P-256 root created on first start in a state directory and
// reused afterwards, which signs workload CSRs locally (no control plane needed).

import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import type { Logger } from '../common/log.js';
import { MeshError } from '../common/errors.js';
import type { LocalCa } from './ca-client.js';
import { signServerCertificate, signWorkloadCsr } from './csr-signer.js';
import { certValidity, createRootCa, type SigningCa } from './x509.js';

export const BUILTIN_ROOT_CERT_FILE = 'root-cert.pem';
export const BUILTIN_ROOT_KEY_FILE = 'root-key.pem';
/** Lifetime of a newly created root: 10 years (ms). */
const ROOT_VALIDITY_MS = 10 * 365 * 24 * 3600_000;

export interface BuiltinCaOptions {
  readonly stateDir: string;
  /** Root subject `O=<trustDomain>`; default `ambit`. */
  readonly trustDomain?: string | undefined;
  readonly logger: Logger;
  /** ms since the epoch; default Date.now. */
  readonly now?: () => number;
}

interface LoadedRoot {
  readonly ca: SigningCa;
  readonly notAfterMs: number;
}

export class BuiltinCaClient implements LocalCa {
  readonly name = 'builtin';
  readonly #root: LoadedRoot;
  readonly #now: () => number;
  #closed = false;

  private constructor(root: LoadedRoot, now: () => number) {
    this.#root = root;
    this.#now = now;
  }

  /** Loads the root from `stateDir`, creating it (dir 0700, key 0600) when neither file exists. */
  static async open(options: BuiltinCaOptions): Promise<BuiltinCaClient> {
    const now = options.now ?? Date.now;
    const certPath = join(options.stateDir, BUILTIN_ROOT_CERT_FILE);
    const keyPath = join(options.stateDir, BUILTIN_ROOT_KEY_FILE);
    const certPem = await readOptional(certPath);
    const keyPem = await readOptional(keyPath);
    let root: LoadedRoot;
    if (certPem === undefined && keyPem === undefined) {
      root = await createRoot(options, certPath, keyPath, now());
      options.logger.info({ stateDir: options.stateDir }, 'created built-in CA root');
    } else {
      if (certPem === undefined) {
        throw new MeshError('CA_CONFIG', `built-in CA: ${certPath} is missing but ${keyPath} exists; remove both to create a new root`);
      }
      if (keyPem === undefined) {
        throw new MeshError('CA_CONFIG', `built-in CA: ${keyPath} is missing but ${certPath} exists; remove both to create a new root`);
      }
      root = loadRoot(certPem, keyPem, certPath, keyPath, now());
      options.logger.info({ stateDir: options.stateDir }, 'loaded built-in CA root');
    }
    return new BuiltinCaClient(root, now);
  }

  /** The root certificate PEM (the trust bundle every issued chain ends with). */
  get rootCertPem(): string {
    return this.#root.ca.certPem;
  }

  /** The root signs leaves directly: no intermediates. */
  get intermediatesPem(): readonly string[] {
    return [];
  }

  async issueServerCertificate(names: readonly string[], ttlSeconds: number): Promise<{ certChainPem: string; keyPem: string }> {
    if (this.#closed) throw new MeshError('CA_ERROR', 'built-in CA is closed');
    const { leafPem, keyPem } = await signServerCertificate({ ca: this.#root.ca, caNotAfterMs: this.#root.notAfterMs, names, ttlSeconds, nowMs: this.#now() });
    return { certChainPem: leafPem, keyPem };
  }

  async sign(csrPem: string, spiffeId: string, ttlSeconds: number): Promise<string[]> {
    if (this.#closed) throw new MeshError('CA_ERROR', 'built-in CA is closed');
    const leaf = await signWorkloadCsr({
      ca: this.#root.ca,
      caNotAfterMs: this.#root.notAfterMs,
      csrPem,
      spiffeId,
      ttlSeconds,
      nowMs: this.#now(),
    });
    return [leaf, this.#root.ca.certPem];
  }

  close(): void {
    this.#closed = true;
  }
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new MeshError('CA_CONFIG', `built-in CA: cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
}

async function createRoot(options: BuiltinCaOptions, certPath: string, keyPath: string, nowMs: number): Promise<LoadedRoot> {
  const subject = `O=${options.trustDomain || 'ambit'}`;
  const ca = await createRootCa({ subject, validityMs: ROOT_VALIDITY_MS, now: new Date(nowMs) });
  try {
    await mkdir(options.stateDir, { recursive: true, mode: 0o700 });
    // Write-then-rename so a crash never leaves a half-written file behind; key first, so a
    // certificate on disk always has its key next to it.
    await writeFile(`${keyPath}.tmp`, ca.keyPem, { mode: 0o600 });
    await rename(`${keyPath}.tmp`, keyPath);
    await writeFile(`${certPath}.tmp`, ca.certPem, { mode: 0o644 });
    await rename(`${certPath}.tmp`, certPath);
  } catch (err) {
    throw new MeshError('CA_CONFIG', `built-in CA: cannot write the root to ${options.stateDir}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  return { ca, notAfterMs: certValidity(new X509Certificate(ca.certPem)).notAfter.getTime() };
}

function loadRoot(certPem: string, keyPem: string, certPath: string, keyPath: string, nowMs: number): LoadedRoot {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch (err) {
    throw new MeshError('CA_CONFIG', `built-in CA: ${certPath} is not a valid PEM certificate`, { cause: err });
  }
  let key;
  try {
    key = createPrivateKey(keyPem);
  } catch (err) {
    throw new MeshError('CA_CONFIG', `built-in CA: ${keyPath} is not a valid PEM private key`, { cause: err });
  }
  if (!cert.checkPrivateKey(key)) {
    throw new MeshError('CA_CONFIG', `built-in CA: ${keyPath} does not match ${certPath}`);
  }
  if (!cert.ca) throw new MeshError('CA_CONFIG', `built-in CA: ${certPath} is not a CA certificate`);
  const notAfterMs = certValidity(cert).notAfter.getTime();
  if (notAfterMs <= nowMs) {
    throw new MeshError('CA_CONFIG', `built-in CA: ${certPath} expired at ${new Date(notAfterMs).toISOString()}; remove both files to create a new root`);
  }
  return { ca: { certPem, keyPem }, notAfterMs };
}
