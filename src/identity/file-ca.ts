// Istio "plug-in CA" files as a local CA: an intermediate (ca-cert.pem + ca-key.pem, EC P-256 or
// RSA) under an operator-managed root, validated at load, signing workload CSRs locally.

import { readFile } from 'node:fs/promises';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import type { Logger } from '../common/log.js';
import { MeshError } from '../common/errors.js';
import type { LocalCa } from './ca-client.js';
import { signServerCertificate, signWorkloadCsr } from './csr-signer.js';
import { certValidity, importSigningKey, splitPemBundle } from './x509.js';

/** Istio's file names (istio/istio security/pkg/pki/ca: cacerts secret keys). */
export const PLUGIN_CA_FILES = {
  caCert: 'ca-cert.pem',
  caKey: 'ca-key.pem',
  rootCert: 'root-cert.pem',
  /** The chain from ca-cert up to, and including, the root. */
  certChain: 'cert-chain.pem',
} as const;

export interface FileCaOptions {
  readonly dir: string;
  readonly logger: Logger;
  /** ms since the epoch; default Date.now. */
  readonly now?: () => number;
}

interface LoadedFileCa {
  readonly caCertPem: string;
  readonly caKeyPem: string;
  /** ca-cert first, then any further intermediates up to (excluding) the root. */
  readonly intermediates: readonly string[];
  /** root-cert.pem, normalised to concatenated PEMs each ending in a newline. */
  readonly rootsPem: string;
  /** Earliest notAfter along the path: no leaf may outlive any certificate above it (ms). */
  readonly notAfterMs: number;
}

export class FileCaClient implements LocalCa {
  readonly name = 'file';
  readonly #ca: LoadedFileCa;
  readonly #now: () => number;
  #closed = false;

  private constructor(ca: LoadedFileCa, now: () => number) {
    this.#ca = ca;
    this.#now = now;
  }

  static async open(options: FileCaOptions): Promise<FileCaClient> {
    const now = options.now ?? Date.now;
    const files = await readPluginFiles(options.dir);
    const ca = await validate(options.dir, files, now());
    options.logger.info({ dir: options.dir, intermediates: ca.intermediates.length }, 'loaded plug-in CA files');
    return new FileCaClient(ca, now);
  }

  get rootCertPem(): string {
    return this.#ca.rootsPem;
  }

  get intermediatesPem(): readonly string[] {
    return this.#ca.intermediates;
  }

