// AuthorizationPolicy enforced by a live WaypointProxy over real HBONE: 403 "RBAC: access denied"
// before routing, path normalization (bypass attempts, the normalized path upstream, %00 ⇒ 400),
// principals and ipBlocks of the real client, gRPC and WebSocket requests, TCP tunnels (401),
// CUSTOM failing closed, config swaps, metrics and access-log fields.

import { strict as assert } from 'node:assert';
import * as http2 from 'node:http2';
import { after, before, describe, it } from 'node:test';
import type { AuthzPolicy, WaypointSecurityConfig } from '../../src/waypoint/index.js';
import { captureLogs, type LogCapture } from '../helpers/log-capture.js';
import { H2_PORT, HOST, NS, TCP_PORT, VIP, startWaypointRig, type WaypointRig } from '../helpers/waypoint-rig.js';
import { readUntil } from '../helpers/http1-wire.js';

const SVC_KEY = `${NS}/${HOST}`;

const sec = (...authorization: AuthzPolicy[]): WaypointSecurityConfig => ({ authorization, jwtRules: [] });
const p = (name: string, action: AuthzPolicy['action'], rules: AuthzPolicy['rules'], over: Partial<AuthzPolicy> = {}): AuthzPolicy => ({ namespace: NS, name, action, rules, ...over });

