// Root tier: the netns test topology itself. Pods reach each other over the bridge, VIPs route to
// the gateway, and teardown leaves nothing behind: after destroy(), after an uncaught exception in
// the process that built it, and after SIGTERM.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { access } from 'node:fs/promises';
import { assertNoLeftovers, createTopology, findLeftovers, requireRoot } from '../helpers/netns-topology.js';
import { probeConnect, startProbeListener } from '../helpers/netns-probe.js';

requireRoot('the netns test tier');

test('pods get an address, lo, a default route via the bridge, and reach each other', async (t) => {
  const topo = await createTopology({ pods: [{ name: 'a' }, { name: 'b' }, { name: 'c' }] });
  t.after(() => topo.destroy());
  const a = topo.pods.get('a')!;
  const b = topo.pods.get('b')!;
  await access(a.netnsPath);
  assert.match(a.netnsName, new RegExp(`^ambit-${topo.id}-a$`));
  assert.notEqual(a.ip, b.ip);

  const addr = await topo.exec('a', ['ip', '-4', '-o', 'addr', 'show']);
  assert.match(addr.stdout, /lo\s+inet 127\.0\.0\.1\/8/);
  assert.match(addr.stdout, new RegExp(`eth0\\s+inet ${a.ip.replace(/\./g, '\\.')}/24`));
  const route = await topo.exec('a', ['ip', 'route', 'get', topo.vip(7)]);
  assert.match(route.stdout, new RegExp(`via ${topo.gatewayIp.replace(/\./g, '\\.')} dev eth0`));

  const server = await startProbeListener(topo, 'b', '0.0.0.0', 8080);
  t.after(() => server.close());
  const r = await probeConnect(topo, 'a', b.ip, 8080);
  assert.deepEqual(r.ok ? r.reply : r.error, 'ack:hello');
  const conn = await server.nth(1);
  assert.equal(conn.peer.split(':')[0], a.ip);
  assert.equal(conn.local, `${b.ip}:8080`);

  const code = (await topo.exec('c', ['sh', '-c', 'exit 3'])).code;
  assert.equal(code, 3);
});

test('destroy removes namespaces, veths, bridge and spawned processes; a second destroy is a no-op', async () => {
  const topo = await createTopology({ pods: [{ name: 'x' }, { name: 'y' }] });
  const sleeper = topo.spawn('x', ['sleep', '1000']);
  await once(sleeper, 'spawn');
  assert.notDeepEqual(await findLeftovers(topo.id), []);
  const exited = once(sleeper, 'exit');
  await topo.destroy();
  await exited;
  await assertNoLeftovers(topo.id);
  await topo.destroy();
  await assert.rejects(access(topo.pods.get('x')!.netnsPath));
});

test('a topology is torn down when its process dies: uncaught exception and SIGTERM', async (t) => {
  const helper = new URL('../helpers/netns-topology.js', import.meta.url).href;
  for (const mode of ['throw', 'sigterm'] as const) {
    const script = `
      import { createTopology } from ${JSON.stringify(helper)};
      const topo = await createTopology({ pods: [{ name: 'p' }, { name: 'q' }] });
      topo.spawn('p', ['sleep', '1000']);
      console.log(topo.id);
      if (${JSON.stringify(mode)} === 'throw') setImmediate(() => { throw new Error('simulated test failure'); });
      else setInterval(() => undefined, 1000);
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    t.after(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    const exited = once(child, 'exit');
    const [id] = (await once(createInterface({ input: child.stdout }), 'line')) as [string];
    assert.match(id, /^[0-9a-f]{6}$/);
    assert.notDeepEqual(await findLeftovers(id), [], 'the child built its topology');
    if (mode === 'sigterm') child.kill('SIGTERM');
    const [code] = (await exited) as [number | null];
    assert.equal(code, mode === 'throw' ? 1 : 143);
    await assertNoLeftovers(id);
  }
});

test('bad specs are refused before anything is created', async () => {
  await assert.rejects(createTopology({ pods: [] }), /1\.\.200 pods/);
  await assert.rejects(createTopology({ pods: [{ name: 'Bad_Name' }] }), /must match/);
  await assert.rejects(createTopology({ pods: [{ name: 'a' }, { name: 'a' }] }), /duplicate/);
});
