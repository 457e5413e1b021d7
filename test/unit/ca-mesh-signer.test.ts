// The control-plane CA's mesh root: istiod-shaped chains (one certificate per element) for builtin
// and plug-in roots, and verifyLeaf, the check that a client certificate was issued under this mesh CA.

import 'reflect-metadata'; // before @peculiar/x509 (it needs the polyfill at load)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import { silentLogger } from '../../src/common/log.js';
import { createCsr, generateKeyPair, issueCertificate, privateKeyToPem, type SigningCa } from '../../src/identity/index.js';
import { MeshSigner } from '../../src/controlplane/index.js';
import { tempDir } from '../helpers/agent.js';
import { makeTestPki, pkiOf } from '../helpers/certs.js';
import { makePluginCaDir } from '../helpers/plugin-ca-files.js';

const ID = 'spiffe://cluster.local/ns/default/sa/app';

test('builtin root: [leaf, root]; verifyLeaf accepts its own leaves and refuses others', async () => {
  const signer = await MeshSigner.open({ source: { kind: 'builtin', stateDir: join(tempDir(), 'state') }, trustDomain: 'cluster.local', logger: silentLogger() });
  try {
    const chain = await signer.sign(await createCsr(ID, await generateKeyPair()), ID, 3600);
    assert.deepEqual(chain.slice(1), [signer.rootCertPem]);
    const now = Date.now();
    assert.equal(signer.verifyLeaf(new X509Certificate(chain[0]!), now), undefined);
    assert.match(signer.verifyLeaf(new X509Certificate(chain[0]!), now + 2 * 3600_000) ?? '', /is not valid now/);
    const foreign = await (await makeTestPki('O=cluster.local')).issue(ID);
    assert.match(signer.verifyLeaf(new X509Certificate(foreign.certChainPem), now) ?? '', /not issued by the mesh CA/);
    assert.match(signer.verifyLeaf(new X509Certificate(signer.rootCertPem), now) ?? '', /CA certificate/);
  } finally {
    signer.close();
  }
});

test('plug-in root: one certificate per element; leaves chain through known intermediates only', async () => {
  const plugin = await makePluginCaDir({ depth: 2 });
  const signer = await MeshSigner.open({ source: { kind: 'plugin', dir: plugin.dir }, trustDomain: 'cluster.local', logger: silentLogger() });
  try {
    const chain = await signer.sign(await createCsr(ID, await generateKeyPair()), ID, 3600);
    assert.deepEqual(chain.slice(1), [plugin.intermediates[0]!.certPem, plugin.intermediates[1]!.certPem, plugin.root.certPem]);
    assert.equal(signer.verifyLeaf(new X509Certificate(chain[0]!), Date.now()), undefined);
    // Same root, but an intermediate this CA does not hold (e.g. another cluster's): refused.
    const keys = await generateKeyPair();
    const now = Date.now();
    const otherIntermediate: SigningCa = {
      certPem: await issueCertificate({ ca: plugin.root, publicKey: keys.publicKey, uris: [], notBefore: new Date(now - 60_000), notAfter: new Date(now + 3600_000), isCa: true, subject: 'O=other-intermediate' }),
      keyPem: privateKeyToPem(keys.privateKey),
    };
    const stranger = await pkiOf(otherIntermediate).issue(ID);
    assert.match(signer.verifyLeaf(new X509Certificate(stranger.certChainPem), now) ?? '', /not issued by the mesh CA/);
  } finally {
    signer.close();
  }
});
