// The xDS client over TLS: the server verified against XDS_ROOT_CA (a file, inline PEM),
// foreign roots and wrong names refused, ALT_XDS_HOSTNAME, and the AUTH_TOKEN file re-read per stream.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/agent.js';
import { makeTestPki } from '../helpers/certs.js';
import { startDeltaAdsPeer, type DeltaAdsPeer } from '../helpers/delta-ads-peer.js';
import { eventually, startClient, type ClientFixture } from '../helpers/xds-client-fixture.js';
import { isMeshError } from '../../src/common/errors.js';

const dir = tempDir('ambit-xds-tls-');

async function tlsPeer(names: readonly string[]): Promise<DeltaAdsPeer & { rootFile: string }> {
  const peer = await startDeltaAdsPeer({ tlsNames: names });
  const rootFile = join(dir, `root-${peer.port}.pem`);
  writeFileSync(rootFile, peer.rootPem ?? '');
  return Object.assign(peer, { rootFile });
}

/** Waits for a failed connect and returns its logged detail; asserts the server saw no stream. */
async function refused(f: ClientFixture, peer: DeltaAdsPeer): Promise<string> {
  await eventually(() => f.terminations.length > 0, 'a connect attempt ended');
  assert.equal(f.terminations[0], 'ConnectionError');
  assert.equal(peer.streams.length, 0, 'the request never reached the server');
  assert.equal(f.client.synced, false);
  return f.client.dump().lastTermination?.detail ?? '';
}

test('TLS: the server certificate is verified against XDS_ROOT_CA from a file; the bearer token is sent', async (t) => {
  const peer = await tlsPeer(['127.0.0.1']);
  const f = startClient(`https://127.0.0.1:${peer.port}`, { XDS_ROOT_CA: peer.rootFile, AUTH_TOKEN: 'jwt-literal' });
  t.after(() => {
    f.client.destroy();
    peer.close();
  });
  await f.client.whenSynced();
  const s = await peer.stream(1);
  assert.equal(s.metadata.authorization, 'Bearer jwt-literal');
  assert.equal(s.metadata.clusterid, 'Kubernetes');
});

test('TLS: a foreign root, SYSTEM roots and a wrong host name are refused before any request; ALT_XDS_HOSTNAME adds a name', async (t) => {
  const peer = await tlsPeer(['xds.example.internal']);
  const foreign = await makeTestPki('O=foreign-mesh');
  t.after(() => peer.close());
  const address = `https://127.0.0.1:${peer.port}`;
  const cases: Array<[string, Record<string, string>, RegExp]> = [
    ['foreign root', { XDS_ROOT_CA: foreign.rootPem, ALT_XDS_HOSTNAME: 'xds.example.internal' }, /unable to verify the first certificate/],
    ['SYSTEM roots', { XDS_ROOT_CA: 'SYSTEM', ALT_XDS_HOSTNAME: 'xds.example.internal' }, /unable to verify the first certificate/],
    ['the address host is not in the certificate', { XDS_ROOT_CA: peer.rootFile }, /does not match certificate's altnames/],
    ['an unrelated ALT_XDS_HOSTNAME', { XDS_ROOT_CA: peer.rootFile, ALT_XDS_HOSTNAME: 'other.example' }, /does not match certificate's altnames/],
  ];
  for (const [name, env, why] of cases) {
    const f = startClient(address, env);
    try {
      assert.match(await refused(f, peer), why, name);
    } finally {
      f.client.destroy();
    }
  }
  const ok = startClient(address, { XDS_ROOT_CA: peer.rootFile, ALT_XDS_HOSTNAME: 'xds.example.internal' });
  t.after(() => ok.client.destroy());
  await ok.client.whenSynced();
});

test('an unusable XDS_ROOT_CA is a CONFIG_INVALID at start naming the setting', () => {
  assert.throws(
    () => startClient('https://127.0.0.1:1', { XDS_ROOT_CA: join(dir, 'missing.pem') }),
    (err: unknown) => isMeshError(err, 'CONFIG_INVALID') && err.message.includes('XDS_ROOT_CA') && err.message.includes('not an existing file'),
  );
  assert.throws(
    () => startClient('https://127.0.0.1:1', { XDS_ROOT_CA: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n' }),
    (err: unknown) => isMeshError(err, 'CONFIG_INVALID') && err.message.includes('invalid certificate'),
  );
});

test('the AUTH_TOKEN file is re-read for every new stream (projected tokens rotate)', async (t) => {
  const peer = await tlsPeer(['127.0.0.1']);
  const tokenFile = join(dir, 'istio-token');
  writeFileSync(tokenFile, 'token-one\n');
  const f = startClient(`https://127.0.0.1:${peer.port}`, { XDS_ROOT_CA: peer.rootFile, AUTH_TOKEN: tokenFile });
  t.after(() => {
    f.client.destroy();
    peer.close();
  });
  const s1 = await peer.stream(1);
  assert.equal(s1.metadata.authorization, 'Bearer token-one');
  writeFileSync(tokenFile, 'token-two\n');
  s1.end(); // a clean end: reconnect at once
  const s2 = await peer.stream(2);
  assert.equal(s2.metadata.authorization, 'Bearer token-two');
});

test('XDS_ROOT_CA file is re-read on reconnect: a rotated root is picked up without a restart', async (t) => {
  const peer = await tlsPeer(['127.0.0.1']);
  const foreign = await makeTestPki('O=foreign-mesh');
  const rootFile = join(dir, 'rotating-root.pem');
  writeFileSync(rootFile, foreign.rootPem);
  const f = startClient(`https://127.0.0.1:${peer.port}`, { XDS_ROOT_CA: rootFile }, { backoff: { initialMs: 10, maxMs: 200 } });
  t.after(() => {
    f.client.destroy();
    peer.close();
  });
  await refused(f, peer);
  writeFileSync(rootFile, foreign.rootPem + (peer.rootPem ?? ''));
  await f.client.whenSynced();
});
