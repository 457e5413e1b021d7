// The ambient egress gateway (Istio's "waypoint as egress gateway" task) through a live
// WaypointProxy: a ServiceEntry (resolution DNS) using the waypoint, translated by translateAll,
// served at its VIP, its endpoint dialled by hostname; an AuthorizationPolicy targeting the
// ServiceEntry lets GET through and answers 403 to POST.

import { strict as assert } from 'node:assert';
import * as http from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { translateAll } from '../../src/controlplane/index.js';
import { snapshotOf } from '../../src/k8s/index.js';
import { OPTS, authz } from '../helpers/k8s-objects.js';
import { serviceEntry } from '../helpers/service-entry-objects.js';
import { meshWithWaypoint } from '../helpers/waypoint-objects.js';
import { startWaypointRig, type WaypointRig } from '../helpers/waypoint-rig.js';

describe('egress through a waypoint to a DNS ServiceEntry', () => {
  let rig: WaypointRig;
  let external: http.Server;
  let vip: string;
  const seen: string[] = [];

  before(async () => {
    external = http.createServer((req, res) => {
      seen.push(`${req.method} ${req.url} host=${req.headers.host}`);
      res.setHeader('content-type', 'text/plain');
      res.end(`external saw ${req.method} ${req.url}`);
    });
    external.listen(0, '127.0.0.1');
    await once(external, 'listening');
    const port = (external.address() as AddressInfo).port;
    rig = await startWaypointRig();
    // The tutorial's objects: the entry (here `localhost`, port 80 → the server's port) and the policy.
    const objects = meshWithWaypoint(
      serviceEntry('httpbin', { hosts: ['localhost'], ports: [{ number: 80, name: 'http', protocol: 'HTTP', targetPort: port }], resolution: 'DNS' }),
      authz('get-only', 'default', { targetRefs: [{ group: 'networking.istio.io', kind: 'ServiceEntry', name: 'httpbin' }], action: 'ALLOW', rules: [{ to: [{ operation: { methods: ['GET'] } }] }] }),
    );
    const t = translateAll(snapshotOf(objects), OPTS);
    assert.deepEqual(t.mesh.errors, []);
    assert.deepEqual(t.waypoints.errors, []);
    const svc = t.mesh.services.find((s) => s.hostname === 'localhost')!;
    vip = svc.vips.find((v) => v.ip.startsWith('240.240.'))!.ip;
    const before = rig.state.snapshot();
    rig.state.apply({
      workloads: [...before.workloads, ...t.mesh.workloads.filter((w) => w.name === 'httpbin')],
      services: [...before.services, svc],
      policies: before.policies,
    });
    rig.proxy.setConfig(t.waypoints.configs.find((c) => c.waypoint.name === 'wp')!);
  });

  after(async () => {
    await rig?.close();
    external?.closeAllConnections();
    external?.close();
  });

  it('GET to the entry VIP reaches the external server, its endpoint resolved by name', async () => {
    const res = await rig.request({ authority: `${vip}:80`, method: 'GET', path: '/get', headers: { host: 'localhost' } });
    assert.equal(res.status, 200);
    assert.equal(res.body, 'external saw GET /get');
    assert.deepEqual(seen, ['GET /get host=localhost']);
  });

  it('POST is denied at the waypoint by the policy targeting the ServiceEntry, never reaching the server', async () => {
    const res = await rig.request({ authority: `${vip}:80`, method: 'POST', path: '/post', headers: { host: 'localhost' }, body: 'x' });
    assert.equal(res.status, 403);
    assert.equal(res.body, 'RBAC: access denied');
    assert.equal(seen.length, 1);
  });
});
