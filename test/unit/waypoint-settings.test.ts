// Table-driven tests for `ambit waypoint`'s settings: Istio's waypoint pod variables, precedence,
// defaults, the one-source rule (XDS_ADDRESS xor a manifests folder), bad values and their wording.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isMeshError } from '../../src/common/errors.js';
import { loadWaypointConfig, redactedConfig, REDACTED, SETTINGS, WAYPOINT_SETTINGS, type WaypointProcessConfig } from '../../src/config/index.js';

/** The least a valid waypoint needs. */
const BASE = { POD_NAMESPACE: 'demo', WAYPOINT_NAME: 'waypoint', XDS_ADDRESS: 'https://istiod.istio-system.svc:15012' } as const;

function isFrozenDeep(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return true;
  return Object.isFrozen(value) && Object.values(value).every(isFrozenDeep);
}

test('defaults: identity from the Gateway name, Istio ports, xDS mode, the agent CA defaults; frozen', () => {
  const c = loadWaypointConfig([], BASE);
  assert.deepEqual(c.waypoint, { namespace: 'demo', name: 'waypoint', serviceAccount: 'waypoint' });
  assert.equal(c.identity, 'spiffe://cluster.local/ns/demo/sa/waypoint');
  assert.deepEqual(c.source, { kind: 'xds' });
  assert.equal(c.xds.address, 'https://istiod.istio-system.svc:15012');
  assert.deepEqual(c.ports, { hbone: 15008, admin: 15000, stats: 15020, readiness: 15021 });
  assert.equal(c.bindAddress, '::');
  assert.equal(c.adminBindAddress, '127.0.0.1');
  assert.equal(c.ca.provider, 'builtin');
  assert.equal(c.ca.address, 'https://localhost:15012');
  assert.equal(c.ca.secretTtlSeconds, 86400);
  assert.equal(c.drainDeadlineMs, 5000);
  assert.equal(c.rootNamespace, 'istio-system');
  assert.deepEqual(c.proxyPod, { name: '', namespace: 'demo', instanceIp: undefined });
  assert.ok(isFrozenDeep(c), 'deep-frozen');
});

