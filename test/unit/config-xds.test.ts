// The xDS settings: XDS_ADDRESS (off by default, https:// added, http:// allowed), XDS_ROOT_CA,
// ALT_XDS_HOSTNAME, XDS_HEADER_*, the node identity (POD_NAME, POD_NAMESPACE, INSTANCE_IP) and metadata.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatSettingsHelp, loadConfig, redactedConfig, REDACTED } from '../../src/config/index.js';
import { isMeshError } from '../../src/common/errors.js';

function rejects(env: Record<string, string>, ...fragments: string[]): void {
  assert.throws(
    () => loadConfig([], env),
    (err: unknown) => isMeshError(err, 'CONFIG_INVALID') && fragments.every((f) => err.message.includes(f)),
  );
}

test('xDS is off by default; the node identity is empty and the metadata empty', () => {
  const c = loadConfig([], {});
  assert.equal(c.xds.address, undefined);
  assert.equal(c.xds.rootCa, './var/run/secrets/istio/root-cert.pem');
  assert.equal(c.xds.altHostname, undefined);
  assert.deepEqual(c.xds.headers, {});
  assert.equal(c.xds.clusterId, 'Kubernetes');
  assert.deepEqual(c.proxyPod, { name: '', namespace: '', instanceIp: undefined });
  assert.deepEqual(c.proxyMetadata, {});
  assert.ok(Object.isFrozen(c.xds) && Object.isFrozen(c.proxyMetadata));
});

test('XDS_ADDRESS: https:// is added to a bare host:port; http:// and https:// are kept; empty = off', () => {
  assert.equal(loadConfig([], { XDS_ADDRESS: 'istiod.istio-system.svc:15012' }).xds.address, 'https://istiod.istio-system.svc:15012');
  assert.equal(loadConfig([], { XDS_ADDRESS: 'http://127.0.0.1:15010' }).xds.address, 'http://127.0.0.1:15010');
  assert.equal(loadConfig(['--xds-address', 'https://[::1]:15012'], {}).xds.address, 'https://[::1]:15012');
  assert.equal(loadConfig([], { XDS_ADDRESS: '' }).xds.address, undefined);
  assert.equal(loadConfig(['--xds-address='], { XDS_ADDRESS: 'https://x:1' }).xds.address, undefined, 'an empty flag turns it off');
});

test('XDS_ADDRESS refusals name the variable and the reason', () => {
  rejects({ XDS_ADDRESS: 'grpc://x:1' }, 'XDS_ADDRESS="grpc://x:1"', 'unsupported scheme');
  rejects({ XDS_ADDRESS: 'https://x:1/path' }, 'XDS_ADDRESS', 'without path');
  rejects({ XDS_ADDRESS: 'https://user:pw@x:1' }, 'XDS_ADDRESS', 'credentials');
  rejects({ ALT_XDS_HOSTNAME: 'not a host' }, 'ALT_XDS_HOSTNAME', 'DNS name');
  rejects({ INSTANCE_IP: '10.0.0' }, 'INSTANCE_IP', 'IPv4 or IPv6');
});

test('XDS_HEADER_*: names lower-cased, reserved and binary names refused', () => {
  const c = loadConfig([], { XDS_HEADER_X_TENANT: 'acme', 'XDS_HEADER_Foo-Bar': 'a b', XDS_HEADER_EMPTY: '' });
  assert.deepEqual(c.xds.headers, { x_tenant: 'acme', 'foo-bar': 'a b' });
  rejects({ XDS_HEADER_AUTHORIZATION: 'Bearer x' }, 'XDS_HEADER_AUTHORIZATION', 'reserved');
  rejects({ XDS_HEADER_CLUSTERID: 'x' }, 'XDS_HEADER_CLUSTERID', 'reserved');
  rejects({ 'XDS_HEADER_X-BIN': 'AAAA' }, 'XDS_HEADER_X-BIN', 'binary');
  rejects({ 'XDS_HEADER_A B': 'x' }, 'after XDS_HEADER_');
});

test('node identity and metadata: POD_NAME, POD_NAMESPACE, INSTANCE_IP, ISTIO_META_*, ISTIO_METAJSON_*', () => {
  const c = loadConfig([], {
    POD_NAME: 'ztunnel-abc',
    POD_NAMESPACE: 'istio-system',
    INSTANCE_IP: '10.1.2.3',
    ISTIO_META_CLUSTER_ID: 'east',
    ISTIO_META_DNS_CAPTURE: 'true',
    ISTIO_META_SAME: 'string',
    ISTIO_METAJSON_SAME: '{"json": [1, true, null]}',
    ISTIO_METAJSON_LABELS: '{"app": "ztunnel"}',
  });
  assert.deepEqual(c.proxyPod, { name: 'ztunnel-abc', namespace: 'istio-system', instanceIp: '10.1.2.3' });
  assert.deepEqual(c.proxyMetadata, {
    CLUSTER_ID: 'east',
    DNS_CAPTURE: 'true',
    SAME: { json: [1, true, null] },
    LABELS: { app: 'ztunnel' },
  });
  assert.equal(c.clusterId, 'east');
  assert.equal(c.xds.clusterId, 'east', 'the clusterid header follows ISTIO_META_CLUSTER_ID');
  rejects({ ISTIO_METAJSON_BAD: '{nope' }, 'ISTIO_METAJSON_BAD', 'not valid JSON');
});

test('AUTH_TOKEN is shared by the CA and xDS; redaction hides XDS_HEADER_* values and a literal token', () => {
  const c = loadConfig(['--auth-token', 'jwt-s3cret'], { XDS_HEADER_X_KEY: 'k3y', XDS_ADDRESS: 'https://cp:15012' });
  assert.equal(c.xds.authToken.kind, 'literal');
  assert.equal(c.xds.authToken, c.ca.authToken);
  const view = redactedConfig(c) as { xds: { headers: unknown; authToken: unknown; address: string } };
  assert.deepEqual(view.xds.headers, { x_key: REDACTED });
  assert.deepEqual(view.xds.authToken, { kind: 'literal', token: REDACTED });
  assert.equal(view.xds.address, 'https://cp:15012');
  assert.doesNotMatch(JSON.stringify(view), /jwt-s3cret|k3y/);
  assert.deepEqual(c.xds.headers, { x_key: 'k3y' }, 'the loaded config keeps the value for the client');
});

test('--help lists the xDS settings, the plaintext http:// form and the env-only prefixes', () => {
  const text = formatSettingsHelp();
  assert.match(text, /--xds-address\s+XDS_ADDRESS\s+.*http:\/\/host:port for a plaintext control plane/);
  assert.match(text, /--xds-root-ca\s+XDS_ROOT_CA/);
  assert.match(text, /--alt-xds-hostname\s+ALT_XDS_HOSTNAME/);
  assert.match(text, /--instance-ip\s+INSTANCE_IP/);
  assert.match(text, /XDS_HEADER_<name>/);
  assert.match(text, /ISTIO_METAJSON_<key>/);
});
