// `ambit ctl` against two live node agents in-process (the standard two-node mesh): every command's
// table and JSON/YAML output, open connections while traffic flows, and `explain` for an allowed
// connection, a DENY, no ALLOW matching and STRICT refusing plaintext — each verdict checked against
// what the data path really does with the same connection through SOCKS5.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { parse as parseYaml } from 'yaml';
import type { TestAgent } from '../helpers/agent.js';
import { ctl, tableRows } from '../helpers/ctl-run.js';
import { CLIENT_ID, CLIENT2_ID, ECHO_ID, meshYaml, type MeshAddresses } from '../helpers/mesh-config.js';
import { echoTransfer, socks5Connect } from '../helpers/tcp.js';
import { startTwoNodeMesh, type TwoNodeMesh } from '../helpers/two-node-mesh.js';

let mesh: TwoNodeMesh;
let a: TestAgent;
let b: TestAgent;
let addrs: MeshAddresses;

const admin = (agent: TestAgent): string => `${agent.bind}:${agent.agent.addresses().admin!.port}`;

before(async () => {
  mesh = await startTwoNodeMesh();
  ({ a, b, addrs } = mesh);
});
after(() => mesh?.close());

const DENY_OTHER = `- name: deny-other
  namespace: default
  scope: Namespace
  action: Deny
  rules:
  - - - destinationPorts: [1]
  - - - principals: [{Exact: "cluster.local/ns/default/sa/other"}]
`;
const ALLOW_CLIENT = `- name: allow-client
  namespace: default
  scope: Namespace
  action: Allow
  rules:
  - - - principals: [{Exact: "cluster.local/ns/default/sa/client"}]
`;
const STRICT = `- name: istio_converted_static_strict
  namespace: istio-system
  scope: WorkloadSelector
  action: Deny
  rules:
  - - - notPrincipals: [{Presence: []}]
`;

/** The mesh with echo under PeerAuthentication STRICT (the static policy attached to it, as istiod does). */
function strictYaml(): string {
  const yaml = meshYaml(addrs, STRICT);
  const withRef = yaml.replace('  canonicalRevision: v2\n', '  canonicalRevision: v2\n  authorizationPolicies: ["istio-system/istio_converted_static_strict"]\n');
  assert.notEqual(withRef, yaml);
  return withRef;
}

/** Whether the data path lets `from` reach echo's VIP through agent a's SOCKS5 (a small echo when it does). */
async function reaches(from: string): Promise<boolean> {
  let s: Socket;
  try {
    s = await socks5Connect({ host: a.bind, port: a.agent.config.ports.socks5 }, { host: addrs.vip, port: 80 }, from);
  } catch (err) {
    assert.equal((err as { socksReply?: number }).socksReply, 2, `refused as "not allowed by ruleset": ${String(err)}`);
    return false;
  }
  const r = await echoTransfer(s, 1024);
  assert.equal(r.receivedSha256, r.sentSha256);
  return true;
}

test('workloads: table as istioctl shows it, JSON and YAML the dump\'s workloads, --namespace filters', async () => {
  const t = await ctl(['workloads', '--node-agent', admin(a)]);
  assert.equal(t.code, 0, t.err);
  assert.equal(t.err, '');
  assert.equal(t.out.split('\n')[0], 'NAMESPACE  POD NAME  ADDRESS' + ' '.repeat(addrs.client.length - 7 + 2) + 'NODE  WAYPOINT  PROTOCOL');
  assert.deepEqual(tableRows(t.out), [
    ['default', 'client', addrs.client, 'a', 'None', 'HBONE'],
    ['default', 'client2', addrs.client2, 'a', 'None', 'HBONE'],
    ['default', 'echo', addrs.echo, 'b', 'None', 'HBONE'],
    ['default', 'tcp-echo', addrs.tcpEcho, 'b', 'None', 'TCP'],
  ]);
  const j = await ctl(['workloads', '--node-agent', admin(a), '-o', 'json']);
  const dump = (await (await fetch(`http://${admin(a)}/config_dump`)).json()) as { workloads: unknown[] };
  assert.deepEqual(JSON.parse(j.out), dump.workloads);
  const y = await ctl(['workloads', '--node-agent', admin(b), '-o', 'yaml', '-n', 'default']);
  assert.deepEqual(parseYaml(y.out), dump.workloads, 'node b holds the same mesh');
  const none = await ctl(['workloads', '--node-agent', admin(a), '-n', 'kube-system', '-o', 'json']);
  assert.deepEqual(JSON.parse(none.out), []);
});

