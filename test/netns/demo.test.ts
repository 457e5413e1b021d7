// `npm run demo` end to end, as a newcomer runs it: the real script in a child process, its output
// checked for what it promises to show, and no namespace, veth, rule or process left behind after.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { assertNoLeftovers, requireRoot } from '../helpers/netns-topology.js';

const DEMO = fileURLToPath(new URL('../demo/demo.js', import.meta.url));

interface DemoRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the demo; `interruptAt`, when given, sends SIGINT as soon as stdout contains it. */
async function runDemo(interruptAt?: string): Promise<DemoRun> {
  const child = spawn(process.execPath, [DEMO], { env: { ...process.env, AMBIT_DEMO_IPERF_SECONDS: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const killer = setTimeout(() => child.kill('SIGKILL'), 90_000);
  child.stdout!.on('data', (d: Buffer) => {
    stdout += d.toString();
    if (interruptAt && stdout.includes(interruptAt)) {
      interruptAt = undefined;
      child.kill('SIGINT');
    }
  });
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(killer);
  return { code, stdout, stderr };
}

function topologyId(stdout: string): string {
  const m = /netns ambit-([0-9a-f]+)-c1/.exec(stdout);
  assert.ok(m, `no topology id in the demo output:\n${stdout}`);
  return m[1]!;
}

test('npm run demo: curl and iperf3 through the mesh, identities, access logs and moved metrics; nothing left behind', async () => {
  requireRoot('the demo test');
  const r = await runDemo();
  assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
  const ip = /c1\s+(\d+\.\d+\.\d+\.\d+)/.exec(r.stdout)![1]!;
  assert.match(r.stdout, new RegExp(`hello from s1; client=${ip.replace(/\./g, '\\.')}; path=/by-pod-ip`));
  assert.match(r.stdout, /hello from s[12]; client=[\d.]+; path=\/by-service-vip/);
  assert.match(r.stdout, /sec .* receiver/, 'iperf3 summary shown');
  assert.match(r.stdout, /verified the server as spiffe:\/\/cluster\.local\/ns\/default\/sa\/server/);
  assert.match(r.stdout, /verified the client as\s+spiffe:\/\/cluster\.local\/ns\/default\/sa\/client/);
  assert.match(r.stdout, /node2 inbound\s+c1\(/);
  assert.match(r.stdout, /node2 istio_tcp_received_bytes_total\{reporter=destination source_workload=c1 destination_workload=s1.*\} \+\d+/);
  for (let i = 1; i <= 8; i++) assert.match(r.stdout, new RegExp(`\\[${i}/8\\]`), `progress step ${i}`);
  await assertNoLeftovers(topologyId(r.stdout));
});

test('Ctrl-C in the middle of the demo stops the agents and removes the topology', async () => {
  requireRoot('the demo test');
  const r = await runDemo('[5/8]');
  assert.equal(r.code, 130, `${r.stdout}\n${r.stderr}`);
  assert.match(r.stderr, /SIGINT: cleaning up/);
  await assertNoLeftovers(topologyId(r.stdout));
});

test('without root the demo explains what it needs and exits 1 without touching the network', () => {
  const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, DEMO], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /cannot run on this machine yet/);
  assert.match(r.stderr, /root: the demo creates network namespaces/);
  assert.match(r.stderr, /sudo npm run demo/);
  assert.equal(r.stdout, '', 'nothing was built');
});
