// REGISTRY_ONLY for real: pod netns on a bridge, `ambit control` and two node agents as processes,
// in-pod capture, and an "external" server in a namespace outside the mesh. ALLOW_ANY reaches it;
// the control plane restarted with --outbound-traffic-policy REGISTRY_ONLY makes the client's agent
// refuse it (curl fails, access log and metrics say NR); a ServiceEntry makes it reachable again
// (by address, or as a DNS host the client resolved itself); removing the entry refuses it again.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LogLine } from '../helpers/agent-process.js';
import { CpInpodMesh } from '../helpers/cp-inpod-mesh.js';
import { MESH_NAMESPACE } from '../helpers/inpod-manifests.js';
import { assertNoLeftovers, requireRoot } from '../helpers/netns-topology.js';
import { startPodServer } from '../helpers/pod-server-process.js';
import { metricSum } from '../helpers/prometheus-text.js';
import { serviceEntryYaml } from '../helpers/service-entry-objects.js';

const EXT_HOST = 'ext.example.test';
let mesh: CpInpodMesh;

const ip = (pod: string): string => mesh.topo.pods.get(pod)!.ip;

before(async () => {
  requireRoot('the REGISTRY_ONLY egress tests');
  mesh = await CpInpodMesh.create({ ambient: true, extraPods: ['ext'] });
  try {
    await mesh.startControlPlane();
    // The agents resolve names from their own /etc/hosts, where ext.example.test is the ext pod
    // (a private mount namespace: the machine's /etc/hosts is not touched).
    const hosts = join(mesh.dir, 'hosts');
    writeFileSync(hosts, `127.0.0.1 localhost\n${ip('ext')} ${EXT_HOST}\n`);
    await mesh.startAgents({ wrapper: ['unshare', '--mount', '--propagation', 'private', 'sh', '-c', 'mount --bind "$0" /etc/hosts && exec "$@"', hosts] });
    await mesh.startServers();
    mesh.servers.push(await startPodServer(mesh.topo, 'ext'));
    await mesh.waitEnrollment({ captured: { node1: ['c1', 'c2'], node2: ['s1', 's2'] }, protocol: { c1: 'HBONE', c2: 'HBONE', s1: 'HBONE', s2: 'HBONE' } });
  } catch (err) {
    await mesh.close();
    throw err;
  }
});

after(async () => {
  const id = mesh?.topo.id;
  await mesh?.close();
  if (id) await assertNoLeftovers(id);
});

function outbound(): LogLine[] {
  return mesh.agent('node1').lines.filter((l) => l.msg === 'connection complete' && l.direction === 'outbound');
}

