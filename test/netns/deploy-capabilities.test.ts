// The node agent's DaemonSet grants exactly the Linux capabilities in-pod capture needs: the in-pod
// mesh (own redirect rules, pods on a bridge, ambit-control) works with the agents holding only the
// capabilities deploy/ adds, and stops capturing when either one is taken away.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { CpInpodMesh, type NodeName } from '../helpers/cp-inpod-mesh.js';
import { KUSTOMIZATIONS, containerOf, find, renderDeploy } from '../helpers/deploy-manifests.js';
import { namespaceYaml } from '../helpers/inpod-manifests.js';
import { assertNoLeftovers, requireRoot } from '../helpers/netns-topology.js';
import { captureWire, synDestinations } from '../helpers/wire-capture.js';

const SOCKETS_MODULE = new URL('../../src/sockets/index.js', import.meta.url).href;

let mesh: CpInpodMesh;
/** The capabilities deploy/'s node agent container adds (it drops ALL first), e.g. ['NET_ADMIN', 'SYS_ADMIN']. */
let granted: string[];
const NONE: Record<NodeName, string[]> = { node1: [], node2: [] };

before(async () => {
  requireRoot('the node agent capabilities test');
  // The own-rules overlay: the agents install the redirect rules themselves, the mode that needs
  // the most (iptables and `ip rule` inside each pod's namespace on top of sockets made there).
  const ds = find(await renderDeploy(KUSTOMIZATIONS.ownRules), 'DaemonSet', 'ambit-node');
  const caps = containerOf(ds).securityContext?.capabilities;
  assert.deepEqual(caps?.drop, ['ALL']);
  granted = [...(caps?.add ?? [])];
  mesh = await CpInpodMesh.create({ ambient: false });
  await mesh.startControlPlane();
  await mesh.startServers();
});

after(async () => {
  const id = mesh?.topo.id;
  await mesh?.close();
  if (id) await assertNoLeftovers(id);
});

/** setpriv: the agent's bounding set (uid 0: its permitted and effective sets) is exactly `caps`. */
function limitedTo(caps: readonly string[]): string[] {
  const list = ['-all', ...caps.map((c) => `+${c.toLowerCase()}`)].join(',');
  return ['setpriv', `--bounding-set=${list}`, '--inh-caps=-all', '--'];
}

/** Restarts both agents holding only `caps`, then enrolls the namespace. */
async function agentsWith(caps: readonly string[]): Promise<void> {
  mesh.manifests.write('namespace.yaml', namespaceYaml(false));
  if (mesh.agents.size > 0) await mesh.waitEnrollment({ captured: NONE, protocol: {} });
  await Promise.all([...mesh.agents.values()].map((a) => a.stop()));
  mesh.agents.clear();
  await mesh.startAgents({ wrapper: limitedTo(caps) });
  for (const agent of mesh.agents.values()) {
    const status = await readFileCaps(agent.pid!);
    assert.equal(status, capMask(caps), `agent ${agent.spec.nodeName} holds exactly ${caps.join(', ') || 'no capability'}`);
  }
  mesh.manifests.write('namespace.yaml', namespaceYaml(true));
}

/** CapEff of a running process. */
async function readFileCaps(pid: number): Promise<bigint> {
  const { readFile } = await import('node:fs/promises');
  const line = (await readFile(`/proc/${pid}/status`, 'utf8')).split('\n').find((l) => l.startsWith('CapEff:'))!;
  return BigInt(`0x${line.split(/\s+/)[1]}`);
}

/** Linux capability numbers (linux/capability.h) of the ones named here. */
const CAP_BITS: Record<string, number> = { NET_ADMIN: 12, NET_RAW: 13, SYS_ADMIN: 21 };
function capMask(caps: readonly string[]): bigint {
  return caps.reduce((m, c) => m | (1n << BigInt(CAP_BITS[c] ?? -1)), 0n);
}

