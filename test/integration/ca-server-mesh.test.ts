// A real two-agent mesh whose node agents get every certificate from the control plane's CA server
// (istiod provider, each agent with its own pod-bound token), carrying HBONE traffic between nodes.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { uriSans } from '../../src/identity/index.js';
import { CLIENT2_ID, CLIENT_ID, ECHO_ID } from '../helpers/mesh-config.js';
import { echoTransfer, socks5Connect } from '../helpers/tcp.js';
import { startTwoNodeMesh } from '../helpers/two-node-mesh.js';
import { TOKENS, startCaFixture } from '../helpers/ca-server-fixture.js';

const ZTUNNEL_ID = 'spiffe://cluster.local/ns/istio-system/sa/ztunnel';
/** The plain-TCP workload on node b runs as its namespace's default service account. */
const TCP_ECHO_ID = 'spiffe://cluster.local/ns/default/sa/default';

test('two agents get their certificates from the control-plane CA and carry HBONE traffic', { timeout: 60_000 }, async () => {
  const ca = await startCaFixture();
  const rootFile = join(ca.dir, 'root-cert.pem');
  writeFileSync(rootFile, ca.service.rootCertPem);
  const env = { AMBIT_CA_PROVIDER: 'istiod', CA_ADDRESS: ca.server.address, CA_ROOT_CA: rootFile, CLUSTER_ID: 'Kubernetes' };
  let mesh;
  try {
    mesh = await startTwoNodeMesh({ env, envA: { AUTH_TOKEN: TOKENS.agentA }, envB: { AUTH_TOKEN: TOKENS.agentB } });
    const { a, b, addrs } = mesh;
    const s = await socks5Connect({ host: a.bind, port: a.agent.config.ports.socks5 }, { host: addrs.vip, port: 80 }, addrs.client);
    const r = await echoTransfer(s, 64 * 1024);
    assert.equal(r.receivedSha256, r.sentSha256);
    const inbound = await b.logs.waitFor((l) => l.msg === 'connection complete' && l.direction === 'inbound');
    assert.equal(inbound['src.identity'], CLIENT_ID);
    assert.equal(inbound['dst.identity'], ECHO_ID);

    // Each agent had exactly its own node's workloads signed, impersonating them from its pod's node.
    const issued = ca.service.recent().filter((rec) => rec.outcome === 'issued');
    const byNode = (node: string): Set<string | undefined> => new Set(issued.filter((rec) => rec.node === node).map((rec) => rec.requested));
    assert.deepEqual(byNode('a'), new Set([CLIENT_ID, CLIENT2_ID]));
    assert.deepEqual(byNode('b'), new Set([ECHO_ID, TCP_ECHO_ID]));
    for (const rec of issued) {
      assert.equal(rec.caller, ZTUNNEL_ID);
      assert.equal(rec.impersonated, true);
    }
    assert.equal(ca.service.recent().filter((rec) => rec.outcome === 'refused').length, 0);

    for (const agent of [a, b]) {
      const certs = agent.agent.configDump().certificates as Array<{ identity: string; certChain: Array<{ pem: string }>; rootCerts: Array<{ pem: string }> }>;
      assert.ok(certs.length > 0);
      for (const c of certs) {
        const leaf = new X509Certificate(Buffer.from(c.certChain[0]!.pem, 'base64').toString());
        const roots = c.rootCerts.map((d) => Buffer.from(d.pem, 'base64').toString());
        assert.deepEqual(roots, [ca.service.rootCertPem], c.identity);
        assert.deepEqual(uriSans(leaf), [c.identity]);
        assert.ok(leaf.checkIssued(new X509Certificate(ca.service.rootCertPem)) && leaf.verify(new X509Certificate(ca.service.rootCertPem).publicKey), `${c.identity} is signed by the control-plane root`);
      }
    }
  } finally {
    await mesh?.close();
    await ca.close();
  }
});
