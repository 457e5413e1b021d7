// Outbound HBONE under the one-identity rule, end to end through the pool: a server whose leaf
// carries two SPIFFE identities is refused even though one of them is expected.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isMeshError } from '../../src/common/errors.js';
import { SERVER_ID, startRig } from '../helpers/hbone-fixture.js';
import { hboneClientTls } from '../helpers/hbone-tls.js';

test('a server with two SPIFFE identities is refused outbound even though one is expected', async (t) => {
  const rig = await startRig({ serverExtraUris: ['spiffe://cluster.local/ns/default/sa/other'] });
  t.after(() => rig.close());
  const pool = rig.newPool();
  // Refused by the TLS options' checkServerIdentity...
  await assert.rejects(
    pool.connect(rig.request('127.0.0.1:1')),
    (err: unknown) => isMeshError(err, 'CERT_INVALID') && /ambiguous/.test((err as Error).message),
  );
  // ...and by the pool's own check when the options would accept anything.
  const lax = { ...hboneClientTls(rig.clientCert, []), checkServerIdentity: () => undefined };
  await assert.rejects(
    pool.connect(rig.request('127.0.0.1:1', { key: 'k2', tls: () => lax, expectedSans: [SERVER_ID] })),
    (err: unknown) => isMeshError(err, 'CERT_INVALID') && /ambiguous/.test((err as Error).message),
  );
  assert.equal(rig.inbound.length, 0);
  assert.deepEqual(pool.stats(), { connections: 0, streams: 0, keys: 0 });
});
