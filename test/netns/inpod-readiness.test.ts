// Readiness with in-pod capture: an agent whose pod cannot be captured yet (its netns does not
// exist) stays not ready and retries; once the netns appears the retry captures it and it is ready.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { startAgent, tempDir, writeConfig, type TestAgent } from '../helpers/agent.js';
import { requireRoot } from '../helpers/netns-topology.js';
import { randomLoopbackPrefix } from '../helpers/tcp.js';
import { workloadYaml } from '../helpers/inpod-mesh-config.js';

const NETNS = `ambit-rd-${randomBytes(3).toString('hex')}`;
const NETNS_PATH = `/var/run/netns/${NETNS}`;
let agent: TestAgent | undefined;

after(async () => {
  await agent?.agent.close();
  if (existsSync(NETNS_PATH)) execFileSync('ip', ['netns', 'del', NETNS]);
});

async function readiness(bind: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://${bind}:15021/healthz/ready`);
  return { status: res.status, body: await res.text() };
}

test('a pod whose netns is not there yet keeps the agent not ready; the 5 s retry captures it once it appears', { timeout: 60_000 }, async () => {
  requireRoot('the in-pod readiness test');
  const bind = `${randomLoopbackPrefix()}.1`;
  const dir = tempDir();
  const yaml = `workloads:\n${workloadYaml({ name: 'late', ip: '10.254.0.2', netnsPath: NETNS_PATH }, 'node1', 'late')}`;
  agent = await startAgent({ nodeName: 'node1', bind, configPath: writeConfig(dir, yaml), stateDir: join(dir, 'state'), waitReady: false });
  const pod = () => (agent!.agent.configDump().workloadState as Array<{ uid: string; state: string; error?: string }>)[0];

  await agent.logs.waitFor((l) => l.msg === 'in-pod proxy failed to start; retrying in 5s');
  assert.equal(pod()?.state, 'retrying');
  assert.match(pod()?.error ?? '', new RegExp(NETNS));
  const notReady = await readiness(bind);
  assert.equal(notReady.status, 500, notReady.body); // ztunnel's not-ready answer
  assert.match(notReady.body, /workload proxy manager/);

  // As a container runtime does: the pod netns appears with its loopback up (the capture routes
  // through lo, and a retry landing between these two commands just fails once more).
  execFileSync('ip', ['netns', 'add', NETNS]);
  execFileSync('ip', ['-n', NETNS, 'link', 'set', 'lo', 'up']);
  await agent.logs.waitFor((l) => l.msg === 'in-pod proxy started', 15_000);
  assert.equal(pod()?.state, 'running');
  await agent.agent.readiness.whenReady();
  const ready = await readiness(bind);
  assert.equal(ready.status, 200, ready.body);
  // The capture is really in place in the new netns.
  const rules = execFileSync('ip', ['netns', 'exec', NETNS, 'iptables-save'], { encoding: 'utf8' });
  assert.match(rules, /ISTIO_PRERT/);
});
