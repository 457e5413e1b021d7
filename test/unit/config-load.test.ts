// Table-driven tests for the node agent's settings: env and flag parsing, precedence, defaults,
// cross-field validation and the wording of CONFIG_INVALID errors.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig, parseDurationMs, redactedConfig, REDACTED, SETTINGS, SETTINGS_HELP, formatSettingsHelp } from '../../src/config/index.js';
import { isMeshError } from '../../src/common/errors.js';

/** A file that certainly exists (AUTH_TOKEN file-vs-literal decision). */
const THIS_FILE = new URL(import.meta.url).pathname;

/** True if the value and every nested object are frozen. */
function isConfigFrozen(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return true;
  if (!Object.isFrozen(value)) return false;
  return Object.values(value).every(isConfigFrozen);
}

test('defaults with an empty environment', () => {
  const c = loadConfig([], {});
  assert.equal(c.proxyMode, 'shared');
  assert.equal(c.nodeName, 'local');
  assert.equal(c.clusterId, 'Kubernetes');
  assert.equal(c.trustDomain, 'cluster.local');
  assert.equal(c.bindAddress, '::');
  assert.equal(c.adminBindAddress, '127.0.0.1');
  assert.equal(c.socks5Enabled, true);
  assert.deepEqual(c.ports, { hbone: 15008, inboundPlaintext: 15006, outbound: 15001, socks5: 15080, admin: 15000, stats: 15020, readiness: 15021 });
  assert.equal(c.ca.provider, 'builtin');
  assert.equal(c.ca.stateDir, './var/lib/ambit');
  assert.equal(c.ca.pluginCertsDir, './etc/cacerts');
  assert.equal(c.ca.address, 'https://localhost:15012');
  assert.equal(c.ca.secretTtlSeconds, 86400);
  assert.equal(c.ca.altHostname, undefined);
  assert.deepEqual(c.ca.authToken, { kind: 'none' }, 'no ./var/run/secrets/tokens/istio-token here: no token');
  assert.equal(c.ca.clusterId, 'Kubernetes');
  assert.deepEqual(c.ca.headers, {});
  assert.deepEqual(c.pool, { maxStreamsPerConnection: 100, unusedReleaseTimeoutMs: 300_000 });
  assert.deepEqual(c.http2, { streamWindowBytes: 4194304, connectionWindowBytes: 16777216, frameSizeBytes: 1048576, pingIntervalMs: 10_000, pingTimeoutMs: 20_000 });
  assert.equal(c.connectTimeoutMs, 10_000);
  assert.equal(c.drainDeadlineMs, 5_000);
  assert.equal(c.localXdsPath, undefined);
  assert.equal(c.proxyWorkloadInfo, undefined);
  assert.equal(c.logLevel, 'info');
  assert.ok(isConfigFrozen(c));
});

interface GoodCase {
  name: string;
  argv?: string[];
  env?: Record<string, string>;
  check: (c: ReturnType<typeof loadConfig>) => void;
}