/** [what, env, argv, check] — every accepted way of saying it. */
const ACCEPTED: ReadonlyArray<readonly [string, Record<string, string>, string[], (c: WaypointProcessConfig) => void]> = [
  ["Istio's waypoint pod env: POD_NAMESPACE, ISTIO_META_WORKLOAD_NAME, SERVICE_ACCOUNT, TRUST_DOMAIN, CA_ADDR",
    { POD_NAMESPACE: 'shop', ISTIO_META_WORKLOAD_NAME: 'shop-wp', SERVICE_ACCOUNT: 'wp-sa', TRUST_DOMAIN: 'example.org', CA_ADDR: 'istiod.istio-system.svc:15012', XDS_ADDRESS: 'istiod:15012' }, [],
    (c) => {
      assert.deepEqual(c.waypoint, { namespace: 'shop', name: 'shop-wp', serviceAccount: 'wp-sa' });
      assert.equal(c.identity, 'spiffe://example.org/ns/shop/sa/wp-sa');
      assert.equal(c.ca.address, 'https://istiod.istio-system.svc:15012', 'CA_ADDR, https:// added');
      assert.equal(c.xds.address, 'https://istiod:15012');
      assert.equal(c.proxyMetadata.WORKLOAD_NAME, 'shop-wp', 'ISTIO_META_* is node metadata too');
    }],
  ['WAYPOINT_NAMESPACE / WAYPOINT_NAME win over POD_NAMESPACE / ISTIO_META_WORKLOAD_NAME',
    { ...BASE, WAYPOINT_NAMESPACE: 'a', POD_NAMESPACE: 'b', WAYPOINT_NAME: 'gw', ISTIO_META_WORKLOAD_NAME: 'gw-override' }, [],
    (c) => assert.deepEqual(c.waypoint, { namespace: 'a', name: 'gw', serviceAccount: 'gw' })],
  ['SERVICE_ACCOUNT wins over ISTIO_META_SERVICE_ACCOUNT', { ...BASE, SERVICE_ACCOUNT: 'x', ISTIO_META_SERVICE_ACCOUNT: 'y' }, [],
    (c) => assert.equal(c.waypoint.serviceAccount, 'x')],
  ['flags override env', { ...BASE }, ['--namespace', 'ns2', '--name=gw2', '--service-account', 'sa2', '--trust-domain', 'td'],
    (c) => assert.equal(c.identity, 'spiffe://td/ns/ns2/sa/sa2')],
  ['manifests mode (env), no XDS_ADDRESS', { POD_NAMESPACE: 'demo', WAYPOINT_NAME: 'w', WAYPOINT_MANIFESTS: './m' }, [],
    (c) => {
      assert.deepEqual(c.source, { kind: 'manifests', dir: './m' });
      assert.equal(c.xds.address, undefined);
    }],
  ['manifests mode (flag)', { POD_NAMESPACE: 'demo', WAYPOINT_NAME: 'w' }, ['--manifests', '/etc/mesh'],
    (c) => assert.deepEqual(c.source, { kind: 'manifests', dir: '/etc/mesh' })],
  ['plaintext control plane', { ...BASE, XDS_ADDRESS: 'http://127.0.0.1:15010' }, [], (c) => assert.equal(c.xds.address, 'http://127.0.0.1:15010')],
  ['ports 0 (tests) never clash', { ...BASE }, ['--port-hbone', '0', '--port-admin', '0', '--port-stats', '0', '--port-readiness', '0'],
    (c) => assert.deepEqual(c.ports, { hbone: 0, admin: 0, stats: 0, readiness: 0 })],
  ['shared agent settings: HTTP/2, pool, timeouts, drain, logs, CA files', {
    ...BASE, HTTP2_STREAM_WINDOW_SIZE: '65535', POOL_MAX_STREAMS_PER_CONNECTION: '7', AMBIT_CONNECT_TIMEOUT: '2s',
    CONNECTION_TERMINATION_DEADLINE: '30s', LOG_FORMAT: 'plain', AMBIT_CA_PROVIDER: 'file', AMBIT_CA_CERTS_DIR: '/cacerts', SECRET_TTL: '1h',
  }, [], (c) => {
    assert.equal(c.http2.streamWindowBytes, 65535);
    assert.equal(c.pool.maxStreamsPerConnection, 7);
    assert.equal(c.connectTimeoutMs, 2000);
    assert.equal(c.drainDeadlineMs, 30_000);
    assert.equal(c.logFormat, 'plain');
    assert.equal(c.ca.provider, 'file');
    assert.equal(c.ca.pluginCertsDir, '/cacerts');
    assert.equal(c.ca.secretTtlSeconds, 3600);
  }],
  ['pod facts for the xDS node', { ...BASE, POD_NAME: 'waypoint-7d9', INSTANCE_IP: '10.1.2.3', ISTIO_META_NODE_NAME: 'n1', ISTIO_META_CLUSTER_ID: 'c1' }, [],
    (c) => {
      assert.deepEqual(c.proxyPod, { name: 'waypoint-7d9', namespace: 'demo', instanceIp: '10.1.2.3' });
      assert.equal(c.nodeName, 'n1');
      assert.equal(c.clusterId, 'c1');
      assert.equal(c.xds.clusterId, 'c1');
    }],
];

for (const [what, env, argv, check] of ACCEPTED) {
  test(`accepted: ${what}`, () => check(loadWaypointConfig(argv, env)));
}

