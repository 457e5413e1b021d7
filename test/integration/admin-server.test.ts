// Readiness (15021) and admin (15000) servers over real HTTP on loopback: status codes, bodies,
// content types, /logging effects on real pino loggers, and /quitquitquit.

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { once, EventEmitter } from 'node:events';
import { join } from 'node:path';
import { AdminServer, Readiness, ReadinessServer } from '../../src/admin/index.js';
import { createLogger, targetLogger } from '../../src/common/log.js';
import { startAgent, tempDir, writeConfig } from '../helpers/agent.js';
import { meshAddresses, meshYaml } from '../helpers/mesh-config.js';
import { randomLoopbackPrefix } from '../helpers/tcp.js';

async function startReadiness(t: TestContext) {
  const readiness = new Readiness();
  const server = new ReadinessServer({ readiness, host: '127.0.0.1', port: 0 });
  const addr = await server.start();
  t.after(() => server.destroy());
  return { readiness, base: `http://127.0.0.1:${addr.port}` };
}

test('readiness: 500 with sorted pending list, then 200 ready', async (t) => {
  const { readiness, base } = await startReadiness(t);
  const relB = readiness.register('state manager');
  const relA = readiness.register('dns proxy');
  let res = await fetch(`${base}/healthz/ready`);
  assert.equal(res.status, 500);
  assert.equal(await res.text(), 'not ready, pending: dns proxy, state manager\n');
  relA();
  res = await fetch(`${base}/healthz/ready`);
  assert.equal(await res.text(), 'not ready, pending: state manager\n');
  relB();
  res = await fetch(`${base}/healthz/ready`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'text/plain; charset=utf-8');
  assert.equal(await res.text(), 'ready\n');
});

test('readiness: other methods 405, other paths 404', async (t) => {
  const { base } = await startReadiness(t);
  assert.equal((await fetch(`${base}/healthz/ready`, { method: 'POST' })).status, 405);
  assert.equal((await fetch(`${base}/healthz/ready`, { method: 'HEAD' })).status, 405);
  assert.equal((await fetch(`${base}/healthz`)).status, 404);
  assert.equal((await fetch(`${base}/`)).status, 404);
});

async function startAdmin(t: TestContext, dump: () => Record<string, unknown> = () => ({})) {
  const logger = createLogger({ level: 'info', destination: { write: () => undefined } });
  const accessLogger = logger.child({}, { level: 'info' });
  const quits = new EventEmitter();
  let quitCount = 0;
  const xds = { level: 'info' };
  const server = new AdminServer({
    host: '127.0.0.1',
    port: 0,
    logger,
    accessLogger,
    setLevel: (target, level) => {
      if (target !== 'xds') return false;
      xds.level = level;
      return true;
    },
    resetLevels: () => {
      xds.level = 'info';
    },
    configDump: dump,
    onQuit: () => {
      quitCount++;
      quits.emit('quit');
    },
  });
  const addr = await server.start();
  t.after(() => server.destroy());
  return { server, logger, accessLogger, xds, quits, quitCount: () => quitCount, base: `http://127.0.0.1:${addr.port}` };
}