test('services: VIP, no waypoint, endpoints healthy/total; JSON is the dump\'s service', async () => {
  const t = await ctl(['services', '--node-agent', admin(a)]);
  assert.equal(t.code, 0, t.err);
  assert.deepEqual(tableRows(t.out), [['default', 'echo', addrs.vip, 'None', '1/1']]);
  const j = JSON.parse((await ctl(['services', '--node-agent', admin(a), '-o', 'json'])).out) as Array<{ hostname: string; vips: unknown }>;
  assert.deepEqual(j.map((s) => [s.hostname, s.vips]), [['echo.default.svc.cluster.local', [{ network: '', ip: addrs.vip }]]]);
});

test('policies and certificates: tables and JSON from the live agent', async () => {
  await mesh.reconfigure(meshYaml(addrs, DENY_OTHER + ALLOW_CLIENT));
  const p = await ctl(['policies', '--node-agent', admin(a)]);
  assert.deepEqual(tableRows(p.out), [
    ['default', 'allow-client', 'Allow', 'Namespace'],
    ['default', 'deny-other', 'Deny', 'Namespace'],
  ]);
  const pj = JSON.parse((await ctl(['policies', '--node-agent', admin(a), '-o', 'json'])).out) as Array<{ name: string; rules: unknown[] }>;
  assert.deepEqual(pj.map((x) => [x.name, x.rules.length]), [['allow-client', 1], ['deny-other', 2]]);

  const dump = (await (await fetch(`http://${admin(a)}/config_dump`)).json()) as { certificates: Array<{ identity: string; certChain: Array<{ serialNumber: string }>; rootCerts: Array<{ serialNumber: string }> }> };
  const c = await ctl(['certificates', '--node-agent', admin(a)]);
  assert.equal(c.code, 0, c.err);
  assert.equal(c.out.split('\n')[0]?.replace(/ {2,}/g, '|'), 'CERTIFICATE NAME|TYPE|STATUS|VALID CERT|SERIAL NUMBER|NOT AFTER|NOT BEFORE');
  const rows = tableRows(c.out);
  const expected = dump.certificates.flatMap((x) => [
    [x.identity, 'Leaf', 'Available', 'true', x.certChain[0]!.serialNumber],
    ...x.rootCerts.map((r) => [x.identity, 'Root', 'Available', 'true', r.serialNumber]),
  ]);
  assert.deepEqual(rows.map((r) => r.slice(0, 5)), expected);
  assert.deepEqual(dump.certificates.map((x) => x.identity), [CLIENT_ID, CLIENT2_ID], 'agent a holds its two workloads\' certificates');
  const cj = JSON.parse((await ctl(['certificates', '--node-agent', admin(b), '-o', 'json'])).out) as Array<{ identity: string }>;
  // Node b's workloads: echo, and tcp-echo (service account default), which gets one too.
  assert.deepEqual(cj.map((x) => x.identity), ['spiffe://cluster.local/ns/default/sa/default', ECHO_ID]);
  const filtered = await ctl(['certificates', '--node-agent', admin(a), '-n', 'other-ns']);
  assert.deepEqual(tableRows(filtered.out), []);
});