/** Pod errors of both agents' in-pod proxies, once every enrolled pod has failed at least once. */
async function podErrors(): Promise<string[]> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const states = (await Promise.all([...mesh.agents.values()].map(async (a) => ((await a.configDump()).workloadState as Array<{ uid: string; state: string; error?: string }> | undefined) ?? []))).flat();
    if (states.length === 4 && states.every((s) => s.error !== undefined)) {
      assert.ok(states.every((s) => s.state !== 'running'));
      return states.map((s) => s.error!);
    }
    if (Date.now() > deadline) throw new Error(`pods did not all fail to start within 15 s: ${JSON.stringify(states)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('the DaemonSet grants NET_ADMIN and SYS_ADMIN (NET_RAW not among them)', () => {
  assert.deepEqual([...granted].sort(), ['NET_ADMIN', 'SYS_ADMIN']);
});

test('with exactly those capabilities the agents capture every pod and carry its traffic over HBONE', async () => {
  await agentsWith(granted);
  await mesh.waitEnrollment({ captured: { node1: ['c1', 'c2'], node2: ['s1', 's2'] }, protocol: { c1: 'HBONE', c2: 'HBONE', s1: 'HBONE', s2: 'HBONE' } });
  const c1 = mesh.topo.pods.get('c1')!;
  const s1 = mesh.topo.pods.get('s1')!;
  const cap = await captureWire(c1.veth, c1.ip, () => mesh.curl('c1', `http://${s1.ip}:8080/caps`));
  assert.equal(cap.result.code, 0, cap.result.error);
  assert.equal(cap.result.body, `hello from s1; client=${c1.ip}; path=/caps\n`, 'the app sees the client pod’s address (IP_TRANSPARENT)');
  assert.deepEqual(synDestinations(cap.packets), [`${s1.ip}:15008`], 'HBONE only');
});

for (const missing of ['SYS_ADMIN', 'NET_ADMIN']) {
  test(`without ${missing} no pod can be captured: the agent reports why, and never claims the pod`, async () => {
    await agentsWith(granted.filter((c) => c !== missing));
    const errors = await podErrors();
    for (const e of errors) assert.match(e, /EPERM|operation not permitted|permission denied/i, `${missing} missing: ${e}`);
    const view = await Promise.all(['node1', 'node2'].map(async (n) => ((await mesh.agent(n as NodeName).configDump()).workloadState as Array<{ state: string }>).map((s) => s.state)));
    assert.ok(view.flat().every((s) => s === 'retrying'), `retried, not running: ${JSON.stringify(view)}`);
  });
}

/**
 * One pod socket as the agent makes it in every capture mode (with istio-cni's rules too): created
 * inside the pod's namespace with the proxy mark and IP_TRANSPARENT, by a process holding `caps`.
 */
function podSocket(caps: readonly string[]): string {
  const script = `
    const { loadNativeSockets } = await import(${JSON.stringify(SOCKETS_MODULE)});
    const load = loadNativeSockets();
    if (!load.ok) { console.log('addon: ' + load.reason); process.exit(0); }
    load.native.createSocket({ netns: ${JSON.stringify(mesh.topo.pods.get('c1')!.netnsPath)}, family: 4, mark: 1337, transparent: true }, (err, fd) => {
      if (fd !== undefined) load.native.closeSocket(fd);
      console.log(err ? err.syscall + ' ' + err.code : 'ok');
    });`;
  const r = spawnSync(limitedTo(caps)[0]!, [...limitedTo(caps).slice(1), process.execPath, '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
  return r.stdout.trim() || r.stderr.trim();
}

test('a pod socket (every capture mode makes them) needs both: SYS_ADMIN to enter the namespace, NET_ADMIN for the mark', () => {
  assert.equal(podSocket(granted), 'ok');
  assert.equal(podSocket(granted.filter((c) => c !== 'SYS_ADMIN')), 'setns EPERM');
  assert.equal(podSocket(granted.filter((c) => c !== 'NET_ADMIN')), 'setsockopt SO_MARK EPERM');
});