describe('waypoint AuthorizationPolicy', () => {
  let rig: WaypointRig;
  let logs: LogCapture;
  before(async () => {
    logs = captureLogs('info');
    rig = await startWaypointRig({ accessLog: logs.logger });
  });
  after(async () => rig.close());

  const hitsFor = (url: string): number => rig.hits.filter((h) => h.url === url).length;

  it('denies with 403 "RBAC: access denied" before routing; other paths reach the backend', async () => {
    rig.config({}, undefined, sec(p('deny-admin', 'DENY', [{ to: [{ paths: ['/admin', '/admin/*'] }] }])));
    const r = await rig.request({ path: '/admin?x=1' });
    assert.equal(r.status, 403);
    assert.equal(r.body, 'RBAC: access denied');
    assert.equal(hitsFor('/admin?x=1'), 0);
    assert.equal((await rig.request({ path: '/public' })).status, 200);
    const line = (await logs.waitFor('request complete', 1)) as Record<string, unknown>;
    assert.equal(line.response_code, 403);
    assert.equal(line.response_flags, '-');
    assert.equal(line.response_code_details, 'rbac_access_denied_matched_policy[ns[default]-policy[deny-admin]-rule[0]]');
    const metric = await rig.registry.getSingleMetricAsString('ambit_waypoint_authz_denied_total');
    assert.match(metric, /ambit_waypoint_authz_denied_total\{policy="default\/deny-admin",protocol="http"\} 1/);
  });

  it('matches and forwards the normalized path: encoded and dot-segment bypasses are denied, %00 is 400', async () => {
    rig.config({}, undefined, sec(p('deny-admin', 'DENY', [{ to: [{ paths: ['/admin', '/admin/*'] }] }])));
    for (const path of ['/%61dmin', '/public/../admin', '/public/%2e%2e/admin/x', '/x/..%2F..%2Fadmin/../../admin']) {
      assert.equal((await rig.request({ path })).status, 403, path);
    }
    const ok = await rig.request({ path: '/public/./a/../b?q=%2e' });
    assert.equal(ok.status, 200);
    assert.equal(JSON.parse(ok.body).url, '/public/b?q=%2e');
    assert.equal((await rig.request({ path: '/a%00b' })).status, 400);
    // Absolute-form request target: the path inside the URL is what counts.
    const { stream } = await rig.connect();
    stream.write('GET http://reviews/admin HTTP/1.1\r\nHost: reviews\r\nConnection: close\r\n\r\n');
    assert.match(await readUntil(stream, (t) => t.includes('RBAC: access denied')), /^HTTP\/1.1 403/);
  });

  it('ALLOW by the client\'s mTLS principal, namespace and source IP', async () => {
    const allowed = async (policy: AuthzPolicy): Promise<number> => {
      rig.config({}, undefined, sec(policy));
      return (await rig.request({ path: '/who' })).status;
    };
    assert.equal(await allowed(p('a', 'ALLOW', [{ from: [{ principals: ['cluster.local/ns/default/sa/sleep'] }] }])), 200);
    assert.equal(await allowed(p('a', 'ALLOW', [{ from: [{ principals: ['cluster.local/ns/default/sa/other'] }] }])), 403);
    assert.equal(await allowed(p('a', 'ALLOW', [{ from: [{ serviceAccounts: ['default/sleep'] }] }])), 200);
    assert.equal(await allowed(p('a', 'ALLOW', [{ from: [{ namespaces: ['prod'] }] }])), 403);
    assert.equal(await allowed(p('a', 'ALLOW', [{ from: [{ ipBlocks: [`${rig.ips.client}/32`] }] }])), 200);
    assert.equal(await allowed(p('a', 'ALLOW', [{ from: [{ notIpBlocks: [rig.ips.client] }] }])), 403);
    assert.equal(await allowed(p('a', 'ALLOW', [{ to: [{ ports: [80], methods: ['GET'], hosts: ['REVIEWS'] }] }])), 200);
    assert.equal(await allowed(p('a', 'ALLOW', [{ when: [{ key: 'destination.ip', values: [VIP] }, { key: 'request.headers[host]', values: ['reviews'] }] }])), 200);
    assert.equal(await allowed(p('a', 'ALLOW', [])), 403, 'spec {} denies all');
    assert.equal(await allowed(p('a', 'ALLOW', [{}])), 200, 'rules [{}] allows all');
    assert.equal(await allowed(p('a', 'DENY', [{}], { services: ['default/ratings.default.svc.cluster.local'] })), 200, 'another service\'s policy');
  });

  it('remote.ip trusts X-Forwarded-For only for the configured number of hops', async () => {
    const policy = p('remote', 'ALLOW', [{ from: [{ remoteIpBlocks: ['203.0.113.9'] }] }]);
    rig.config({}, undefined, { ...sec(policy), xffTrustedHops: 1 });
    assert.equal((await rig.request({ path: '/xff', headers: { 'x-forwarded-for': '1.1.1.1, 203.0.113.9' } })).status, 200);
    assert.equal((await rig.request({ path: '/xff', headers: { 'x-forwarded-for': '203.0.113.9, 1.1.1.1' } })).status, 403);
    assert.equal((await rig.request({ path: '/xff' })).status, 403);
    rig.config({}, undefined, sec(policy));
    assert.equal((await rig.request({ path: '/xff', headers: { 'x-forwarded-for': '203.0.113.9' } })).status, 403, 'no trusted hops: XFF ignored');
  });

  it('a config swap takes effect for the next request', async () => {
    rig.config({}, undefined, sec(p('deny-all', 'DENY', [{}])));
    const agent = rig.agent();
    assert.equal((await rig.request({ path: '/swap', agent })).status, 403);
    rig.config({});
    assert.equal((await rig.request({ path: '/swap', agent })).status, 200);
  });

  it('CUSTOM fails closed: 403 with flag UAEX', async () => {
    rig.config({}, undefined, sec(p('ext', 'CUSTOM', []), p('allow-all', 'ALLOW', [{}])));
    const before = logs.lines.length;
    const r = await rig.request({ path: '/custom' });
    assert.equal(r.status, 403);
    const line = logs.lines.slice(before).find((l) => l.msg === 'request complete' && (l as Record<string, unknown>).path === '/custom') as Record<string, unknown> | undefined;
    assert.equal(line?.response_flags, 'UAEX');
    assert.equal(line?.response_code_details, 'ext_authz_error');
  });

  it('AUDIT and dry-run are logged and never enforced', async () => {
    rig.config({}, undefined, sec(p('audit', 'AUDIT', [{}]), p('shadow', 'DENY', [{}], { dryRun: true })));
    const before = logs.lines.length;
    assert.equal((await rig.request({ path: '/audited' })).status, 200);
    await new Promise((r) => setImmediate(r));
    const line = logs.lines.slice(before).find((l) => l.msg === 'request complete' && (l as Record<string, unknown>).path === '/audited') as Record<string, unknown> | undefined;
    assert.equal(line?.audit_policy, 'default/audit');
    assert.equal(line?.dry_run_result, 'denied[default/shadow]');
  });

  it('a gRPC request over HTTP/2 is denied with grpc-status 7 (PERMISSION_DENIED)', async () => {
    rig.config({}, undefined, sec(p('deny-grpc', 'DENY', [{ to: [{ paths: ['/grpc/*'] }] }])));
    const { stream } = await rig.connect(`${VIP}:${H2_PORT}`);
    const session = http2.connect('http://reviews', { createConnection: () => stream as never });
    const req = session.request({ ':method': 'POST', ':path': '/grpc/Svc/Call', 'content-type': 'application/grpc', te: 'trailers' });
    req.end(Buffer.from([0, 0, 0, 0, 0]));
    const headers = await new Promise<http2.IncomingHttpHeaders>((res) => req.once('response', res));
    req.resume();
    assert.equal(headers[':status'], 200);
    assert.equal(headers['grpc-status'], '7');
    session.destroy();
  });

  it('a WebSocket upgrade is authorized like any request', async () => {
    rig.config({}, undefined, sec(p('deny-ws', 'DENY', [{ to: [{ paths: ['/ws'] }] }])));
    const { stream } = await rig.connect();
    stream.write('GET /ws HTTP/1.1\r\nHost: reviews\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n');
    const head = await readUntil(stream, (t) => t.includes('RBAC: access denied'));
    assert.match(head, /^HTTP\/1.1 403 Forbidden/);
    assert.equal(rig.hits.some((h) => h.url === '/ws'), false);
  });

  it('TCP ports: L4 rules decide the CONNECT (401 when denied); an ALLOW rule with HTTP fields never matches', async () => {
    const tcp = (policy: AuthzPolicy): Promise<number> => {
      rig.config({}, undefined, sec(policy));
      return rig.connect(`${VIP}:${TCP_PORT}`).then((s) => {
        s.stream.destroy();
        return 200;
      }, (err: { status?: number }) => err.status ?? 0);
    };
    assert.equal(await tcp(p('t', 'ALLOW', [{ from: [{ principals: ['*/sa/sleep'] }], to: [{ ports: [TCP_PORT] }] }])), 200);
    assert.equal(await tcp(p('t', 'ALLOW', [{ from: [{ principals: ['*/sa/sleep'] }], to: [{ paths: ['/x'] }] }])), 401);
    assert.equal(await tcp(p('t', 'DENY', [{ to: [{ methods: ['POST'], ports: [TCP_PORT] }] }])), 401);
    assert.equal(await tcp(p('t', 'DENY', [{ to: [{ methods: ['POST'], ports: [80] }] }])), 200);
    const metric = await rig.registry.getSingleMetricAsString('ambit_waypoint_authz_denied_total');
    assert.match(metric, /policy="default\/t",protocol="tcp"\} 1\b/);
    assert.match(metric, /policy="none",protocol="tcp"\} 1\b/);
  });

  it('config_dump lists the policies in force', () => {
    rig.config({}, undefined, sec(p('deny-admin', 'DENY', [{}], { services: [SVC_KEY] })));
    const dump = rig.proxy.configDump() as { security: { authorization: unknown[] } };
    assert.deepEqual(dump.security.authorization, [{ policy: 'default/deny-admin', action: 'DENY', services: [SVC_KEY], dryRun: false, rules: 1 }]);
  });
});