test('admin /: HTML index linking the endpoints', async (t) => {
  const { base } = await startAdmin(t);
  const res = await fetch(`${base}/`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8');
  const html = await res.text();
  for (const p of ['config_dump', 'logging', 'quitquitquit']) assert.ok(html.includes(`href="${p}"`), p);
  assert.equal((await fetch(`${base}/nope`)).status, 404);
});

test('admin /config_dump: all top-level keys, Maps serialised', async (t) => {
  const { base } = await startAdmin(t, () => ({
    workloads: [{ uid: 'w1', services: new Map([['default/echo', new Map([[80, 8080]])]]) }],
    version: { version: '0.1.0' },
    certificates: [{ identity: 'spiffe://cluster.local/ns/default/sa/a', state: 'Available', certChain: [], rootCerts: [] }],
  }));
  const res = await fetch(`${base}/config_dump`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'application/json');
  const json = (await res.json()) as Record<string, unknown>;
  for (const k of ['workloads', 'services', 'policies', 'stagedServices', 'staticConfig', 'version', 'config', 'certificates']) {
    assert.ok(k in json, k);
  }
  assert.deepEqual(json.workloads, [{ uid: 'w1', services: { 'default/echo': { '80': 8080 } } }]);
  assert.deepEqual(json.services, []);
  // The admin server adds the admin API version ambit ctl reads.
  assert.deepEqual(json.version, { version: '0.1.0', adminApi: 1 });
  assert.equal((await fetch(`${base}/config_dump`, { method: 'POST' })).status, 405);
});

test('agent /config_dump: CA_HEADER_* values and a literal AUTH_TOKEN are redacted, the names shown; the agent keeps the values', async (t) => {
  const addrs = meshAddresses(randomLoopbackPrefix());
  const dir = tempDir();
  const a = await startAgent({
    nodeName: 'a',
    bind: addrs.nodeA,
    configPath: writeConfig(dir, meshYaml(addrs)),
    stateDir: join(dir, 'state'),
    env: { CA_HEADER_X_TENANT: 'tenant-s3cret', CA_HEADER_X_API_KEY: 'key-s3cret', AUTH_TOKEN: 'jwt-s3cret' },
  });
  t.after(() => a.agent.destroy());
  const text = await (await fetch(`http://${addrs.nodeA}:15000/config_dump`)).text();
  assert.doesNotMatch(text, /s3cret/);
  const dump = JSON.parse(text) as { config: { nodeName: string; ca: { headers: unknown; authToken: unknown } } };
  assert.deepEqual(dump.config.ca.headers, { x_tenant: '<redacted>', x_api_key: '<redacted>' });
  assert.deepEqual(dump.config.ca.authToken, { kind: 'literal', token: '<redacted>' });
  assert.equal(dump.config.nodeName, 'a', 'the rest of the config is shown as loaded');
  assert.equal(a.agent.config.ca.headers?.x_tenant, 'tenant-s3cret');
});

test('admin /config_dump: a throwing callback is a 500, server keeps serving', async (t) => {
  const { base } = await startAdmin(t, () => {
    throw new Error('boom');
  });
  assert.equal((await fetch(`${base}/config_dump`)).status, 500);
  assert.equal((await fetch(`${base}/`)).status, 200);
});

test('admin /logging: POST lists and changes levels, GET 405, bad input 400', async (t) => {
  const { base, logger, accessLogger, xds } = await startAdmin(t);
  const post = async (q: string) => {
    const res = await fetch(`${base}/logging${q}`, { method: 'POST' });
    return { status: res.status, body: await res.text(), type: res.headers.get('content-type') };
  };
  let r = await post('');
  assert.deepEqual(r, { status: 200, body: 'current log level is info\n', type: 'text/plain; charset=utf-8' });
  r = await post('?level=debug');
  assert.equal(r.body, 'current log level is debug\n');
  assert.equal(logger.level, 'debug');
  r = await post('?level=access=warn,xds=trace');
  assert.equal(r.status, 200);
  assert.equal(r.body, 'current log level is debug,access=warn,xds=trace\n');
  assert.equal(accessLogger.level, 'warn');
  assert.equal(xds.level, 'trace');
  r = await post('?level=access:warn');
  assert.equal(r.status, 400);
  r = await post('?level=nonsense');
  assert.equal(r.status, 400);
  assert.equal(logger.level, 'debug', 'rejected input changes nothing');
  r = await post('?level=dns=info');
  assert.equal(r.status, 400, 'unknown target');
  r = await post('?reset');
  assert.equal(r.body, 'current log level is info\n');
  assert.equal(accessLogger.level, 'info');
  assert.equal(xds.level, 'info');
  const g = await fetch(`${base}/logging`);
  assert.equal(g.status, 405);
  assert.match(await g.text(), /Invalid HTTP method/);
});

test('admin /logging with LOG_FORMAT=plain: level changes apply to components and the access target, lines stay plain', async (t) => {
  const lines: string[] = [];
  const logger = createLogger({ level: 'info', format: 'plain', destination: { write: (s: string) => void lines.push(s) } });
  const access = targetLogger(logger, 'access');
  const server = new AdminServer({ host: '127.0.0.1', port: 0, logger, accessLogger: access, configDump: () => ({}), onQuit: () => undefined });
  const addr = await server.start();
  t.after(() => server.destroy());
  const post = (q: string): Promise<Response> => fetch(`http://127.0.0.1:${addr.port}/logging?${q}`, { method: 'POST' });
  const pool = logger.child({ component: 'pool' });

  pool.debug('hidden at info');
  assert.equal((await post('level=debug')).status, 200);
  pool.debug({ n: 1 }, 'shown at debug');
  access.info('still info');
  assert.equal((await post('level=access=warn')).status, 200);
  access.info('hidden at warn');
  access.warn({ 'src.addr': '10.0.0.1:1' }, 'access warning');
  assert.deepEqual(
    lines.map((l) => l.split('\t').slice(1).join('|').trimEnd()),
    [
      'info|ambit|log level changed via admin|levels="debug"',
      'debug|pool|shown at debug|n=1',
      'info|access|still info',
      'info|ambit|log level changed via admin|levels="debug,access=warn"',
      'warn|access|access warning|src.addr=10.0.0.1:1',
    ],
  );
  assert.ok(lines.every((l) => /^\d{4}-\d\d-\d\dT[\d:.]+Z\t/.test(l)), 'every line starts with its timestamp');
});

test('admin /quitquitquit: POST calls onQuit after replying; GET 405', async (t) => {
  const { base, quits, quitCount } = await startAdmin(t);
  const get = await fetch(`${base}/quitquitquit`);
  assert.equal(get.status, 405);
  assert.equal(quitCount(), 0);
  const quit = once(quits, 'quit');
  const res = await fetch(`${base}/quitquitquit`, { method: 'POST' });
  assert.equal(res.status, 200);
  assert.equal(await res.text(), 'shutdown now\n');
  await quit;
  assert.equal(quitCount(), 1);
});

test('admin close() stops accepting', async (t) => {
  const { server, base } = await startAdmin(t);
  assert.equal((await fetch(`${base}/`)).status, 200);
  await server.close();
  await assert.rejects(fetch(`${base}/`));
});
