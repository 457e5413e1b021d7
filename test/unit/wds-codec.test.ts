// The WDS codec: rich round trips, ztunnel's defaults, the upstream field numbers on the wire, and
// every reason a decoder refuses a resource (each one is the text a NACK carries).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decodeAddress,
  decodeAuthorization,
  encodeAddress,
  encodeAuthorization,
  addressResourceName,
  authorizationResourceName,
  NETNS_EXTENSION,
  protoType,
} from '../../src/xds/index.js';
import { isMeshError } from '../../src/common/errors.js';
import type { Authorization, Service, Workload } from '../../src/state/index.js';
import { fields, field, richAuthorization, richService, richWorkload, rawAddress, rawAuthorization } from '../helpers/wds-fixtures.js';

test('a rich workload survives encode → decode unchanged (incl. the netns extension and capacity 0)', () => {
  for (const w of [richWorkload(), { ...richWorkload(), capacity: 0, netns: undefined, waypoint: undefined, applicationTunnel: undefined }]) {
    const decoded = decodeAddress(encodeAddress(w), addressResourceName(w));
    assert.equal(decoded.kind, 'workload');
    assert.deepEqual(decoded.kind === 'workload' ? decoded.workload : undefined, w);
  }
});

test('a rich service survives encode → decode unchanged (VIPs v4/v6, a CIDR VIP, waypoints, LB)', () => {
  const s = richService();
  const decoded = decodeAddress(encodeAddress(s), 'default/echo.default.svc.cluster.local');
  assert.equal(decoded.kind, 'service');
  assert.deepEqual(decoded.kind === 'service' ? decoded.service : undefined, s);
});

test('a rich authorization survives encode → decode unchanged (every match field and StringMatch kind)', () => {
  const a = richAuthorization();
  assert.equal(authorizationResourceName(a), 'default/allow-some');
  assert.deepEqual(decodeAuthorization(encodeAuthorization(a), 'default/allow-some'), a);
});

test("ztunnel's defaults: trust domain, service account, cluster id, capacity 1, unknown workload type and visibility", () => {
  const d = decodeAddress(rawAddress({ workload: { uid: 'u1', workloadType: 9 } }), 'u1');
  assert.ok(d.kind === 'workload');
  assert.equal(d.workload.trustDomain, 'cluster.local');
  assert.equal(d.workload.serviceAccount, 'default');
  assert.equal(d.workload.clusterId, 'Kubernetes');
  assert.equal(d.workload.capacity, 1, 'an absent UInt32Value means 1');
  assert.equal(d.workload.workloadType, 'deployment', 'prost reads an unknown workload_type as DEPLOYMENT');
  assert.equal(d.workload.protocol, 'TCP');
  assert.equal(d.workload.status, 'Healthy');
  assert.deepEqual(d.workload.locality, { region: '', zone: '', subzone: '' });
  assert.equal(d.workload.netns, undefined);
  const s = decodeAddress(rawAddress({ service: { namespace: 'ns', hostname: 'h', visibility: 7, addresses: [{ address: Buffer.from([10, 0, 0, 1]), length: 32 }] } }), 'ns/h');
  assert.ok(s.kind === 'service');
  assert.equal(s.service.visibility, 'Public', 'unknown visibility values are PUBLIC');
  assert.deepEqual(s.service.vips, [{ network: '', ip: '10.0.0.1' }], 'a full-length prefix is a host VIP');
  assert.deepEqual(s.service.cidrVips, []);
  assert.equal(s.service.loadBalancer, undefined);
});

test('extensions other than ambit.dev/netns are ignored, as ztunnel ignores all of them', () => {
  const other = { name: 'example.com/other', config: { type_url: 'type.googleapis.com/google.protobuf.Empty', value: Buffer.alloc(0) } };
  const d = decodeAddress(rawAddress({ workload: { uid: 'u', extensions: [other] } }), 'u');
  assert.ok(d.kind === 'workload' && d.workload.netns === undefined);
});