const good: GoodCase[] = [
  { name: 'NODE_NAME', env: { NODE_NAME: 'n1' }, check: (c) => assert.equal(c.nodeName, 'n1') },
  { name: 'flag overrides env', argv: ['--node-name', 'flag'], env: { NODE_NAME: 'env' }, check: (c) => assert.equal(c.nodeName, 'flag') },
  { name: '--flag=value form', argv: ['--local-xds-path=/tmp/x.yaml'], check: (c) => assert.equal(c.localXdsPath, '/tmp/x.yaml') },
  { name: 'ISTIO_META_CLUSTER_ID wins', env: { CLUSTER_ID: 'a', ISTIO_META_CLUSTER_ID: 'b' }, check: (c) => assert.equal(c.clusterId, 'b') },
  { name: 'CLUSTER_ID alone', env: { CLUSTER_ID: 'a' }, check: (c) => assert.equal(c.clusterId, 'a') },
  { name: 'IPV6_ENABLED=false binds 0.0.0.0', env: { IPV6_ENABLED: 'false' }, check: (c) => assert.equal(c.bindAddress, '0.0.0.0') },
  { name: 'explicit bind address', argv: ['--bind-address', '127.0.0.1'], check: (c) => assert.equal(c.bindAddress, '127.0.0.1') },
  { name: 'SECRET_TTL 30m', env: { SECRET_TTL: '30m' }, check: (c) => assert.equal(c.ca.secretTtlSeconds, 1800) },
  { name: 'SECRET_TTL 1h30m', env: { SECRET_TTL: '1h30m' }, check: (c) => assert.equal(c.ca.secretTtlSeconds, 5400) },
  { name: 'drain deadline 90s', env: { CONNECTION_TERMINATION_DEADLINE: '90s' }, check: (c) => assert.equal(c.drainDeadlineMs, 90_000) },
  { name: 'socks5 disabled', env: { UNSTABLE_ENABLE_SOCKS5: 'false' }, check: (c) => assert.equal(c.socks5Enabled, false) },
  { name: 'bare boolean flag', argv: ['--enable-response-baggage', '--node-name', 'x'], env: { ENABLE_RESPONSE_BAGGAGE: 'false' }, check: (c) => {
    assert.equal(c.enableResponseBaggage, true);
    assert.equal(c.nodeName, 'x');
  } },
  { name: 'boolean flag with value', argv: ['--enable-socks5', 'false'], check: (c) => assert.equal(c.socks5Enabled, false) },
  { name: 'dedicated mode', env: { PROXY_MODE: 'dedicated', PROXY_WORKLOAD_INFO: 'ns1/pod1/sa1' }, check: (c) => {
    assert.equal(c.proxyMode, 'dedicated');
    assert.deepEqual(c.proxyWorkloadInfo, { namespace: 'ns1', name: 'pod1', serviceAccount: 'sa1' });
  } },
  { name: 'ports by flag and env', argv: ['--port-hbone', '0'], env: { AMBIT_PORT_ADMIN: '0', AMBIT_PORT_STATS: '25020' }, check: (c) => {
    assert.equal(c.ports.hbone, 0);
    assert.equal(c.ports.admin, 0);
    assert.equal(c.ports.stats, 25020);
  } },
  { name: 'CA settings', env: { AMBIT_CA_PROVIDER: 'istiod', CA_ADDRESS: 'istiod.example:15012', CA_ROOT_CA: 'SYSTEM' }, check: (c) => {
    assert.equal(c.ca.provider, 'istiod');
    assert.equal(c.ca.address, 'https://istiod.example:15012');
    assert.equal(c.ca.rootCa, 'SYSTEM');
  } },
  { name: 'istiod CA extras', argv: ['--alt-ca-hostname', 'istiod.istio-system.svc'], env: { CLUSTER_ID: 'east', CA_HEADER_X_TENANT: 'acme', 'CA_HEADER_Foo-Bar.v1': 'a b', CA_HEADER_EMPTY: '' }, check: (c) => {
    assert.equal(c.ca.altHostname, 'istiod.istio-system.svc');
    assert.equal(c.ca.clusterId, 'east');
    assert.deepEqual(c.ca.headers, { x_tenant: 'acme', 'foo-bar.v1': 'a b' });
  } },
  { name: 'AUTH_TOKEN naming an existing file', env: { AUTH_TOKEN: THIS_FILE }, check: (c) => assert.deepEqual(c.ca.authToken, { kind: 'file', path: THIS_FILE }) },
  { name: 'AUTH_TOKEN literal is redacted in JSON', argv: ['--auth-token', 'secret-jwt'], check: (c) => {
    assert.equal(c.ca.authToken?.kind, 'literal');
    assert.equal(c.ca.authToken?.kind === 'literal' ? c.ca.authToken.token : '', 'secret-jwt');
    assert.ok(!JSON.stringify(c).includes('secret-jwt'));
  } },
  { name: 'ALT_CA_HOSTNAME may be an IP', env: { ALT_CA_HOSTNAME: '10.0.0.7' }, check: (c) => assert.equal(c.ca.altHostname, '10.0.0.7') },
  { name: 'in-cluster CA default', env: { KUBERNETES_SERVICE_HOST: '10.0.0.1' }, check: (c) => assert.equal(c.ca.address, 'https://istiod.istio-system.svc:15012') },
  { name: 'pool and http2 knobs', env: { POOL_MAX_STREAMS_PER_CONNECTION: '7', POOL_UNUSED_RELEASE_TIMEOUT: '10s', HTTP2_FRAME_SIZE: '16384' }, check: (c) => {
    assert.equal(c.pool.maxStreamsPerConnection, 7);
    assert.equal(c.pool.unusedReleaseTimeoutMs, 10_000);
    assert.equal(c.http2.frameSizeBytes, 16384);
  } },
  { name: 'empty env value counts as unset', env: { NODE_NAME: '' }, check: (c) => assert.equal(c.nodeName, 'local') },
  { name: 'log settings', env: { AMBIT_LOG_LEVEL: 'debug', LOG_FORMAT: 'plain', ISTIO_META_ISTIO_VERSION: '1.24.0' }, check: (c) => {
    assert.equal(c.logLevel, 'debug');
    assert.equal(c.logFormat, 'plain');
    assert.equal(c.istioVersion, '1.24.0');
  } },
  { name: 'help flag is left to the caller', argv: ['--help'], check: (c) => assert.equal(c.nodeName, 'local') },
];