/** [what, env, argv, every fragment the CONFIG_INVALID message must hold]. */
const REFUSED: ReadonlyArray<readonly [string, Record<string, string>, string[], readonly string[]]> = [
  ['no namespace', { WAYPOINT_NAME: 'w', XDS_ADDRESS: 'x:1' }, [], ['WAYPOINT_NAMESPACE / POD_NAMESPACE: required']],
  ['no name', { POD_NAMESPACE: 'demo', XDS_ADDRESS: 'x:1' }, [], ['WAYPOINT_NAME / ISTIO_META_WORKLOAD_NAME: required']],
  ['neither XDS_ADDRESS nor a manifests folder', { POD_NAMESPACE: 'demo', WAYPOINT_NAME: 'w' }, [], ['XDS_ADDRESS or WAYPOINT_MANIFESTS: one is required']],
  ['both XDS_ADDRESS and a manifests folder', { ...BASE }, ['--manifests', './m'], ['--manifests and XDS_ADDRESS: set one or the other, not both']],
  ['a namespace that is not a DNS label', { ...BASE, POD_NAMESPACE: 'Demo_1' }, [], ['POD_NAMESPACE="Demo_1": not a valid namespace name']],
  ['a Gateway name that is not a DNS subdomain', { ...BASE }, ['--name', 'way point'], ['--name="way point": not a valid Gateway name']],
  ['a bad service account', { ...BASE, SERVICE_ACCOUNT: 'SA!' }, [], ['SERVICE_ACCOUNT="SA!": not a valid service account name']],
  ['an xDS address with a path', { ...BASE, XDS_ADDRESS: 'https://cp:15012/x' }, [], ['XDS_ADDRESS="https://cp:15012/x": expected scheme://host:port without path']],
  ['a plaintext CA address', { ...BASE, CA_ADDR: 'http://istiod:15012' }, [], ['CA_ADDR="http://istiod:15012": only https://']],
  ['a port clash', { ...BASE }, ['--port-stats', '15021'], ['AMBIT_PORT_READINESS=15021: port already used by --port-stats']],
  ['a bad port', { ...BASE, AMBIT_PORT_HBONE: '70000' }, [], ['AMBIT_PORT_HBONE="70000": expected a port number']],
  ['a bad bind address', { ...BASE }, ['--bind-address', 'localhost'], ['--bind-address="localhost": expected an IPv4 or IPv6 address']],
  ['a bad CA provider', { ...BASE, AMBIT_CA_PROVIDER: 'vault' }, [], ['AMBIT_CA_PROVIDER="vault": expected one of builtin | file | istiod']],
  ['a bad duration', { ...BASE, CONNECTION_TERMINATION_DEADLINE: '5' }, [], ['CONNECTION_TERMINATION_DEADLINE="5": expected a duration']],
  ['a reserved xDS header', { ...BASE, XDS_HEADER_AUTHORIZATION: 'x' }, [], ['XDS_HEADER_AUTHORIZATION="x": "authorization" is reserved']],
  ['bad ISTIO_METAJSON', { ...BASE, ISTIO_METAJSON_LABELS: '{' }, [], ['ISTIO_METAJSON_LABELS="{": not valid JSON']],
  ['an unknown flag (an agent-only one)', { ...BASE }, ['--port-socks5', '1'], ['unknown flag --port-socks5']],
  ['several problems at once, each named', { POD_NAMESPACE: 'demo' }, ['--port-admin', 'x'], ['3 problems', 'WAYPOINT_NAME', 'XDS_ADDRESS or WAYPOINT_MANIFESTS', '--port-admin="x"']],
];

for (const [what, env, argv, fragments] of REFUSED) {
  test(`refused: ${what}`, () => {
    assert.throws(
      () => loadWaypointConfig(argv, env),
      (err: unknown) => {
        assert.ok(isMeshError(err, 'CONFIG_INVALID'), String(err));
        for (const f of fragments) assert.ok(err.message.includes(f), `${JSON.stringify(f)} not in:\n${err.message}`);
        return true;
      },
    );
  });
}

test('shared rows are the node agent rows (same env, flag, default): the two cannot drift', () => {
  for (const key of ['caProvider', 'caStateDir', 'authToken', 'xdsRootCa', 'http2FrameSize', 'drainDeadline', 'logLevel']) {
    assert.equal(WAYPOINT_SETTINGS.find((x) => x.key === key), SETTINGS.find((x) => x.key === key), key);
  }
  const flags = WAYPOINT_SETTINGS.map((x) => x.flag);
  assert.equal(new Set(flags).size, flags.length, 'flags are unique');
});

test('the dump redacts a literal AUTH_TOKEN and header values', () => {
  const c = loadWaypointConfig([], { ...BASE, AUTH_TOKEN: 'secret-token-value', XDS_HEADER_X_TENANT: 'acme' });
  const text = JSON.stringify(redactedConfig(c));
  assert.ok(!text.includes('secret-token-value') && !text.includes('acme'));
  assert.ok(text.includes(REDACTED));
});