test('field numbers on the wire are the upstream ones (workload.proto, authorization.proto)', () => {
  const w = richWorkload();
  const address = fields(encodeAddress(w));
  assert.deepEqual(address.map((f) => f.no), [1], 'Address.workload = 1');
  const wl = fields(field(address, 1));
  const uid = wl.find((f) => f.no === 20);
  assert.equal(Buffer.from(uid!.bytes!).toString(), w.uid, 'Workload.uid = 20');
  assert.deepEqual([...field(wl, 3)], [10, 1, 2, 3], 'Workload.addresses = 3, raw bytes');
  assert.equal(wl.find((f) => f.no === 5)?.varint, 1, 'tunnel_protocol = 5, HBONE = 1');
  assert.ok(wl.some((f) => f.no === 22 && f.wire === 2), 'services map = 22');
  assert.ok(wl.some((f) => f.no === 19), 'network_gateway = 19');
  assert.ok(wl.some((f) => f.no === 23), 'application_tunnel = 23');
  assert.equal(fields(field(wl, 27)).find((f) => f.no === 1)?.varint, w.capacity, 'capacity = 27, a UInt32Value');
  const ext = fields(field(wl, 26));
  assert.equal(Buffer.from(field(ext, 1)).toString(), NETNS_EXTENSION, 'extensions = 26, name = 1');
  assert.equal(Buffer.from(field(fields(field(ext, 2)), 1)).toString(), 'type.googleapis.com/google.protobuf.StringValue');
  assert.ok(!wl.some((f) => f.no === 15), 'field 15 is reserved');

  const svc = fields(field(fields(encodeAddress(richService())), 2));
  assert.equal(Buffer.from(field(svc, 3)).toString(), 'echo.default.svc.cluster.local', 'Service.hostname = 3, inside Address.service = 2');
  const nets = svc.filter((f) => f.no === 4).map((f) => fields(f.bytes!));
  assert.deepEqual(nets.map((n) => n.some((f) => f.no === 3)), [false, false, true], 'NetworkAddress.length = 3 only on the CIDR VIP');

  const auth = fields(encodeAuthorization(richAuthorization()));
  assert.equal(auth.find((f) => f.no === 4)?.varint, 1, 'action = 4, DENY = 1');
  assert.equal(auth.find((f) => f.no === 3)?.varint, 2, 'scope = 3, WORKLOAD_SELECTOR = 2');
  assert.equal(auth.find((f) => f.no === 6)?.varint, 1, 'dry_run = 6');
  const clause = fields(field(fields(field(auth, 5)), 1));
  assert.ok(clause.every((f) => f.no === 2), 'Clause.matches = 2 (field 1 unused)');
  const match = fields(field(clause, 2));
  assert.ok(match.some((f) => f.no === 11) && match.some((f) => f.no === 10), 'service_accounts = 11, not_destination_ports = 10');
});

interface Rejection {
  readonly name: string;
  readonly bytes: () => Uint8Array;
  readonly resource: string;
  readonly kind?: 'address' | 'authorization';
  readonly reason: string;
}

const w = (extra: Record<string, unknown>): Uint8Array => rawAddress({ workload: { uid: 'u', ...extra } });
const s = (extra: Record<string, unknown>): Uint8Array => rawAddress({ service: { namespace: 'ns', hostname: 'h', ...extra } });
const gw = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({ hboneMtlsPort: 15008, ...extra });
const ip4 = Buffer.from([10, 0, 0, 1]);
const a = (match: Record<string, unknown>, extra: Record<string, unknown> = {}): Uint8Array =>
  rawAuthorization({ name: 'p', namespace: 'ns', rules: [{ clauses: [{ matches: [match] }] }], ...extra });

