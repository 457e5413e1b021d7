// Two whole agents whose mesh comes from a scripted control plane: traffic over SOCKS5 → HBONE; the
// control plane killed ⇒ both keep serving new connections on the last config; back ⇒ they resync.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { tempDir, type TestAgent } from '../helpers/agent.js';
import { startDeltaAdsPeer } from '../helpers/delta-ads-peer.js';
import { CLIENT_ID, meshAddresses, meshYaml } from '../helpers/mesh-config.js';
import { echoTransfer, randomLoopbackPrefix, socks5Connect, startEchoServer } from '../helpers/tcp.js';
import { eventually } from '../helpers/xds-client-fixture.js';
import { serveYaml, startXdsAgent, type StartedXdsAgent } from '../helpers/xds-agent.js';

function socksOf(agent: TestAgent): { host: string; port: number } {
  return { host: agent.bind, port: agent.agent.config.ports.socks5 };
}

const DENY_CLIENT = `- name: deny-client
  namespace: default
  scope: Namespace
  action: Deny
  rules:
  - - - principals: [{Exact: "${CLIENT_ID.slice('spiffe://'.length)}"}]
`;

test('mesh from xDS: traffic flows, survives the control plane going away, and follows it when it returns', async (t) => {
  const addrs = meshAddresses(randomLoopbackPrefix());
  const peer = await startDeltaAdsPeer();
  serveYaml(peer, meshYaml(addrs));
  const stateDir = join(tempDir(), 'state');
  const echo = await startEchoServer(addrs.echo, addrs.echoPort);
  const a = startXdsAgent({ nodeName: 'a', bind: addrs.nodeA, stateDir, xdsAddress: peer.address });
  let b: StartedXdsAgent | undefined;
  t.after(async () => {
    a.agent.destroy();
    b?.agent.destroy();
    peer.close();
    await echo.close();
  });
  // One after the other: the first creates the built-in CA root the two share.
  await a.started;
  b = startXdsAgent({ nodeName: 'b', bind: addrs.nodeB, stateDir, xdsAddress: peer.address });
  await b.started;
  await Promise.all([a.agent.readiness.whenReady(), b.agent.readiness.whenReady()]);

  const transfer = async (bytes: number): Promise<void> => {
    const s = await socks5Connect(socksOf(a), { host: addrs.vip, port: 80 }, addrs.client);
    const r = await echoTransfer(s, bytes);
    assert.equal(r.receivedBytes, bytes);
    assert.equal(r.receivedSha256, r.sentSha256);
  };
  await transfer(256 * 1024);
  const inbound = await b.logs.waitFor((l) => l.msg === 'connection complete' && l.direction === 'inbound');
  assert.equal(inbound['src.identity'], CLIENT_ID);

  // The control plane goes away: both agents notice, and keep serving on what they hold.
  peer.kill();
  await eventually(() => a.agent.xds?.dump().state !== 'connected' && b.agent.xds?.dump().state !== 'connected', 'both agents saw the stream end');
  const before = echo.peers.length;
  await transfer(1024 * 1024);
  await transfer(64 * 1024);
  assert.equal(echo.peers.length, before + 2, 'new connections reached the app while the control plane was down');
  assert.ok(a.agent.readiness.ready() && b.agent.readiness.ready(), 'readiness is not withdrawn for a lost control plane');

  // It returns with a policy denying the client: both agents resync and B enforces it.
  serveYaml(peer, meshYaml(addrs, DENY_CLIENT));
  await peer.restart();
  await eventually(() => b.agent.state.policyByKey('default/deny-client') !== undefined && a.agent.xds?.dump().state === 'connected', 'resynced', 30_000);
  await assert.rejects(socks5Connect(socksOf(a), { host: addrs.vip, port: 80 }, addrs.client), (e: Error & { socksReply?: number }) => e.socksReply === 2);
  const denied = await b.logs.waitFor((l) => l.msg === 'connection complete' && l['src.identity'] === CLIENT_ID && typeof l.error === 'string');
  assert.match(String(denied.error), /denied/);
});
