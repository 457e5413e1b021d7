// `npm run demo` end to end, as a newcomer runs it: the real script in a child process, its output
// checked for what it promises to show, and no namespace, veth, rule, process or file left behind.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runDemoScript, type DemoRun } from '../helpers/demo-run.js';
import { assertNoLeftovers, requireRoot } from '../helpers/netns-topology.js';

const DEMO = fileURLToPath(new URL('../demo/demo.js', import.meta.url));

/** Runs the demo; `interruptAt`, when given, sends SIGINT as soon as stdout contains it. */
function runDemo(interruptAt?: string): Promise<DemoRun> {
  return runDemoScript(DEMO, { env: { AMBIT_DEMO_IPERF_SECONDS: '1' }, killAfterMs: 90_000, ...(interruptAt === undefined ? {} : { interruptAt }) });
}

function topologyId(stdout: string): string {
  const m = /netns ambit-([0-9a-f]+)-c1/.exec(stdout);
  assert.ok(m, `no topology id in the demo output:\n${stdout}`);
  return m[1]!;
}

const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Nothing of the run is left: topology, the processes it named (control plane, agents), its folder. */
async function assertCleanedUp(stdout: string): Promise<void> {
  await assertNoLeftovers(topologyId(stdout));
  for (const m of stdout.matchAll(/pid (\d+)/g)) {
    assert.throws(() => process.kill(Number(m[1]), 0), { code: 'ESRCH' }, `process ${m[1]} still running`);
  }
  const dir = /DIR=(\S+)/.exec(stdout)?.[1];
  assert.ok(dir, 'the demo names its folder');
  assert.equal(existsSync(dir), false, `${dir} removed`);
}

test('npm run demo: label, policy and unlabel edits seen from the client, on the wire, in identities, logs and metrics; nothing left behind', async () => {
  requireRoot('the demo test');
  const r = await runDemo();
  assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
  const out = r.stdout;
  const ip = (pod: string): string => esc(new RegExp(`\\b${pod}\\s+(\\d+\\.\\d+\\.\\d+\\.\\d+)`).exec(out)![1]!);
  const [c1, c2, s1] = [ip('c1'), ip('c2'), ip('s1')];
  for (let i = 1; i <= 8; i++) assert.match(out, new RegExp(`\\[${i}/8\\]`), `progress step ${i}`);
  assert.match(out, /\$ ambit control --manifests \$DIR\/manifests .*--ca-token-file/);
  assert.match(out, /AMBIT_CA_PROVIDER=istiod CA_ADDRESS=https:\/\//);
  assert.match(out, /CA issued: client@node1, other@node1, server@node2/);
  // (a) not captured: plaintext straight to the server.
  assert.match(out, new RegExp(`hello from s1; client=${c1}; path=/before-the-label`));
  assert.match(out, new RegExp(`connect → ${s1}:8080\\s*\\n.*"GET /before-the-label" visible in clear`));
  // (b) the label: captured live, HBONE, identities, access log.
  assert.match(out, /\+ {5}istio\.io\/dataplane-mode: ambient/);
  assert.match(out, /changed \["Namespace"\]/);
  assert.match(out, /node1 in-pod proxies c1, c2; node2 s1, s2; all four HBONE/);
  assert.match(out, new RegExp(`hello from s1; client=${c1}; path=/after-the-label`));
  assert.match(out, new RegExp(`connect → ${s1}:15008\\s*\\n.*"GET /after-the-label" not visible: TLS records only`));
  assert.match(out, new RegExp(`hello from s[12]; client=${c1}; path=/via-the-service-vip`));
  assert.match(out, /no restarts: same agent and server processes as before/);
  assert.match(out, /-A ISTIO_OUTPUT .* -j REDIRECT --to-ports 15001/);
  assert.match(out, /verified the server as spiffe:\/\/cluster\.local\/ns\/demo\/sa\/server/);
  assert.match(out, /verified the client as\s+spiffe:\/\/cluster\.local\/ns\/demo\/sa\/client/);
  assert.match(out, /node2 inbound\s+c1\(/);
  assert.match(out, /sec .* receiver/, 'iperf3 summary shown');
  // (c) the policy: c1 refused, c2 admitted, c1 again once the file is gone.
  assert.match(out, /\+ {9}principals: \["cluster\.local\/ns\/demo\/sa\/client"\]/);
  assert.match(out, /:8080\/denied\s*\n.*curl: \(\d+\)/);
  assert.match(out, new RegExp(`hello from s1; client=${c2}; path=/from-c2`));
  assert.match(out, /explicitly denied by: demo\/deny-client/);
  assert.match(out, new RegExp(`hello from s1; client=${c1}; path=/allowed-again`));
  assert.match(out, /node2 istio_tcp_connections_closed_total\{reporter=destination source_workload=c1 destination_workload=s1 connection_security_policy=mutual_tls response_flags=DENY\} \+1/);
  // (d) the label removed: out of the mesh again.
  assert.match(out, /- {5}istio\.io\/dataplane-mode: ambient/);
  assert.match(out, new RegExp(`hello from s1; client=${c1}; path=/after-the-label-is-gone`));
  assert.match(out, /"GET \/after-the-label-is-gone" visible in clear/);
  assert.match(out, /no in-pod proxy on either node, 0 redirect rules left in the pods, all four workloads TCP/);
  assert.match(out, /Demo complete/);
  assert.ok(r.ms < 45_000, `the demo took ${r.ms} ms`);
  await assertCleanedUp(out);
});

test('Ctrl-C in the middle of the demo stops the control plane and the agents and removes the topology', async () => {
  requireRoot('the demo test');
  const r = await runDemo('[5/8]');
  assert.equal(r.code, 130, `${r.stdout}\n${r.stderr}`);
  assert.match(r.stderr, /SIGINT: cleaning up/);
  await assertCleanedUp(r.stdout);
});

test('without root the demo explains what it needs and exits 1 without touching the network', () => {
  const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, DEMO], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /cannot run on this machine yet/);
  assert.match(r.stderr, /root: the demo creates network namespaces/);
  assert.match(r.stderr, /sudo npm run demo/);
  assert.match(r.stderr, /ambit control --manifests examples\/mesh/);
  assert.equal(r.stdout, '', 'nothing was built');
});