const REJECTIONS: Rejection[] = [
  { name: 'malformed protobuf', bytes: () => Buffer.from([0x0a, 0x05, 0x01]), resource: 'u', reason: 'decode:' },
  { name: 'Address with neither kind', bytes: () => rawAddress({}), resource: 'u', reason: 'neither a workload nor a service' },
  { name: 'workload address of 5 bytes', bytes: () => w({ addresses: [Buffer.from([1, 2, 3, 4, 5])] }), resource: 'u', reason: 'addresses[0]: failed to parse address, had 5 bytes' },
  { name: 'empty workload address', bytes: () => w({ addresses: [Buffer.alloc(0)] }), resource: 'u', reason: 'had 0 bytes' },
  { name: 'LEGACY_ISTIO_MTLS', bytes: () => w({ tunnelProtocol: 2 }), resource: 'u', reason: 'unsupported tunnel_protocol LEGACY_ISTIO_MTLS' },
  { name: 'unknown tunnel protocol', bytes: () => w({ tunnelProtocol: 7 }), resource: 'u', reason: 'tunnel_protocol: unknown enum value 7' },
  { name: 'services key without "/"', bytes: () => w({ services: { 'echo.svc': { ports: [] } } }), resource: 'u', reason: 'failed to parse namespaced hostname: echo.svc' },
  { name: 'service target port past 65535', bytes: () => w({ services: { 'ns/h': { ports: [{ servicePort: 80, targetPort: 70000 }] } } }), resource: 'u', reason: 'target_port: 70000 is not a port' },
  { name: 'waypoint without destination', bytes: () => w({ waypoint: gw() }), resource: 'u', reason: 'waypoint: nonempty gateway address is missing address' },
  { name: 'network gateway without destination', bytes: () => w({ networkGateway: gw() }), resource: 'u', reason: 'network_gateway: nonempty gateway address is missing address' },
  { name: 'waypoint address of 3 bytes', bytes: () => w({ waypoint: gw({ address: { address: Buffer.from([1, 2, 3]) } }) }), resource: 'u', reason: 'waypoint address: failed to parse address, had 3 bytes' },
  { name: 'hbone_mtls_port past 65535', bytes: () => w({ waypoint: { hboneMtlsPort: 65536, hostname: { namespace: 'n', hostname: 'h' } } }), resource: 'u', reason: 'hbone_mtls_port: 65536 is not a port' },
  { name: 'unknown workload status', bytes: () => w({ status: 5 }), resource: 'u', reason: 'status: unknown enum value 5' },
  { name: 'unknown network mode', bytes: () => w({ networkMode: 3 }), resource: 'u', reason: 'network_mode: unknown enum value 3' },
  { name: 'unknown application tunnel protocol', bytes: () => w({ applicationTunnel: { protocol: 4 } }), resource: 'u', reason: 'application_tunnel.protocol: unknown enum value 4' },
  { name: 'netns extension of another type', bytes: () => w({ extensions: [{ name: NETNS_EXTENSION, config: { type_url: 'type.googleapis.com/google.protobuf.Empty', value: Buffer.alloc(0) } }] }), resource: 'u', reason: 'config must be a type.googleapis.com/google.protobuf.StringValue' },
  { name: 'netns extension with a relative path', bytes: () => w({ extensions: [netnsExt('var/run/netns/x')] }), resource: 'u', reason: 'the netns must be an absolute path' },
  { name: 'workload without uid', bytes: () => rawAddress({ workload: { name: 'x' } }), resource: '', reason: 'workload has no uid' },
  { name: 'resource name is not the uid', bytes: () => w({}), resource: 'other', reason: 'resource name is not the workload uid "u"' },
  { name: 'service VIP of 5 bytes', bytes: () => s({ addresses: [{ address: Buffer.from([1, 2, 3, 4, 5]) }] }), resource: 'ns/h', reason: 'addresses[0]: failed to parse address, had 5 bytes' },
  { name: 'CIDR VIP past /32', bytes: () => s({ addresses: [{ address: ip4, length: 33 }] }), resource: 'ns/h', reason: 'invalid cidr: prefix length 33 exceeds 32' },
  { name: 'UNSPECIFIED routing preference', bytes: () => s({ loadBalancing: { routingPreference: [1, 0] } }), resource: 'ns/h', reason: 'routing_preference[1]: UNSPECIFIED_SCOPE is not a valid target' },
  { name: 'unknown routing preference', bytes: () => s({ loadBalancing: { routingPreference: [9] } }), resource: 'ns/h', reason: 'routing_preference[0]: unknown enum value 9' },
  { name: 'unknown LB mode', bytes: () => s({ loadBalancing: { mode: 8 } }), resource: 'ns/h', reason: 'load_balancing.mode: unknown enum value 8' },
  { name: 'unknown health policy', bytes: () => s({ loadBalancing: { healthPolicy: 2 } }), resource: 'ns/h', reason: 'load_balancing.health_policy: unknown enum value 2' },
  { name: 'unknown IP families', bytes: () => s({ ipFamilies: 4 }), resource: 'ns/h', reason: 'ip_families: unknown enum value 4' },
  { name: 'service port past 65535', bytes: () => s({ ports: [{ servicePort: 65536, targetPort: 1 }] }), resource: 'ns/h', reason: 'ports service_port: 65536 is not a port' },
  { name: 'service waypoint without destination', bytes: () => s({ waypoint: gw() }), resource: 'ns/h', reason: 'waypoint: nonempty gateway address is missing address' },
  { name: 'weighted waypoint without destination', bytes: () => s({ weightedWaypoints: [{ weight: 3 }] }), resource: 'ns/h', reason: 'weighted_waypoints[0]: missing destination' },
  { name: 'hostname holding "/"', bytes: () => rawAddress({ service: { namespace: 'ns', hostname: 'a/b' } }), resource: 'ns/a/b', reason: 'must not contain "/"' },
  { name: 'resource name is not namespace/hostname', bytes: () => s({}), resource: 'h', reason: 'resource name is not the service key "ns/h"' },
  { name: 'unknown scope', kind: 'authorization', bytes: () => a({}, { scope: 3 }), resource: 'ns/p', reason: 'scope: unknown enum value 3' },
  { name: 'unknown action', kind: 'authorization', bytes: () => a({}, { action: 2 }), resource: 'ns/p', reason: 'action: unknown enum value 2' },
  { name: 'StringMatch without a value', kind: 'authorization', bytes: () => a({ principals: [{}] }), resource: 'ns/p', reason: 'rules[0].clauses[0].matches[0].principals[0]: StringMatch without' },
  { name: 'policy address of 2 bytes', kind: 'authorization', bytes: () => a({ notSourceIps: [{ address: Buffer.from([1, 2]), length: 8 }] }), resource: 'ns/p', reason: 'not_source_ips[0]: failed to parse address, had 2 bytes' },
  { name: 'policy CIDR past /32', kind: 'authorization', bytes: () => a({ destinationIps: [{ address: ip4, length: 40 }] }), resource: 'ns/p', reason: 'destination_ips[0]: invalid cidr' },
  { name: 'policy port past 65535', kind: 'authorization', bytes: () => a({ destinationPorts: [80, 70000] }), resource: 'ns/p', reason: 'destination_ports[1]: 70000 is not a port' },
  { name: 'policy resource name is not namespace/name', kind: 'authorization', bytes: () => a({}), resource: 'p', reason: 'resource name is not the policy key "ns/p"' },
];

