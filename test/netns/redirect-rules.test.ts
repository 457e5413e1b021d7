// Root tier: Ambit's in-pod redirection rules in real network namespaces. Outbound capture to
// 15001, inbound capture to 15006 with 15008 untouched, the proxy-mark bypass, the transparent
// return path for spoofed-source connections, idempotent install and exact removal.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { installRedirectRules, removeRedirectRules, redirectRulesDump, type RedirectOptions } from '../../src/inpod/index.js';
import { isMeshError } from '../../src/common/errors.js';
import { createTopology, requireRoot, type Topology } from '../helpers/netns-topology.js';
import { probeConnect, startProbeListener, type ProbeListener } from '../helpers/netns-probe.js';

requireRoot('the netns test tier');

const OPTS: RedirectOptions = { outboundPort: 15001, inboundPlaintextPort: 15006, hbonePort: 15008, mark: 1337 };

let topo: Topology;
const ip = (pod: string): string => topo.pods.get(pod)!.ip;
const ns = (pod: string): string => topo.pods.get(pod)!.netnsPath;

before(async () => {
  topo = await createTopology({ pods: ['client', 'server', 'plain', 'scratch'].map((name) => ({ name })) });
});
after(() => topo?.destroy());

const listen = (pod: string, host: string, port: number): Promise<ProbeListener> => startProbeListener(topo, pod, host, port);

/** iptables-save / ip6tables-save without comments and counters (they change on every run). */
async function saveState(pod: string): Promise<string> {
  const parts: string[] = [];
  for (const cmd of [['iptables-save'], ['ip6tables-save'], ['ip', '-4', 'rule'], ['ip', '-6', 'rule'], ['ip', '-4', 'route', 'show', 'table', 'all'], ['ip', '-6', 'route', 'show', 'table', 'all']]) {
    const r = await topo.exec(pod, cmd);
    assert.equal(r.code, 0, r.stderr);
    parts.push(`## ${cmd.join(' ')}`, ...r.stdout.split('\n').filter((l) => !l.startsWith('#')).map((l) => l.replace(/\[\d+:\d+\]/g, '[0:0]')));
  }
  return parts.join('\n');
}

/** The same, minus tables that only hold empty ACCEPT built-in chains (iptables-nft cannot delete those). */
function withoutEmptyTables(save: string): string {
  return save.replace(/\*\w+\n((?::[A-Z]+ ACCEPT \[0:0\]\n)+)COMMIT\n/g, '');
}

