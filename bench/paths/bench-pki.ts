// One PKI for every TLS path of a run: an EC P-256 root written where Ambit's built-in CA looks for
// it (so both agents sign with it), and SPIFFE leaf certificates from the same root for stunnel.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BUILTIN_ROOT_CERT_FILE, BUILTIN_ROOT_KEY_FILE } from '../../src/identity/builtin-ca.js';
import { createRootCa, generateKeyPair, issueCertificate, privateKeyToPem, type SigningCa } from '../../src/identity/x509.js';
import type { StunnelTls } from '../lib/index.js';

/** Root lifetime: one day is far beyond any run (ms). */
const ROOT_VALIDITY_MS = 24 * 3600_000;
/** Leaf lifetime (ms); backdated by a minute like the mesh's own leaves. */
const LEAF_VALIDITY_MS = 12 * 3600_000;

export class BenchPki {
  private constructor(
    readonly stateDir: string,
    private readonly ca: SigningCa,
  ) {}

  /**
   * Creates the root and writes it into `stateDir` under the built-in CA's file names: agents
   * started with AMBIT_STATE_DIR=stateDir load it instead of creating their own, so they trust
   * each other from the first start (no race between two agents creating a root).
   */
  static async create(stateDir: string, trustDomain = 'cluster.local'): Promise<BenchPki> {
    const ca = await createRootCa({ subject: `O=${trustDomain}`, validityMs: ROOT_VALIDITY_MS });
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    writeFileSync(join(stateDir, BUILTIN_ROOT_KEY_FILE), ca.keyPem, { mode: 0o600 });
    writeFileSync(join(stateDir, BUILTIN_ROOT_CERT_FILE), ca.certPem, { mode: 0o644 });
    return new BenchPki(stateDir, ca);
  }

  get rootPem(): string {
    return this.ca.certPem;
  }

  /** A leaf like the mesh's workload certificates: EC P-256, one SPIFFE URI SAN, server+client EKU. */
  async issue(spiffeId: string): Promise<StunnelTls> {
    const keys = await generateKeyPair('ec-p256');
    const now = Date.now();
    const certPem = await issueCertificate({
      ca: this.ca,
      publicKey: keys.publicKey,
      uris: [spiffeId],
      notBefore: new Date(now - 60_000),
      notAfter: new Date(now + LEAF_VALIDITY_MS),
    });
    return { certChainPem: certPem, keyPem: privateKeyToPem(keys.privateKey), rootPem: this.ca.certPem };
  }
}
