// `ambit ctl` when the address is wrong, over real sockets: nothing listening, a port that never
// answers, one that drops HTTP, an HTTP server that is not Ambit, answers that are not JSON, a
// config dump of another product, older and newer Ambit dumps (version skew); and the `ambit ctl`
// command itself as a process (exit statuses, stderr).

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { AMBIT_CLI } from '../helpers/agent-readiness.js';
import { ctl } from '../helpers/ctl-run.js';

/** A loopback port nothing listens on (bound, then closed). */
async function freePort(): Promise<number> {
  const s = createTcpServer();
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  const { port } = s.address() as AddressInfo;
  s.close();
  await once(s, 'close');
  return port;
}

async function listen(t: TestContext, server: Server): Promise<string> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  t.after(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;
const http = (t: TestContext, handler: Handler): Promise<string> => listen(t, createHttpServer(handler));

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

/** An Ambit node agent's dump as an older release answered it (no adminApi, no /debug views). */
function oldDump(workloads: unknown[]): unknown {
  return { workloads, services: [], policies: [], stagedServices: [], staticConfig: {}, version: { ambit: '0.0.9' }, config: {}, certificates: [] };
}

const WORKLOAD = { uid: 'u1', name: 'sleep', namespace: 'default', workloadIps: ['10.0.0.1'], node: 'n1', protocol: 'HBONE' };

test('nothing listening: which address, is the agent running, how to port-forward (exit 1)', async () => {
  const port = await freePort();
  const r = await ctl(['workloads', '--node-agent', `127.0.0.1:${port}`]);
  assert.equal(r.code, 1);
  assert.equal(r.out, '');
  assert.match(r.err, new RegExp(`^ambit ctl: cannot read the node agent admin API: nothing is listening at 127\\.0\\.0\\.1:${port} \\(connection refused\\)\\. Is \`ambit node\` running there\\?`));
  assert.match(r.err, /AMBIT_PORT_ADMIN/);
  assert.match(r.err, /kubectl -n ambit-system port-forward pod\/<ambit-node pod on the node> 15000:15000/);
  const c = await ctl(['services', '--control', `127.0.0.1:${port}`]);
  assert.equal(c.code, 1);
  assert.match(c.err, /cannot read ambit control's monitoring port: nothing is listening .* Is `ambit control` running there\? .*AMBIT_PORT_MONITORING/);
});

test('a port that accepts and never answers: the timeout, named', async (t) => {
  const addr = await listen(t, createTcpServer(() => undefined));
  const r = await ctl(['workloads', '--node-agent', addr, '--timeout', '300ms']);
  assert.equal(r.code, 1);
  assert.match(r.err, new RegExp(`no answer from ${addr.replace(/\./g, '\\.')} within 300 ms`));
});

test('a port that closes plain HTTP requests (a TLS port): not an admin port', async (t) => {
  const addr = await listen(t, createTcpServer((s) => s.once('data', () => s.destroy())));
  const r = await ctl(['workloads', '--node-agent', addr]);
  assert.equal(r.code, 1);
  assert.match(r.err, /closed the connection without an HTTP answer: it is not an HTTP port/);
});

test('an HTTP server that is not Ambit: what it answered (status, content type, server, body)', async (t) => {
  const addr = await http(t, (_req, res) => {
    res.writeHead(404, { 'content-type': 'text/html', server: 'nginx/1.24' });
    res.end('<html><body><h1>404 Not Found</h1></body></html>');
  });
  const r = await ctl(['workloads', '--node-agent', addr]);
  assert.equal(r.code, 1);
  assert.equal(
    r.err,
    `ambit ctl: ${addr} is not an Ambit admin API (node agent or waypoint): GET /config_dump answered HTTP 404 Not Found, content-type text/html, server nginx/1.24, body "<html><body><h1>404 Not Found</h1></body></html>"\n`,
  );
  const c = await ctl(['workloads', '--control', addr]);
  assert.match(c.err, /is not ambit control's monitoring port: GET \/debug\/resources answered HTTP 404/);
});

test('an answer that is not JSON, and a Prometheus port recognised as such', async (t) => {
  const addr = await http(t, (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('# HELP istio_build Istio component build info\n# TYPE istio_build gauge\nistio_build{component="ztunnel"} 1\n');
  });
  const r = await ctl(['policies', '--node-agent', addr]);
  assert.equal(r.code, 1);
  assert.match(r.err, /answered \/config_dump with HTTP 200 OK, content-type text\/plain, body "# HELP istio_build .*": that is not JSON; it looks like a Prometheus metrics port/);
});

test('JSON that is not an Ambit dump: a ztunnel-like dump is pointed at istioctl', async (t) => {
  const addr = await http(t, (_req, res) => json(res, 200, { workloads: [], services: [], version: { version: '1.24.0', git_revision: 'abc' } }));
  const r = await ctl(['workloads', '--node-agent', addr]);
  assert.equal(r.code, 1);
  assert.match(r.err, /a config dump whose version has no "ambit" field: it is not an Ambit process \(ztunnel\? read it with istioctl ztunnel-config\)/);
});

test('an older Ambit: the fields missing, its version, and the admin API version needed', async (t) => {
  const legacy = { uid: 'u1', name: 'sleep', namespace: 'default', node: 'n1' };
  const addr = await http(t, (req, res) => (req.url === '/config_dump' ? json(res, 200, oldDump([legacy])) : (res.writeHead(404), res.end())));
  const r = await ctl(['workloads', '--node-agent', addr]);
  assert.equal(r.code, 1);
  assert.equal(
    r.err,
    `ambit ctl: the node agent admin API at ${addr} answered a /config_dump without fields this ambit ctl reads: workloads[0].workloadIps (missing), workloads[0].protocol (missing); ` +
      'it reports Ambit 0.0.9, admin API 0. This ambit ctl needs admin API 1 (Ambit 0.1.0 with `ambit ctl`, or later): upgrade that process, or use the ambit ctl of its release\n',
  );
});

test('an older Ambit without /debug views: explain and connections say which version is needed; all leaves connections out', async (t) => {
  const addr = await http(t, (req, res) => (req.url === '/config_dump' ? json(res, 200, oldDump([WORKLOAD])) : (res.writeHead(404), res.end())));
  const e = await ctl(['explain', '--node-agent', addr, '--from', 'default/sleep', '--to', 'echo:80']);
  assert.equal(e.code, 1);
  assert.match(e.err, /has no \/debug\/explain; it reports Ambit 0\.0\.9, admin API 0\. This ambit ctl needs admin API 1/);
  const c = await ctl(['connections', '--node-agent', addr]);
  assert.match(c.err, /has no \/debug\/connections; it reports Ambit 0\.0\.9, admin API 0/);
  const all = await ctl(['all', '--node-agent', addr]);
  assert.equal(all.code, 0);
  assert.match(all.out, /^NAMESPACE {2}POD NAME {2}ADDRESS {3}NODE {2}WAYPOINT {2}PROTOCOL\ndefault {4}sleep {5}10\.0\.0\.1 {2}n1 {4}None {6}HBONE\n/);
  assert.ok(!all.out.includes('WORKLOAD  DIRECTION'));
  assert.match(all.err, /^ambit ctl: connections left out: .*has no \/debug\/connections/);
});

test('a newer Ambit whose dump lacks what this ambit ctl reads: use the ambit ctl of its release', async (t) => {
  const addr = await http(t, (_req, res) => json(res, 200, { ...(oldDump([{ ...WORKLOAD, protocol: undefined }]) as object), version: { ambit: '9.0.0', adminApi: 7 } }));
  const r = await ctl(['workloads', '--node-agent', addr]);
  assert.match(r.err, /workloads\[0\]\.protocol \(missing\); it reports Ambit 9\.0\.0, admin API 7, newer than this ambit ctl \(admin API 1\): use the ambit ctl of its release/);
});

test('a malformed /debug answer from an agent of this admin API is refused naming the field', async (t) => {
  const addr = await http(t, (req, res) => {
    res.setHeader('x-ambit-admin-api', '1');
    if (req.url === '/debug/connections') return json(res, 200, { connections: [{ workloadUid: 'u1', direction: 'inbound' }] });
    json(res, 200, { ...(oldDump([WORKLOAD]) as object), version: { ambit: '0.1.0', adminApi: 1 } });
  });
  const r = await ctl(['connections', '--node-agent', addr]);
  assert.equal(r.code, 1);
  assert.match(r.err, /answered \/debug\/connections without fields this ambit ctl reads: connections\[0\]\.protocol \(missing\), connections\[0\]\.local \(missing\)/);
});

async function run(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawn(process.execPath, [AMBIT_CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, out, err };
}

test('the ambit ctl command: --help exits 0, a usage error 2, an unreachable agent 1; ambit help lists ctl', async () => {
  const help = await run(['ctl', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.out, /^Usage: ambit ctl <command> \[flags\]/);
  const usage = await run(['ctl', 'pods']);
  assert.equal(usage.code, 2);
  assert.equal(usage.err, 'ambit ctl: unknown command "pods"; one of: workloads, services, policies, certificates, connections, all, explain, routes\n');
  const port = await freePort();
  const down = await run(['ctl', 'workloads', '--node-agent', `127.0.0.1:${port}`]);
  assert.equal(down.code, 1);
  assert.match(down.err, /nothing is listening at 127\.0\.0\.1:\d+ \(connection refused\)/);
  const top = await run(['help']);
  assert.match(top.out, /^ {2}ctl {7}inspect a running mesh/m);
});