test('connections: an open SOCKS5 → HBONE connection shows outbound on agent a and inbound on agent b; gone once closed', async () => {
  await mesh.reconfigure(meshYaml(addrs));
  const s = await socks5Connect({ host: a.bind, port: a.agent.config.ports.socks5 }, { host: addrs.vip, port: 80 }, addrs.client);
  try {
    // Listed from the moment the SOCKS5 success is sent (agent a) and the CONNECT answered 200 (agent b).
    const out = await ctl(['connections', '--node-agent', admin(a)]);
    assert.equal(out.code, 0, out.err);
    const rowsA = tableRows(out.out);
    assert.equal(rowsA.length, 1, out.out);
    const [wl, dir, local, remote, target, proto] = rowsA[0]!;
    assert.deepEqual([wl, dir, remote, target, proto], ['client.default', 'Outbound', 'echo.default:15008', 'echo.default.svc.cluster.local:80', 'HBONE']);
    assert.match(local!, /^client\.default:\d+$/);
    const raw = tableRows((await ctl(['connections', '--node-agent', admin(a), '--raw'])).out);
    assert.match(raw[0]![2]!, new RegExp(`^${addrs.client.replace(/\./g, '\\.')}:\\d+$`));
    assert.equal(raw[0]![3], `${addrs.echo}:15008`);
    assert.equal(raw[0]![4], `${addrs.vip}:80`);

    const inB = await ctl(['connections', '--node-agent', admin(b), '-o', 'json']);
    const rowsB = JSON.parse(inB.out) as Array<Record<string, string>>;
    assert.equal(rowsB.length, 1, inB.out);
    assert.equal(rowsB[0]!.direction, 'inbound');
    assert.equal(rowsB[0]!.protocol, 'HBONE');
    assert.equal(rowsB[0]!.workloadUid, 'Kubernetes//v1/Pod/default/echo');
    assert.equal(rowsB[0]!.local, `${addrs.echo}:${addrs.echoPort}`);
    assert.equal(rowsB[0]!.remoteTarget, `${addrs.echo}:${addrs.echoPort}`);
    assert.equal(rowsB[0]!.identity, CLIENT_ID);
    assert.match(rowsB[0]!.remote!, new RegExp(`^${addrs.client.replace(/\./g, '\\.')}:\\d+$`));
    const tableB = tableRows((await ctl(['connections', '--node-agent', admin(b)])).out);
    assert.deepEqual(tableB.map((r) => [r[0], r[1], r[2], r[5]]), [['echo.default', 'Inbound', `echo.default:${addrs.echoPort}`, 'HBONE']]);
  } finally {
    s.destroy();
  }
  const open = async (agent: TestAgent): Promise<number> => (JSON.parse((await ctl(['connections', '--node-agent', admin(agent), '-o', 'json'])).out) as unknown[]).length;
  const deadline = Date.now() + 10_000;
  while ((await open(a)) + (await open(b)) > 0) {
    assert.ok(Date.now() < deadline, 'connections still listed 10 s after the client closed');
    await new Promise((r) => setTimeout(r, 50));
  }
});

test('all: every section in one run (table and JSON)', async () => {
  const t = await ctl(['all', '--node-agent', admin(a)]);
  assert.equal(t.code, 0, t.err);
  for (const header of ['NAMESPACE  POD NAME', 'NAMESPACE  SERVICE NAME', 'NAMESPACE  POLICY NAME', 'CERTIFICATE NAME', 'WORKLOAD  DIRECTION']) {
    assert.ok(t.out.includes(header), `${header} in:\n${t.out}`);
  }
  const j = JSON.parse((await ctl(['all', '--node-agent', admin(a), '-o', 'json'])).out) as Record<string, unknown[]>;
  assert.deepEqual(Object.keys(j), ['workloads', 'services', 'policies', 'certificates', 'connections']);
  assert.equal(j.workloads!.length, 4);
  assert.equal(j.certificates!.length, 2);
});