function netnsExt(path: string): Record<string, unknown> {
  return { name: NETNS_EXTENSION, config: { type_url: 'type.googleapis.com/google.protobuf.StringValue', value: protoType('google.protobuf.StringValue').encode({ value: path }).finish() } };
}

for (const r of REJECTIONS) {
  test(`refused: ${r.name}`, () => {
    const decode = (): unknown => (r.kind === 'authorization' ? decodeAuthorization(r.bytes(), r.resource) : decodeAddress(r.bytes(), r.resource));
    assert.throws(decode, (err: unknown) => {
      assert.ok(isMeshError(err, 'XDS_INVALID'), `expected XDS_INVALID, got ${String(err)}`);
      assert.ok(err.message.includes(r.reason), `"${err.message}" should include "${r.reason}"`);
      return true;
    });
  });
}

test('the same shapes with the fault removed are accepted (the refusals above are about the fault alone)', () => {
  const okWorkload = decodeAddress(w({ tunnelProtocol: 1, waypoint: gw({ address: { address: ip4 } }), services: { 'ns/h': { ports: [{ servicePort: 80, targetPort: 8080 }] } }, extensions: [netnsExt('/var/run/netns/x')] }), 'u');
  assert.ok(okWorkload.kind === 'workload' && okWorkload.workload.netns === '/var/run/netns/x' && okWorkload.workload.protocol === 'HBONE');
  const okService = decodeAddress(s({ addresses: [{ address: ip4, length: 8 }], loadBalancing: { routingPreference: [1, 6], mode: 1 } }), 'ns/h');
  assert.ok(okService.kind === 'service');
  assert.deepEqual(okService.service.cidrVips, [{ network: '', ip: '10.0.0.1', prefixLength: 8 }]);
  assert.deepEqual(okService.service.loadBalancer?.routingPreferences, ['Region', 'Network']);
  const okPolicy = decodeAuthorization(a({ principals: [{ presence: {} }], notSourceIps: [{ address: ip4, length: 8 }], destinationPorts: [80] }, { action: 1, scope: 2 }), 'ns/p');
  assert.equal(okPolicy.action, 'Deny');
  assert.equal(okPolicy.scope, 'WorkloadSelector');
  assert.deepEqual(okPolicy.rules[0]?.[0]?.[0]?.principals, [{ kind: 'presence' }]);
});

// Type-level guard: the fixtures are the model's types, not wire objects.
const _check: [Workload, Service, Authorization] = [richWorkload(), richService(), richAuthorization()];
void _check;