test('install twice: every rule, the ip rule and the route exist exactly once (IPv4 and IPv6)', async (t) => {
  t.after(() => removeRedirectRules(ns('scratch')));
  await installRedirectRules(ns('scratch'), OPTS);
  const first = await redirectRulesDump(ns('scratch'));
  await installRedirectRules(ns('scratch'), OPTS);
  const second = await redirectRulesDump(ns('scratch'));
  assert.equal(second, first);
  for (const family of ['iptables-save', 'ip6tables-save']) {
    // Table-qualified, so the same jump in mangle and in nat count as two rules.
    let table = '';
    const ours: string[] = [];
    for (const l of (await topo.exec('scratch', [family])).stdout.split('\n')) {
      if (l.startsWith('*')) table = l;
      else if (l.startsWith('-A ') && /ISTIO_(PRERT|OUTPUT)/.test(l)) ours.push(`${table} ${l}`);
    }
    assert.equal(new Set(ours).size, ours.length, `${family} has a duplicated rule:\n${ours.join('\n')}`);
    assert.equal(ours.filter((l) => l.endsWith(' -A PREROUTING -j ISTIO_PRERT')).length, 2, 'one jump in mangle, one in nat');
    assert.equal(ours.filter((l) => l.endsWith(' -A OUTPUT -j ISTIO_OUTPUT')).length, 2);
    assert.equal(ours.length, 12, `${family}: ${ours.length} rules`);
  }
  for (const flag of ['-4', '-6']) {
    const rules = (await topo.exec('scratch', ['ip', flag, 'rule'])).stdout;
    assert.equal(rules.match(/32764:\s+from all fwmark 0x111\/0xfff lookup 100/g)?.length, 1, rules);
    const routes = (await topo.exec('scratch', ['ip', flag, 'route', 'show', 'table', '100'])).stdout.trim();
    assert.equal(routes.split('\n').length, 1, routes);
    assert.match(routes, /^local (default|0\.0\.0\.0\/0|::\/0) dev lo/);
  }
  // The proxy mark bypasses both captures; exact matches as iptables-save prints them.
  assert.match(first, /-A ISTIO_OUTPUT ! -d 127\.0\.0\.1\/32 -p tcp -m mark ! --mark 0x539\/0xfff -j REDIRECT --to-ports 15001/);
  assert.match(first, /-A ISTIO_PRERT ! -d 127\.0\.0\.1\/32 -p tcp -m tcp ! --dport 15008 -m mark ! --mark 0x539\/0xfff -j REDIRECT --to-ports 15006/);
  assert.match(first, /-A ISTIO_PRERT -m mark --mark 0x539\/0xfff -j CONNMARK --set-xmark 0x111\/0xfff/);
  assert.match(first, /-A ISTIO_PRERT -s 169\.254\.7\.127\/32 -p tcp -m tcp -j ACCEPT/);
  assert.match(first, /# ipv6\n[^]*! -d ::1\/128 -p tcp -m mark ! --mark 0x539\/0xfff -j REDIRECT --to-ports 15001/);
});

test('outbound: pod → other pod and → service VIP are redirected to 15001 in the source pod; 127.0.0.1 is not', async (t) => {
  await installRedirectRules(ns('client'), OPTS);
  t.after(() => removeRedirectRules(ns('client')));
  const capture = await listen('client', '0.0.0.0', 15001);
  const local = await listen('client', '127.0.0.1', 9000);
  const target = await listen('server', '0.0.0.0', 80);
  t.after(() => Promise.all([capture.close(), local.close(), target.close()]));

  assert.deepEqual(await probeConnect(topo, 'client', ip('server'), 80), { ok: true, local: (await capture.nth(1)).peer, reply: 'ack:hello' });
  assert.equal((await capture.nth(1)).originalDst, `${ip('server')}:80`);

  const vip = topo.vip(10);
  const viaVip = await probeConnect(topo, 'client', vip, 8080);
  assert.equal(viaVip.ok && viaVip.reply, 'ack:hello');
  assert.equal((await capture.nth(2)).originalDst, `${vip}:8080`);

  const loop = await probeConnect(topo, 'client', '127.0.0.1', 9000);
  assert.equal(loop.ok && loop.reply, 'ack:hello');
  // Not NATed: SO_ORIGINAL_DST is then just the destination itself.
  assert.equal((await local.nth(1)).originalDst, '127.0.0.1:9000');

  const counters = await redirectRulesDump(ns('client'), { counters: true });
  assert.match(counters, /\[[1-9]\d*:\d+\] -A ISTIO_OUTPUT ! -d 127\.0\.0\.1\/32 -p tcp -m mark ! --mark 0x539\/0xfff -j REDIRECT --to-ports 15001/);
  assert.equal(target.connections.length, 0, 'nothing reached the real destination');
  assert.equal(capture.connections.length, 2);
});

test('outbound: a socket with SO_MARK 1337 is not redirected', async (t) => {
  await installRedirectRules(ns('client'), OPTS);
  t.after(() => removeRedirectRules(ns('client')));
  const capture = await listen('client', '0.0.0.0', 15001);
  const target = await listen('server', '0.0.0.0', 80);
  t.after(() => Promise.all([capture.close(), target.close()]));
  const r = await probeConnect(topo, 'client', ip('server'), 80, { mark: 1337 });
  assert.equal(r.ok && r.reply, 'ack:hello');
  const conn = await target.nth(1);
  assert.equal(conn.peer.split(':')[0], ip('client'));
  assert.equal(capture.connections.length, 0);
});

test('inbound: plaintext to 8080 goes to 15006 (original dst kept); 15008 is reached directly', async (t) => {
  await installRedirectRules(ns('server'), OPTS);
  t.after(() => removeRedirectRules(ns('server')));
  const plaintext = await listen('server', '0.0.0.0', 15006);
  const hbone = await listen('server', '0.0.0.0', 15008);
  const app = await listen('server', '0.0.0.0', 8080);
  t.after(() => Promise.all([plaintext.close(), hbone.close(), app.close()]));

  const r1 = await probeConnect(topo, 'plain', ip('server'), 8080);
  assert.equal(r1.ok && r1.reply, 'ack:hello');
  const c1 = await plaintext.nth(1);
  assert.equal(c1.originalDst, `${ip('server')}:8080`);
  assert.equal(c1.peer.split(':')[0], ip('plain'));

  const r2 = await probeConnect(topo, 'plain', ip('server'), 15008);
  assert.equal(r2.ok && r2.reply, 'ack:hello');
  const c2 = await hbone.nth(1);
  assert.equal(c2.local, `${ip('server')}:15008`);
  assert.equal(c2.originalDst, `${ip('server')}:15008`);
  assert.equal(app.connections.length, 0);
  assert.equal(plaintext.connections.length, 1);
});

test('transparent return path: a proxy-marked, spoofed-source connection to the app gets its replies back', async (t) => {
  const app = await listen('server', ip('server'), 8080);
  t.after(() => app.close());
  const spoofed = { mark: 1337, from: ip('plain'), transparent: true, timeoutS: 2 } as const;
  // Without the rules the app's SYN-ACK goes out to the real 'plain' pod, so the connect times out.
  const without = await probeConnect(topo, 'server', ip('server'), 8080, spoofed);
  assert.equal(without.ok, false);

  await installRedirectRules(ns('server'), OPTS);
  t.after(() => removeRedirectRules(ns('server')));
  const r = await probeConnect(topo, 'server', ip('server'), 8080, { ...spoofed, timeoutS: 5 });
  assert.deepEqual(r.ok && r.reply, 'ack:hello');
  const conn = app.connections.at(-1)!;
  assert.equal(conn.peer.split(':')[0], ip('plain'), 'the app sees the original client address');
  assert.equal(conn.originalDst, `${ip('server')}:8080`, 'not NATed');
});

test('remove restores the netns exactly (also with foreign rules present); twice and on a vanished netns is fine', async () => {
  const pristine = await saveState('scratch');
  await installRedirectRules(ns('scratch'), OPTS);
  await removeRedirectRules(ns('scratch'));
  assert.equal(withoutEmptyTables(await saveState('scratch')), withoutEmptyTables(pristine));
  assert.equal(await redirectRulesDump(ns('scratch')), '# ipv4\n# ipv6\n');

  // Foreign rules in the same tables and built-in chains survive untouched, byte for byte.
  const foreign = '*mangle\n:KEEP_ME - [0:0]\n-A OUTPUT -p udp -j KEEP_ME\n-A KEEP_ME -j RETURN\nCOMMIT\n*nat\n-A OUTPUT -p tcp --dport 9 -j RETURN\nCOMMIT\n';
  assert.equal((await topo.exec('scratch', ['iptables-restore', '--noflush'], { input: foreign })).code, 0);
  const before = await saveState('scratch');
  await installRedirectRules(ns('scratch'), OPTS);
  await removeRedirectRules(ns('scratch'));
  await removeRedirectRules(ns('scratch'));
  assert.equal(await saveState('scratch'), before);

  await removeRedirectRules(`/var/run/netns/ambit-${topo.id}-gone`);
});

test('errors are MeshError CAPTURE_SETUP naming the netns', async () => {
  const missing = `/var/run/netns/ambit-${topo.id}-missing`;
  await assert.rejects(installRedirectRules(missing, OPTS), (e) => isMeshError(e, 'CAPTURE_SETUP') && e.message.includes(missing));
  for (const bad of [{ ...OPTS, outboundPort: 0 }, { ...OPTS, mark: 0x1000 }, { ...OPTS, mark: 0x111 }]) {
    await assert.rejects(installRedirectRules(ns('scratch'), bad), (e) => isMeshError(e, 'CAPTURE_SETUP') && e.message.includes(ns('scratch')));
  }
});