interface ExplainJson {
  verdict: string;
  summary: string;
  route: { kind: string; nextHop: string; authority: string; expectedIdentities: string[]; endpoint?: { address: string } };
  authorization: Array<{ decision: string; policy?: string; rule?: number; allowed: boolean; chosen: boolean }>;
}

async function explain(agent: TestAgent, from: string, to: string): Promise<{ text: string; json: ExplainJson }> {
  const t = await ctl(['explain', '--node-agent', admin(agent), '--from', from, '--to', to]);
  assert.equal(t.code, 0, t.err);
  const j = await ctl(['explain', '--node-agent', admin(agent), '--from', from, '--to', to, '-o', 'json']);
  return { text: t.out, json: JSON.parse(j.out) as ExplainJson };
}

test('explain: allowed by an ALLOW policy (rule named), denied by a DENY rule — and the data path agrees', async () => {
  await mesh.reconfigure(meshYaml(addrs, DENY_OTHER + ALLOW_CLIENT));
  const ok = await explain(a, 'default/client', `echo.default.svc.cluster.local:80`);
  assert.equal(ok.json.route.kind, 'hbone');
  assert.equal(ok.json.route.nextHop, `${addrs.echo}:15008`);
  assert.equal(ok.json.route.authority, `${addrs.echo}:${addrs.echoPort}`);
  assert.deepEqual(ok.json.route.expectedIdentities, [ECHO_ID]);
  assert.deepEqual([ok.json.verdict, ok.json.authorization[0]?.decision, ok.json.authorization[0]?.policy, ok.json.authorization[0]?.rule], ['allow', 'allow-policy', 'default/allow-client', 0]);
  assert.match(ok.text, /^ROUTE {9}HBONE \(mTLS HTTP\/2 CONNECT\) to \S+:15008, authority \S+$/m);
  assert.match(ok.text, /^VERDICT {7}ALLOW: allowed by ALLOW policy default\/allow-client rule 0$/m);
  assert.equal(await reaches(addrs.client), true);

  const denied = await explain(a, `${addrs.client2}`, `${addrs.vip}:80`);
  assert.deepEqual([denied.json.verdict, denied.json.authorization[0]?.decision, denied.json.authorization[0]?.policy, denied.json.authorization[0]?.rule], ['deny', 'deny-policy', 'default/deny-other', 1]);
  assert.match(denied.text, /^VERDICT {7}DENY: denied by DENY policy default\/deny-other rule 1$/m);
  assert.equal(await reaches(addrs.client2), false);
});

test('explain: denied because no ALLOW policy matched — and the data path agrees', async () => {
  await mesh.reconfigure(meshYaml(addrs, ALLOW_CLIENT));
  const e = await explain(a, 'default/client2', 'echo.default:80');
  assert.deepEqual([e.json.verdict, e.json.authorization[0]?.decision, e.json.authorization[0]?.policy], ['deny', 'deny-no-allow-match', undefined]);
  assert.match(e.text, /^VERDICT {7}DENY: denied: no ALLOW policy matched \(ALLOW policies: default\/allow-client\)$/m);
  assert.equal(await reaches(addrs.client2), false);
  assert.equal(await reaches(addrs.client), true);
});

test('explain: PeerAuthentication STRICT refuses plaintext from outside the mesh, while mTLS from the mesh passes', async () => {
  await mesh.reconfigure(strictYaml());
  const outsider = `${addrs.prefix}.99`;
  for (const [agent, from] of [[a, outsider], [b, 'default/tcp-echo']] as const) {
    // Without a source namespace a short name cannot be resolved: name the service with its namespace.
    const e = await explain(agent, from, 'echo.default:80');
    assert.equal(e.json.route.kind, 'plaintext');
    assert.deepEqual([e.json.verdict, e.json.authorization[0]?.decision, e.json.authorization[0]?.policy], ['deny', 'deny-strict', 'istio-system/istio_converted_static_strict']);
    assert.match(e.text, /^ROUTE {9}plaintext TCP to \S+:80: no node agent on the source side$/m);
    assert.match(e.text, /DENY {7}denied: PeerAuthentication STRICT refuses plaintext \(istio-system\/istio_converted_static_strict\)$/m);
    assert.match(e.text, /inbound plaintext \(15006\)/);
  }
  const mtls = await explain(a, 'default/client', 'echo:80');
  assert.deepEqual([mtls.json.verdict, mtls.json.authorization[0]?.decision], ['allow', 'allow-no-policies']);
  assert.equal(await reaches(addrs.client), true);
});

