// `npm run demo:waypoint` end to end, as a newcomer runs it (AMBIT_DEMO_QUICK=1: fewer requests): the
// real script in a child process; every scenario checks itself, and its output is checked here for
// what it promises to show; nothing is left behind, also after Ctrl-C.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runDemoScript, type DemoRun } from '../helpers/demo-run.js';
import { assertNoLeftovers, requireRoot } from '../helpers/netns-topology.js';

const DEMO = fileURLToPath(new URL('../demo/waypoint-demo.js', import.meta.url));
const STEPS = 13;

/** Runs the demo; `interruptAt`, when given, sends SIGINT as soon as stdout contains it. */
function runDemo(interruptAt?: string): Promise<DemoRun> {
  return runDemoScript(DEMO, { env: { AMBIT_DEMO_QUICK: '1' }, killAfterMs: 240_000, ...(interruptAt === undefined ? {} : { interruptAt }) });
}

/** Nothing of the run is left: topology, the processes it named (control plane, agents, waypoint), its folder. */
async function assertCleanedUp(stdout: string): Promise<void> {
  const id = /netns ambit-([0-9a-f]+)-c1/.exec(stdout)?.[1];
  assert.ok(id, `no topology id in the demo output:\n${stdout}`);
  await assertNoLeftovers(id);
  for (const m of stdout.matchAll(/pid (\d+)/g)) {
    assert.throws(() => process.kill(Number(m[1]), 0), { code: 'ESRCH' }, `process ${m[1]} still running`);
  }
  const dir = /DIR=(\S+)/.exec(stdout)?.[1];
  assert.ok(dir, 'the demo names its folder');
  assert.equal(existsSync(dir), false, `${dir} removed`);
}

test('npm run demo:waypoint: the tutorials\' scenarios, each manifest beside what the client sees, all checked; nothing left behind', async () => {
  requireRoot('the waypoint demo test');
  const r = await runDemo();
  assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
  const out = r.stdout;
  for (let i = 1; i <= STEPS; i++) assert.match(out, new RegExp(`\\[${i}/${STEPS}\\]`), `progress step ${i}`);
  assert.match(out, /pod wp \(\d+\.\d+\.\d+\.\d+\): ambit waypoint, pid \d+/);
  assert.match(out, /answers: v1 ×\d+, v2 ×\d+\s*│?\s*\n.*the pods saw every request from \d+\.\d+\.\d+\.\d+ \(the waypoint\)/);
  // Canary by HTTPRoute weights, edited live; then the header A/B route.
  assert.match(out, /HTTPRoute demo\/echo: → echo-v1 90% \+ echo-v2 10%/);
  assert.match(out, /-\s+weight: 90\s.*\n\s*\+\s+weight: 50/);
  assert.match(out, /HTTPRoute demo\/echo: → echo-v1 0% \+ echo-v2 100%/);
  assert.match(out, /100 answers: v2 ×100$/m);
  assert.match(out, /curl -H 'end-user: jason' http:\/\/echo\/ab {2}×20\s*\n.*20 answers: v2 ×20/);
  // VirtualService and DestinationRule tutorials.
  assert.match(out, /VirtualService demo\/echo: \[end-user=jason\] → echo\/v2 100%/);
  assert.match(out, /VirtualService demo\/echo: → echo\/v1 50% \+ echo\/v2 50%/);
  assert.match(out, /answers: 200 ×2, each after median 2\.\d\d s/);
  assert.match(out, /waypoint access log: 200 - ×\d+, 200 DI ×2, 500 FI ×\d+/);
  assert.match(out, /2 answers: 504 ×2 \("upstream request timeout"\), after median \d+ ms/);
  assert.match(out, /40 answers: 200 ×40, v2 ×40/);
  assert.match(out, /waypoint access log: \d+ requests took 2 attempts/);
  assert.match(out, /hey -n 30 -c 3 .*\n.*200 ×\d+, 503 ×\d+/);
  assert.match(out, /waypoint access log: 200 - ×\d+, 503 UO ×\d+/);
  assert.match(out, /s2 \(v2\): 20 copies, e\.g\. GET \/mirror/);
  // Security at the waypoint.
  assert.match(out, /c2\$ curl http:\/\/echo\/api\/info\s*\n.*→ 403 RBAC: access denied/);
  assert.match(out, /Bearer \$FORGED" http:\/\/echo\/headers\s*\n.*→ 401 Jwt verification fails/);
  assert.match(out, /Bearer \$TOKEN" http:\/\/echo\/headers\s*\n.*→ 200 from v1/);
  assert.match(out, /Bearer \$GROUPS_TOKEN" http:\/\/echo\/headers\s*\n.*→ 200 from v1/);
  assert.match(out, /Waypoint demo complete/);
  assert.ok(r.ms < 180_000, `the demo took ${r.ms} ms`);
  await assertCleanedUp(out);
});

test('Ctrl-C in the middle of the waypoint demo stops every process and removes the topology', async () => {
  requireRoot('the waypoint demo test');
  const r = await runDemo(`[5/${STEPS}]`);
  assert.equal(r.code, 130, `${r.stdout}\n${r.stderr}`);
  assert.match(r.stderr, /SIGINT: cleaning up/);
  await assertCleanedUp(r.stdout);
});

test('without root the waypoint demo explains what it needs and exits 1 without touching the network', () => {
  const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, DEMO], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /cannot run on this machine yet/);
  assert.match(r.stderr, /root: the demo creates network namespaces/);
  assert.match(r.stderr, /sudo npm run demo:waypoint/);
  assert.equal(r.stdout, '', 'nothing was built');
});
