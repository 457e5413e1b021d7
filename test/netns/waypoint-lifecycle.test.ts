// The waypoint hop under stress and change: multi-MiB bodies both ways (digests checked at both
// ends), the waypoint process restarting under the client agents' pooled HBONE connections, and the
// control plane going away (the last config keeps serving) and coming back (changes apply again).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertNoLeftovers, requireRoot } from '../helpers/netns-topology.js';
import { WaypointMesh, echoed } from '../helpers/waypoint-mesh.js';
import { backend, routeYaml, serviceParent } from '../helpers/waypoint-manifests.js';
import { patternBody } from '../helpers/pod-echo-http.js';

let wm: WaypointMesh;
let dir: string;

before(async () => {
  requireRoot('the waypoint lifecycle tests');
  dir = mkdtempSync(join(tmpdir(), 'ambit-wp-bodies-'));
  wm = await WaypointMesh.start();
});

after(async () => {
  const id = wm?.topo.id;
  await wm?.close();
  rmSync(dir, { recursive: true, force: true });
  if (id) await assertNoLeftovers(id);
});

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

test('multi-MiB bodies through the waypoint: a 6 MiB upload and a 12 MiB download arrive intact (HTTP/1.1 and h2c)', async () => {
  const upload = randomBytes(6 * 1024 * 1024);
  const file = join(dir, 'upload.bin');
  writeFileSync(file, upload);
  for (const h2 of [false, true]) {
    const r = await wm.curl(wm.url('echo-v1', '/upload'), [...(h2 ? ['--http2-prior-knowledge'] : []), '--data-binary', `@${file}`, '-H', 'content-type: application/octet-stream'], { maxTimeS: 60 });
    assert.equal(r.status, 200, `${h2 ? 'h2c' : 'h1'}: ${r.error}`);
    const s = echoed(r)!;
    assert.equal(s.bodyBytes, upload.length);
    assert.equal(s.bodySha256, sha256(upload));

    const out = join(dir, `download-${h2}.bin`);
    const size = 12 * 1024 * 1024;
    const d = await wm.exec('c1', ['curl', '-sS', '--max-time', '60', ...(h2 ? ['--http2-prior-knowledge'] : []), '-o', out, '-w', '%{http_code}', wm.url('echo-v2', `/download?size=${size}`)], 90_000);
    assert.equal(d.stdout, '200', d.stderr);
    const got = readFileSync(out);
    assert.equal(got.length, size);
    assert.equal(sha256(got), sha256(patternBody(size)));
  }
});

test('the waypoint restarts: requests fail while it is gone and succeed again once it is back, on the same client agents', async () => {
  assert.equal((await wm.curl(wm.url('echo', '/before-restart'))).status, 200);
  const agentPids = [wm.mesh.agent('node1').pid, wm.mesh.agent('node2').pid];
  assert.deepEqual(await wm.waypoint.stop(), { code: 0, signal: null }, 'drains and exits 0');
  const down = await wm.curl(wm.url('echo', '/while-down'), [], { maxTimeS: 5 });
  assert.notEqual(down.exit, 0, `no waypoint, no answer: got ${down.status}`);
  await wm.waypoint.start(60_000);
  // The client agent's pooled connection to the old process is gone; the next request dials anew.
  const deadline = Date.now() + 15_000;
  let r = await wm.curl(wm.url('echo', '/after-restart'));
  while (r.status !== 200 && Date.now() < deadline) {
    await new Promise((res) => setTimeout(res, 200));
    r = await wm.curl(wm.url('echo', '/after-restart'));
  }
  assert.equal(r.status, 200, r.error || r.body);
  for (let i = 0; i < 5; i++) assert.equal((await wm.curl(wm.url('echo', `/after-restart/${i}`))).status, 200);
  assert.deepEqual([wm.mesh.agent('node1').pid, wm.mesh.agent('node2').pid], agentPids, 'no agent restarted');
});

test('the control plane goes away: the waypoint keeps its last config and certificate and serves; when it is back, a route change applies', async () => {
  await wm.setRoutes(routeYaml('HTTPRoute', 'before-cp-stop', [serviceParent('echo', 80)], [{ backendRefs: [backend('echo-v1', 80)] }]), { 'echo:80': ['before-cp-stop'] });
  const cp = wm.mesh.cp!;
  await cp.stop();
  for (let i = 0; i < 5; i++) {
    const r = await wm.curl(wm.url('echo', `/cp-down/${i}`));
    assert.equal(r.status, 200, r.error || r.body);
    assert.equal(echoed(r)!.pod, 's1', 'the route in force still applies');
  }
  await cp.start();
  await wm.setRoutes(routeYaml('HTTPRoute', 'after-cp-start', [serviceParent('echo', 80)], [{ backendRefs: [backend('echo-v2', 80)] }]), { 'echo:80': ['after-cp-start'] });
  const r = await wm.curl(wm.url('echo', '/cp-back'));
  assert.equal(echoed(r)!.pod, 's2');
});
