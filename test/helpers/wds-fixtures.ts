// Model objects that use every field of Workload, Service and Authorization, raw protobuf builders
// for hand-made (also malformed) resources, and a protobuf field walker for byte-level assertions.

import protobuf from 'protobufjs';
import { protoType } from '../../src/xds/index.js';
import type { Authorization, Service, Workload } from '../../src/state/index.js';

export function richWorkload(overrides: Partial<Workload> = {}): Workload {
  return {
    uid: 'Kubernetes//Pod/default/sleep-abc',
    name: 'sleep-abc',
    namespace: 'default',
    workloadIps: ['10.1.2.3', 'fd00::1'],
    hostname: 'sleep.example',
    network: 'net-a',
    protocol: 'HBONE',
    trustDomain: 'td.example',
    serviceAccount: 'sleep',
    waypoint: { destination: { kind: 'hostname', namespace: 'default', hostname: 'waypoint.default.svc.cluster.local' }, hboneMtlsPort: 15008 },
    networkGateway: { destination: { kind: 'address', network: 'net-b', ip: '2001:db8::7' }, hboneMtlsPort: 15009 },
    node: 'node-1',
    canonicalName: 'sleep',
    canonicalRevision: 'v1',
    workloadType: 'pod',
    workloadName: 'sleep',
    nativeTunnel: true,
    applicationTunnel: { protocol: 'PROXY', port: 15088 },
    services: new Map([
      ['default/echo.default.svc.cluster.local', new Map([[80, 8080], [443, 8443]])],
      ['other/named.other.svc.cluster.local', new Map([[9090, 0]])],
    ]),
    authorizationPolicies: ['default/allow-some', 'default/deny-other'],
    status: 'Unhealthy',
    clusterId: 'east',
    locality: { region: 'eu', zone: 'eu-1', subzone: 'rack-3' },
    networkMode: 'HostNetwork',
    capacity: 7,
    netns: '/var/run/netns/sleep-abc',
    ...overrides,
  };
}

export function richService(overrides: Partial<Service> = {}): Service {
  return {
    name: 'echo',
    namespace: 'default',
    hostname: 'echo.default.svc.cluster.local',
    vips: [{ network: '', ip: '10.96.0.10' }, { network: 'net-a', ip: 'fd00::10' }],
    cidrVips: [{ network: '', ip: '10.200.0.0', prefixLength: 16 }],
    ports: new Map([[80, 8080], [9090, 0]]),
    subjectAltNames: ['spiffe://cluster.local/ns/default/sa/echo'],
    waypoint: { destination: { kind: 'address', network: '', ip: '10.0.0.9' }, hboneMtlsPort: 15008 },
    weightedWaypoints: [
      { destination: { destination: { kind: 'hostname', namespace: 'default', hostname: 'wp-a' }, hboneMtlsPort: 15008 }, weight: 3 },
      { destination: { destination: { kind: 'address', network: '', ip: '10.0.0.10' }, hboneMtlsPort: 15008 }, weight: 1 },
    ],
    loadBalancer: { routingPreferences: ['Region', 'Zone', 'Network'], mode: 'Failover', healthPolicy: 'AllowAll' },
    ipFamilies: 'Dual',
    canonical: true,
    visibility: 'Namespace',
    ...overrides,
  };
}

export function richAuthorization(overrides: Partial<Authorization> = {}): Authorization {
  const empty = {
    namespaces: [], notNamespaces: [], principals: [], notPrincipals: [], serviceAccounts: [], notServiceAccounts: [],
    sourceIps: [], notSourceIps: [], destinationIps: [], notDestinationIps: [], destinationPorts: [], notDestinationPorts: [],
  };
  return {
    name: 'allow-some',
    namespace: 'default',
    scope: 'WorkloadSelector',
    action: 'Deny',
    dryRun: true,
    rules: [
      [
        [
          {
            namespaces: [{ kind: 'exact', value: 'default' }],
            notNamespaces: [{ kind: 'prefix', value: 'kube-' }],
            principals: [{ kind: 'suffix', value: '/sa/sleep' }, { kind: 'presence' }],
            notPrincipals: [{ kind: 'exact', value: 'cluster.local/ns/x/sa/y' }],
            serviceAccounts: [{ namespace: 'default', serviceAccount: 'sleep' }],
            notServiceAccounts: [{ namespace: 'evil', serviceAccount: 'bad' }],
            sourceIps: [{ ip: '10.0.0.0', prefixLength: 8 }],
            notSourceIps: [{ ip: 'fd00::', prefixLength: 64 }],
            destinationIps: [{ ip: '10.1.2.3', prefixLength: 32 }],
            notDestinationIps: [{ ip: '0.0.0.0', prefixLength: 0 }],
            destinationPorts: [80, 443],
            notDestinationPorts: [9999],
          },
          { ...empty, destinationPorts: [8080] },
        ],
        [],
      ],
      [],
    ],
    ...overrides,
  };
}

/** istio.workload.Address bytes from a protobufjs plain object (fields camelCase, enums as numbers). */
export function rawAddress(object: Record<string, unknown>): Uint8Array {
  const t = protoType('istio.workload.Address');
  return t.encode(t.fromObject(object)).finish();
}

export function rawAuthorization(object: Record<string, unknown>): Uint8Array {
  const t = protoType('istio.security.Authorization');
  return t.encode(t.fromObject(object)).finish();
}

export interface WireField {
  readonly no: number;
  /** 0 varint, 1 fixed64, 2 length-delimited, 5 fixed32. */
  readonly wire: number;
  readonly varint?: number;
  readonly bytes?: Uint8Array;
}

/** The top-level fields of a protobuf message, in wire order (no schema involved). */
export function fields(bytes: Uint8Array): WireField[] {
  const r = protobuf.Reader.create(bytes);
  const out: WireField[] = [];
  while (r.pos < r.len) {
    const tag = r.uint32();
    const no = tag >>> 3;
    const wire = tag & 7;
    if (wire === 0) out.push({ no, wire, varint: r.uint32() });
    else if (wire === 2) out.push({ no, wire, bytes: r.bytes() });
    else {
      r.skipType(wire);
      out.push({ no, wire });
    }
  }
  return out;
}

/** The bytes of the first length-delimited field `no`; throws if absent. */
export function field(list: readonly WireField[], no: number): Uint8Array {
  const f = list.find((x) => x.no === no && x.bytes !== undefined);
  if (f?.bytes === undefined) throw new Error(`field ${no} not present`);
  return f.bytes;
}