for (const t of good) {
  test(`good: ${t.name}`, () => t.check(loadConfig(t.argv ?? [], t.env ?? {})));
}

interface BadCase {
  name: string;
  argv?: string[];
  env?: Record<string, string>;
  /** Every fragment must appear in the error message. */
  expect: string[];
}

const bad: BadCase[] = [
  { name: 'bad PROXY_MODE', env: { PROXY_MODE: 'both' }, expect: ['PROXY_MODE="both"', 'shared | dedicated'] },
  { name: 'dedicated without info', env: { PROXY_MODE: 'dedicated' }, expect: ['PROXY_WORKLOAD_INFO', 'required'] },
  { name: 'malformed workload info', env: { PROXY_MODE: 'dedicated', PROXY_WORKLOAD_INFO: 'ns/name' }, expect: ['PROXY_WORKLOAD_INFO="ns/name"', 'namespace/name/serviceAccount'] },
  { name: 'workload info in shared mode', env: { PROXY_WORKLOAD_INFO: 'a/b/c' }, expect: ['PROXY_WORKLOAD_INFO', 'dedicated'] },
  { name: 'both local xds settings', env: { LOCAL_XDS_PATH: '/x', LOCAL_XDS: 'workloads: []' }, expect: ['LOCAL_XDS_PATH', 'LOCAL_XDS', 'not both'] },
  { name: 'bad duration', env: { SECRET_TTL: '24' }, expect: ['SECRET_TTL="24"', 'duration'] },
  { name: 'bad duration unit', argv: ['--connection-termination-deadline', '5 seconds'], expect: ['--connection-termination-deadline="5 seconds"'] },
  { name: 'bad port', env: { AMBIT_PORT_HBONE: '70000' }, expect: ['AMBIT_PORT_HBONE="70000"', '0..65535'] },
  { name: 'port clash', env: { AMBIT_PORT_INBOUND: '15008' }, expect: ['AMBIT_PORT_INBOUND=15008', 'AMBIT_PORT_HBONE'] },
  { name: 'bad boolean', env: { IPV6_ENABLED: 'maybe' }, expect: ['IPV6_ENABLED="maybe"', 'true or false'] },
  { name: 'bad IP', argv: ['--admin-bind-address=localhost'], expect: ['--admin-bind-address="localhost"', 'IPv4 or IPv6'] },
  { name: 'unknown flag', argv: ['--nodename', 'x'], expect: ['unknown flag --nodename'] },
  { name: 'flag without value', argv: ['--node-name'], expect: ['--node-name needs a value'] },
  { name: 'positional argument', argv: ['node'], expect: ['unexpected argument "node"'] },
  { name: 'int out of range', env: { POOL_MAX_STREAMS_PER_CONNECTION: '0' }, expect: ['POOL_MAX_STREAMS_PER_CONNECTION="0"'] },
  { name: 'ipv6 bind with ipv6 disabled', env: { IPV6_ENABLED: 'false', AMBIT_BIND_ADDRESS: '::1' }, expect: ['AMBIT_BIND_ADDRESS="::1"'] },
  { name: 'plaintext CA address', env: { CA_ADDRESS: 'http://istiod:15010' }, expect: ['CA_ADDRESS="http://istiod:15010"', 'https'] },
  { name: 'CA address with a path', env: { CA_ADDRESS: 'https://istiod:15012/x' }, expect: ['CA_ADDRESS="https://istiod:15012/x"', 'without path'] },
  { name: 'bad ALT_CA_HOSTNAME', env: { ALT_CA_HOSTNAME: 'not a name' }, expect: ['ALT_CA_HOSTNAME="not a name"', 'DNS name or IP'] },
  { name: 'reserved CA header', env: { CA_HEADER_AUTHORIZATION: 'Bearer x' }, expect: ['CA_HEADER_AUTHORIZATION="Bearer x"', 'reserved'] },
  { name: 'grpc- CA header', env: { 'CA_HEADER_GRPC-TIMEOUT': '1S' }, expect: ['CA_HEADER_GRPC-TIMEOUT', 'reserved'] },
  { name: 'binary CA header', env: { 'CA_HEADER_X-BIN': 'AAAA' }, expect: ['CA_HEADER_X-BIN', 'binary'] },
  { name: 'CA header without a name', env: { CA_HEADER_: 'v' }, expect: ['CA_HEADER_="v"', 'header name'] },
  { name: 'CA header value not ASCII', env: { CA_HEADER_X: 'caf\u00e9' }, expect: ['CA_HEADER_X', 'printable ASCII'] },
  { name: 'bad CA provider', env: { AMBIT_CA_PROVIDER: 'vault' }, expect: ['AMBIT_CA_PROVIDER="vault"', 'builtin | file | istiod'] },
];

