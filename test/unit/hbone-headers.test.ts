// Unit tests of the HBONE header codecs: authority, baggage, forwarded, traceparent (ztunnel
// src/baggage.rs, src/proxy.rs, src/proxy/outbound.rs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  buildBaggage,
  buildForwarded,
  formatAuthority,
  newTraceparent,
  parseAuthority,
  parseBaggage,
  parseForwardedHost,
  type BaggageWorkload,
} from '../../src/hbone/index.js';

test('formatAuthority brackets IPv6 only', () => {
  assert.equal(formatAuthority('10.1.2.3', 8080), '10.1.2.3:8080');
  assert.equal(formatAuthority('fd00::1', 8080), '[fd00::1]:8080');
  assert.equal(formatAuthority('::1', 15008), '[::1]:15008');
});

test('parseAuthority: ip, bracketed ipv6, hostname, and rejects', () => {
  const cases: Array<[string, ReturnType<typeof parseAuthority>]> = [
    ['10.1.2.3:8080', { kind: 'ip', ip: '10.1.2.3', port: 8080 }],
    ['[fd00::1]:80', { kind: 'ip', ip: 'fd00::1', port: 80 }],
    ['[::ffff:10.0.0.1]:80', { kind: 'ip', ip: '::ffff:10.0.0.1', port: 80 }],
    ['echo.default.svc.cluster.local:8080', { kind: 'host', host: 'echo.default.svc.cluster.local', port: 8080 }],
    ['localhost:0', { kind: 'host', host: 'localhost', port: 0 }],
    ['10.1.2.3:65535', { kind: 'ip', ip: '10.1.2.3', port: 65535 }],
    ['10.1.2.3', undefined],
    ['10.1.2.3:65536', undefined],
    ['10.1.2.3:-1', undefined],
    ['10.1.2.3:8o', undefined],
    ['10.1.2.3:', undefined],
    [':80', undefined],
    ['fd00::1:80', undefined],
    ['[fd00::1]80', undefined],
    ['[fd00::1]:', undefined],
    ['[10.1.2.3]:80', undefined],
    ['300.1.2.3:80', undefined],
    ['bad host:80', undefined],
    ['a/b:80', undefined],
    ['', undefined],
  ];
  for (const [input, want] of cases) assert.deepEqual(parseAuthority(input), want, input);
});

const sleep: BaggageWorkload = {
  clusterId: 'Kubernetes',
  namespace: 'default',
  workloadType: 'deployment',
  workloadName: 'sleep',
  canonicalName: 'sleep',
  canonicalRevision: 'v1',
  locality: { region: '', zone: '' },
};

test('buildBaggage matches the ztunnel example byte for byte', () => {
  assert.equal(
    buildBaggage(sleep),
    'k8s.cluster.name=Kubernetes,k8s.namespace.name=default,k8s.deployment.name=sleep,service.name=sleep,service.version=v1',
  );
});

test('buildBaggage keeps the fixed order with locality and omits empties', () => {
  assert.equal(
    buildBaggage({ ...sleep, workloadType: 'Pod', canonicalRevision: '', locality: { region: 'eu', zone: 'eu-1a' } }),
    'k8s.cluster.name=Kubernetes,k8s.namespace.name=default,k8s.pod.name=sleep,service.name=sleep,cloud.region=eu,cloud.availability_zone=eu-1a',
  );
  assert.equal(
    buildBaggage({ clusterId: '', namespace: '', workloadType: '', workloadName: 'x', canonicalName: '', canonicalRevision: '', locality: { region: '', zone: '' } }),
    '',
  );
});

test('parseBaggage round-trips and ignores unknown keys and junk', () => {
  const full = { ...sleep, workloadType: 'cronjob', locality: { region: 'r', zone: 'z' } };
  assert.deepEqual(parseBaggage(buildBaggage(full)), full);
  const parsed = parseBaggage(' k8s.namespace.name = ns ,foo=bar,garbage,,=x,k8s.widget.name=w,k8s.job.name=j');
  assert.equal(parsed.namespace, 'ns');
  assert.equal(parsed.workloadType, 'job');
  assert.equal(parsed.workloadName, 'j');
  assert.equal(parsed.clusterId, '');
  assert.deepEqual(parseBaggage(''), { ...parsed, namespace: '', workloadType: '', workloadName: '' });
});

test('buildForwarded quotes the client address and appends the service host unquoted', () => {
  assert.equal(buildForwarded('10.244.0.24', 46238, 'echo.default.svc.cluster.local'), 'for="10.244.0.24:46238";host=echo.default.svc.cluster.local');
  assert.equal(buildForwarded('::1', 4567), 'for="[::1]:4567"');
  assert.equal(buildForwarded('10.1.2.3', 4567, ''), 'for="10.1.2.3:4567"');
});

test('parseForwardedHost reads host= with or without quotes', () => {
  assert.equal(parseForwardedHost('for="10.244.0.24:46238";host=echo.default.svc.cluster.local'), 'echo.default.svc.cluster.local');
  assert.equal(parseForwardedHost('for="[::1]:1"; Host="svc.ns.svc"'), 'svc.ns.svc');
  assert.equal(parseForwardedHost('for=1.2.3.4, for=5.6.7.8;host=b'), 'b');
  assert.equal(parseForwardedHost('for="10.1.2.3:4567"'), undefined);
  assert.equal(parseForwardedHost('host='), undefined);
  assert.equal(parseForwardedHost(''), undefined);
});

test('newTraceparent has the W3C shape and is random', () => {
  const a = newTraceparent();
  const b = newTraceparent();
  assert.match(a, /^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
  assert.notEqual(a, b);
  // Ids come from a pooled random buffer: across several refills every trace and span id is new.
  const ids = Array.from({ length: 1000 }, () => newTraceparent());
  for (const id of ids) assert.match(id, /^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
  assert.equal(new Set(ids.map((id) => id.slice(3, 35))).size, ids.length);
  assert.equal(new Set(ids.map((id) => id.slice(36, 52))).size, ids.length);
});
