// Istio plug-in CA directories made at test time: a root (EC or RSA), one or more intermediates
// under it, written as ca-cert.pem / ca-key.pem / root-cert.pem / cert-chain.pem.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createRootCa,
  generateKeyPair,
  issueCertificate,
  privateKeyToPem,
  type KeyKind,
  type SigningCa,
} from '../../src/identity/index.js';

export interface PluginCaFiles {
  readonly dir: string;
  readonly root: SigningCa;
  /** Issuing CA first (= ca-cert.pem), then its parents up to (excluding) the root. */
  readonly intermediates: readonly SigningCa[];
}

/** Builds root → … → ca-cert with `depth` intermediates (≥ 1) and writes the four files. */
export async function makePluginCaDir(opts: { keyKind?: KeyKind; depth?: number; dir?: string } = {}): Promise<PluginCaFiles> {
  const keyKind = opts.keyKind ?? 'ec-p256';
  const depth = opts.depth ?? 1;
  const root = await createRootCa({ subject: 'O=plugin-root', validityMs: 30 * 24 * 3600_000, keyKind });
  const now = Date.now();
  let parent = root;
  const topDown: SigningCa[] = [];
  for (let level = depth - 1; level >= 0; level--) {
    const keys = await generateKeyPair(keyKind);
    const certPem = await issueCertificate({
      ca: parent,
      publicKey: keys.publicKey,
      uris: [],
      notBefore: new Date(now - 3600_000),
      notAfter: new Date(now + 20 * 24 * 3600_000),
      isCa: true,
      subject: `O=plugin-intermediate-${level}`,
      pathLength: level,
    });
    parent = { certPem, keyPem: privateKeyToPem(keys.privateKey) };
    topDown.push(parent);
  }
  const intermediates = topDown.reverse();
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'ambit-plugin-ca-'));
  const issuing = intermediates[0] as SigningCa;
  writeFileSync(join(dir, 'ca-cert.pem'), issuing.certPem);
  writeFileSync(join(dir, 'ca-key.pem'), issuing.keyPem, { mode: 0o600 });
  writeFileSync(join(dir, 'root-cert.pem'), root.certPem);
  writeFileSync(join(dir, 'cert-chain.pem'), intermediates.map((c) => c.certPem).join('') + root.certPem);
  return { dir, root, intermediates };
}