for (const t of bad) {
  test(`bad: ${t.name}`, () => {
    assert.throws(
      () => loadConfig(t.argv ?? [], t.env ?? {}),
      (err: unknown) => {
        assert.ok(isMeshError(err, 'CONFIG_INVALID'), String(err));
        for (const frag of t.expect) assert.ok(err.message.includes(frag), `expected "${frag}" in: ${err.message}`);
        return true;
      },
    );
  });
}

test('all problems are reported at once', () => {
  assert.throws(
    () => loadConfig(['--bogus'], { PROXY_MODE: 'x', AMBIT_PORT_HBONE: 'y' }),
    (err: unknown) => isMeshError(err) && /3 problems/.test(err.message),
  );
});

test('parseDurationMs', () => {
  assert.equal(parseDurationMs('250ms'), 250);
  assert.equal(parseDurationMs('2h'), 7_200_000);
  assert.equal(parseDurationMs('1.5s'), 1500);
  assert.equal(parseDurationMs(''), undefined);
  assert.equal(parseDurationMs('5'), undefined);
  assert.equal(parseDurationMs('0'), 0);
  assert.equal(parseDurationMs('5sx'), undefined);
});

test('help table covers every setting with a flag and env var', () => {
  assert.equal(SETTINGS_HELP.length, SETTINGS.length);
  const flags = new Set(SETTINGS.map((s) => s.flag));
  assert.equal(flags.size, SETTINGS.length, 'flags are unique');
  for (const f of ['local-xds-path', 'node-name', 'bind-address', 'port-hbone']) assert.ok(flags.has(f), f);
  const text = formatSettingsHelp();
  assert.match(text, /--port-hbone\s+AMBIT_PORT_HBONE/);
  assert.match(text, /ISTIO_META_CLUSTER_ID \| CLUSTER_ID/);
  assert.match(text, /--alt-ca-hostname\s+ALT_CA_HOSTNAME/);
  assert.match(text, /--auth-token\s+AUTH_TOKEN/);
  assert.match(text, /CA_HEADER_<name>/);
});

test('redactedConfig: CA_HEADER_* values and a literal AUTH_TOKEN hidden, names and a token file path shown, config untouched', () => {
  const literal = loadConfig(['--auth-token', 'secret-jwt'], { CA_HEADER_X_TENANT: 'tenant-secret', CA_HEADER_X_KEY: 'k3y' });
  const view = redactedConfig(literal) as { ca: { headers: unknown; authToken: unknown; address: string }; nodeName: string };
  assert.deepEqual(view.ca.headers, { x_tenant: REDACTED, x_key: REDACTED });
  assert.deepEqual(view.ca.authToken, { kind: 'literal', token: REDACTED });
  assert.equal(view.ca.address, literal.ca.address);
  assert.equal(view.nodeName, literal.nodeName);
  assert.doesNotMatch(JSON.stringify(view), /secret-jwt|tenant-secret|k3y/);
  // The loaded config keeps the real values: the CA client needs them.
  assert.deepEqual(literal.ca.headers, { x_tenant: 'tenant-secret', x_key: 'k3y' });
  assert.equal(literal.ca.authToken?.kind === 'literal' ? literal.ca.authToken.token : '', 'secret-jwt');
  assert.ok(Object.isFrozen(literal.ca));

  const file = loadConfig([], { AUTH_TOKEN: THIS_FILE });
  assert.deepEqual((redactedConfig(file) as { ca: { authToken: unknown; headers: unknown } }).ca, {
    ...(redactedConfig(file) as { ca: object }).ca,
    authToken: { kind: 'file', path: THIS_FILE },
    headers: {},
  });
});