test('explain: a bad query is the user\'s error (exit 2, the agent\'s reason); explain on node b evaluates with b\'s state', async () => {
  const bad = await ctl(['explain', '--node-agent', admin(a), '--from', 'default/nope', '--to', 'echo:80']);
  assert.equal(bad.code, 2);
  assert.equal(bad.out, '');
  assert.equal(bad.err, 'ambit ctl: explain: from "default/nope": no workload default/nope in this agent\'s state (node a)\n');
  const other = await ctl(['explain', '--node-agent', admin(b), '--from', 'default/client', '--to', 'echo:80', '-o', 'json']);
  const e = JSON.parse(other.out) as { notes: string[]; evaluatedBy: string };
  assert.equal(e.evaluatedBy, 'b');
  assert.ok(e.notes.some((n) => n.startsWith('default/client runs on node a')));
});

test('routes against a node agent\'s admin port says it needs a waypoint\'s', async () => {
  const r = await ctl(['routes', '--waypoint', admin(a)]);
  assert.equal(r.code, 1);
  assert.match(r.err, /is a node agent's admin API \(its \/config_dump names no waypoint\): routes needs a waypoint's/);
});

test('the agent\'s stats and readiness ports given as the admin port: recognised by what they serve', async () => {
  const { stats, readiness } = a.agent.addresses();
  const s = await ctl(['workloads', '--node-agent', `${a.bind}:${stats!.port}`]);
  assert.equal(s.code, 1);
  assert.match(s.err, /is not an Ambit admin API \(node agent or waypoint\): GET \/config_dump answered HTTP 404 .*It looks like a Prometheus metrics port \(15020\?\): it answers \/metrics\n$/);
  const r = await ctl(['workloads', '--node-agent', `${a.bind}:${readiness!.port}`]);
  assert.match(r.err, /It looks like a readiness port \(15021\?\): it answers \/healthz\/ready\n$/);
});

test('admin /debug views: GET only, unknown views 404, listed on the index, every answer names the admin API version', async () => {
  const base = `http://${admin(a)}`;
  const post = await fetch(`${base}/debug/connections`, { method: 'POST' });
  assert.equal(post.status, 405);
  assert.equal(post.headers.get('x-ambit-admin-api'), '1');
  const missing = await fetch(`${base}/debug/pprof`);
  assert.equal(missing.status, 404);
  assert.equal(missing.headers.get('x-ambit-admin-api'), '1');
  const index = await (await fetch(`${base}/`)).text();
  assert.match(index, /<a href="debug\/connections">debug\/connections<\/a>/);
  assert.match(index, /<a href="debug\/explain">debug\/explain<\/a>/);
  const bad = await fetch(`${base}/debug/explain?from=default%2Fclient`);
  assert.equal(bad.status, 400);
  assert.deepEqual(await bad.json(), { error: { code: 'ADMIN_QUERY_INVALID', message: 'to is required: ?from=<namespace>/<pod>|<ip>&to=<host>:<port>' } });
  const dump = (await (await fetch(`${base}/config_dump`)).json()) as { version: { ambit: string; adminApi: number } };
  assert.deepEqual([dump.version.ambit, dump.version.adminApi], ['0.1.0', 1]);
});