async function waitLine(match: (l: LogLine) => boolean, what: string): Promise<LogLine> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const l = outbound().find(match);
    if (l) return l;
    if (Date.now() > deadline) throw new Error(`no outbound line on node1 ${what}; have ${JSON.stringify(outbound().slice(-5))}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Polls node1's /config_dump until `ok` holds. */
async function waitDump(ok: (dump: Record<string, unknown>) => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (ok(await mesh.agent('node1').configDump())) return;
    } catch {
      // the admin port answers once the agent is up; it is
    }
    if (Date.now() > deadline) throw new Error(`node1 never showed ${what} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const workloads = (d: Record<string, unknown>) => (d.workloads as Array<{ name: string; outboundTrafficPolicy?: string }> | undefined) ?? [];
const hasService = (host: string) => (d: Record<string, unknown>) => ((d.services as Array<{ hostname: string }> | undefined) ?? []).some((s) => s.hostname === host);

async function setEntry(name: string, spec: Record<string, unknown> | undefined, host: string): Promise<void> {
  if (spec === undefined) mesh.manifests.remove(`${name}.yaml`);
  else mesh.manifests.write(`${name}.yaml`, serviceEntryYaml(name, MESH_NAMESPACE, spec));
  await waitDump((d) => hasService(host)(d) === (spec !== undefined), spec === undefined ? `${host} gone` : `service ${host}`);
}

/** Sends `ping` to argv host:port and prints `closed: <what came back>` when the connection ends. */
const ECHO_CLIENT = `const s = require('net').connect(+process.argv[2], process.argv[1], () => s.write('ping'));
let got = ''; s.on('data', (d) => { got += d; if (got === 'ping') s.end(); });
s.on('error', () => undefined); s.on('close', () => process.stdout.write('closed: ' + got));
setTimeout(() => s.destroy(), 5000);`;

const extUrl = (path: string): string => `http://${ip('ext')}:8080/${path}`;
const hello = (path: string, from = 'c1'): string => `hello from ext; client=${ip(from)}; path=/${path}\n`;

test('ALLOW_ANY (the default): the external server is reached, passed through as it is', async () => {
  const r = await mesh.curl('c1', extUrl('allow-any'));
  assert.equal(r.code, 0, r.error);
  assert.equal(r.body, hello('allow-any'));
  const line = await waitLine((l) => l['dst.addr'] === `${ip('ext')}:8080`, 'for the passthrough');
  assert.equal(line.error, undefined);
  assert.equal(line['dst.service'], undefined);
});

test('REGISTRY_ONLY: the control plane restarted with the policy; the external server is refused with NR, the mesh still works', async () => {
  await mesh.cp!.stop();
  await mesh.startControlPlane({ extraFlags: ['--outbound-traffic-policy', 'REGISTRY_ONLY'] });
  await waitDump((d) => ['c1', 'c2'].every((n) => workloads(d).find((w) => w.name === n)?.outboundTrafficPolicy === 'REGISTRY_ONLY'), 'REGISTRY_ONLY on c1 and c2');
  for (const from of ['c1', 'c2']) {
    const r = await mesh.curl(from, extUrl(`refused-${from}`));
    assert.notEqual(r.code, 0, `${from} must be refused, got: ${r.body}`);
  }
  const line = await waitLine((l) => l.response_flags === 'NR' && l['src.workload'] === 'c1', 'with response_flags NR');
  assert.equal(line['dst.addr'], `${ip('ext')}:8080`);
  assert.match(String(line.error), /refused by outboundTrafficPolicy REGISTRY_ONLY/);
  const body = await mesh.agent('node1').metrics();
  assert.ok(metricSum(body, 'istio_tcp_connections_failed_total', { response_flags: 'NR', destination_service: 'BlackHoleCluster', source_workload: 'c1' }) >= 1, 'failed connections counted with NR');
  // Registered destinations are untouched: a pod IP and the Service VIP.
  const pod = await mesh.curl('c1', `http://${ip('s1')}:8080/mesh-pod`);
  assert.equal(pod.code, 0, pod.error);
  const vip = await mesh.curl('c1', `http://${mesh.pods.vip}/mesh-vip`);
  assert.equal(vip.code, 0, vip.error);
});

test('a DNS ServiceEntry for the host makes the address the client resolved reachable; removing it refuses again', async () => {
  await setEntry('ext', { hosts: [EXT_HOST], ports: [{ number: 8080, name: 'http', protocol: 'HTTP' }], resolution: 'DNS' }, EXT_HOST);
  // curl resolves the name itself (--resolve), as an app with its own DNS answer would.
  const r = await mesh.topo.exec('c1', ['curl', '-sS', '--max-time', '5', '--resolve', `${EXT_HOST}:8080:${ip('ext')}`, `http://${EXT_HOST}:8080/by-name`]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, hello('by-name'));
  const line = await waitLine((l) => l['dst.service'] === EXT_HOST, `for ${EXT_HOST}`);
  assert.equal(line['dst.addr'], `${EXT_HOST}:8080`, 'sent as the host: its endpoint, resolved by the agent');
  assert.equal(line.error, undefined);

  await setEntry('ext', undefined, EXT_HOST);
  const again = await mesh.curl('c1', extUrl('after-removal'));
  assert.notEqual(again.code, 0, `refused again, got: ${again.body}`);
});

test('a ServiceEntry with the address (resolution NONE) admits it, only on its port', async () => {
  await setEntry('ext-ip', { hosts: ['ext-by-ip.example.test'], addresses: [ip('ext')], ports: [{ number: 8080, name: 'http', protocol: 'HTTP' }], resolution: 'NONE' }, 'ext-by-ip.example.test');
  const r = await mesh.curl('c1', extUrl('by-address'));
  assert.equal(r.code, 0, r.error);
  assert.equal(r.body, hello('by-address'));
  // The echo port (9000) of the same address is no port of the entry: still refused.
  const echo = await mesh.topo.exec('c1', [process.execPath, '-e', ECHO_CLIENT, ip('ext'), '9000']);
  assert.equal(echo.stdout, 'closed: ', 'port 9000 is not registered: closed before any echo');
  await setEntry('ext-ip', undefined, 'ext-by-ip.example.test');
  const gone = await mesh.curl('c1', extUrl('gone'));
  assert.notEqual(gone.code, 0);
});