  async issueServerCertificate(names: readonly string[], ttlSeconds: number): Promise<{ certChainPem: string; keyPem: string }> {
    if (this.#closed) throw new MeshError('CA_ERROR', 'file CA is closed');
    const ca = { certPem: this.#ca.caCertPem, keyPem: this.#ca.caKeyPem };
    const { leafPem, keyPem } = await signServerCertificate({ ca, caNotAfterMs: this.#ca.notAfterMs, names, ttlSeconds, nowMs: this.#now() });
    return { certChainPem: leafPem + this.#ca.intermediates.join(''), keyPem };
  }

  async sign(csrPem: string, spiffeId: string, ttlSeconds: number): Promise<string[]> {
    if (this.#closed) throw new MeshError('CA_ERROR', 'file CA is closed');
    const leaf = await signWorkloadCsr({
      ca: { certPem: this.#ca.caCertPem, keyPem: this.#ca.caKeyPem },
      caNotAfterMs: this.#ca.notAfterMs,
      csrPem,
      spiffeId,
      ttlSeconds,
      nowMs: this.#now(),
    });
    return [leaf, ...this.#ca.intermediates, this.#ca.rootsPem];
  }

  close(): void {
    this.#closed = true;
  }
}

type PluginFiles = Record<keyof typeof PLUGIN_CA_FILES, string>;

async function readPluginFiles(dir: string): Promise<PluginFiles> {
  const entries = Object.entries(PLUGIN_CA_FILES) as Array<[keyof typeof PLUGIN_CA_FILES, string]>;
  const out: Partial<PluginFiles> = {};
  const missing: string[] = [];
  for (const [field, file] of entries) {
    const path = join(dir, file);
    try {
      out[field] = await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw new MeshError('CA_CONFIG', `plug-in CA: cannot read ${path}: ${(err as Error).message}`, { cause: err });
      }
      missing.push(path);
    }
  }
  if (missing.length > 0) {
    throw new MeshError('CA_CONFIG', `plug-in CA: missing ${missing.join(', ')} (need ${Object.values(PLUGIN_CA_FILES).join(', ')})`);
  }
  return out as PluginFiles;
}

function parseCerts(pem: string, path: string): X509Certificate[] {
  const pems = splitPemBundle(pem);
  if (pems.length === 0) throw new MeshError('CA_CONFIG', `plug-in CA: ${path} holds no PEM certificate`);
  return pems.map((p) => {
    try {
      return new X509Certificate(p);
    } catch (err) {
      throw new MeshError('CA_CONFIG', `plug-in CA: ${path} holds an invalid certificate`, { cause: err });
    }
  });
}

function issuedBy(child: X509Certificate, parent: X509Certificate): boolean {
  return child.checkIssued(parent) && child.verify(parent.publicKey);
}

async function validate(dir: string, files: PluginFiles, nowMs: number): Promise<LoadedFileCa> {
  const path = (k: keyof typeof PLUGIN_CA_FILES): string => join(dir, PLUGIN_CA_FILES[k]);
  const caCert = parseCerts(files.caCert, path('caCert'))[0] as X509Certificate;
  const roots = parseCerts(files.rootCert, path('rootCert'));
  const chain = parseCerts(files.certChain, path('certChain'));

  let key;
  try {
    key = createPrivateKey(files.caKey);
    await importSigningKey(files.caKey);
  } catch (err) {
    throw new MeshError('CA_CONFIG', `plug-in CA: ${path('caKey')} is not a usable private key (EC P-256 or RSA): ${(err as Error).message}`, {
      cause: err,
    });
  }
  if (!caCert.checkPrivateKey(key)) {
    throw new MeshError('CA_CONFIG', `plug-in CA: ${path('caKey')} does not match ${path('caCert')}`);
  }
  if (!caCert.ca) throw new MeshError('CA_CONFIG', `plug-in CA: ${path('caCert')} is not a CA certificate`);

  const rootPrints = new Set(roots.map((r) => r.fingerprint256));
  const caIsRoot = rootPrints.has(caCert.fingerprint256);
  // Intermediates = cert-chain.pem minus the root(s); it must start at ca-cert (Istio's layout).
  const intermediates = chain.filter((c) => !rootPrints.has(c.fingerprint256));
  if (!caIsRoot && intermediates[0]?.fingerprint256 !== caCert.fingerprint256) {
    throw new MeshError('CA_CONFIG', `plug-in CA: ${path('certChain')} must begin with the certificate in ${path('caCert')}`);
  }
  for (let i = 0; i + 1 < intermediates.length; i++) {
    if (!issuedBy(intermediates[i] as X509Certificate, intermediates[i + 1] as X509Certificate)) {
      throw new MeshError('CA_CONFIG', `plug-in CA: ${path('certChain')} is not a chain (certificate ${i + 1} is not issued by ${i + 2})`);
    }
  }
  const top = intermediates[intermediates.length - 1] ?? caCert;
  const root = caIsRoot ? caCert : roots.find((r) => issuedBy(top, r));
  if (!root) {
    throw new MeshError('CA_CONFIG', `plug-in CA: ${path('caCert')} does not chain to any certificate in ${path('rootCert')}`);
  }
  let notAfterMs = Infinity;
  for (const c of [...intermediates, root, caCert]) {
    const { notBefore, notAfter } = certValidity(c);
    if (notAfter.getTime() <= nowMs || notBefore.getTime() > nowMs) {
      throw new MeshError('CA_CONFIG', `plug-in CA: certificate "${c.subject.replace(/\n/g, ', ')}" is not valid now (${notBefore.toISOString()} .. ${notAfter.toISOString()})`);
    }
    notAfterMs = Math.min(notAfterMs, notAfter.getTime());
  }
  return {
    caCertPem: caCert.toString(),
    caKeyPem: files.caKey,
    intermediates: intermediates.map((c) => c.toString()),
    rootsPem: roots.map((c) => c.toString()).join(''),
    notAfterMs,
  };
}
