// Table-driven tests of the self-call classification: which destinations reach one of the agent's
// own listeners, in every address form, for the host proxy and for an in-pod proxy.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MeshError, type ErrorCode } from '../../src/common/errors.js';
import { loadConfig } from '../../src/config/index.js';
import {
  OwnListeners,
  isNetworkReachableBind,
  proxyListeners,
  serverListeners,
  socksReplyFor,
  SOCKS_REPLY,
  type OwnListener,
} from '../../src/proxy/index.js';

/** This host's interfaces in the tables below (a stub: the real ones differ from machine to machine). */
const HOST_ADDRESSES = ['127.0.0.1', '::1', '192.0.2.2', 'fd00::2', 'fe80::1'];

function hostScope(env: Record<string, string> = {}): OwnListeners {
  const config = loadConfig([], env);
  const listeners: OwnListener[] = [...proxyListeners(config, config.bindAddress), ...serverListeners(config)];
  return new OwnListeners({ listeners: () => listeners, localAddresses: () => HOST_ADDRESSES });
}

/** An in-pod proxy: its ports on a wildcard in the pod's namespace, whose only address is the pod IP. */
function podScope(): OwnListeners {
  const config = loadConfig([], {});
  return new OwnListeners({ listeners: () => proxyListeners(config, '::'), localAddresses: () => ['10.244.0.5'] });
}

const SCOPES = {
  /** Defaults: data plane and stats/readiness on `::`, admin on 127.0.0.1, SOCKS5 on. */
  host: hostScope(),
  /** IPV6_ENABLED=false: everything on 0.0.0.0 (IPv4 only). */
  hostV4: hostScope({ IPV6_ENABLED: 'false' }),
  /** One address for everything, as the test agents (and a workload sharing the node's address). */
  hostPinned: hostScope({ AMBIT_BIND_ADDRESS: '10.1.1.1', AMBIT_ADMIN_BIND_ADDRESS: '10.1.1.1' }),
  hostNoSocks: hostScope({ UNSTABLE_ENABLE_SOCKS5: 'false' }),
  pod: podScope(),
};

const cases: Array<{ scope: keyof typeof SCOPES; ip: string; port: number; expect: string | undefined; why: string }> = [
  // Loopback, every form.
  { scope: 'host', ip: '127.0.0.1', port: 15000, expect: 'admin', why: 'admin on its bind address' },
  { scope: 'host', ip: '127.8.9.10', port: 15000, expect: 'admin', why: 'anywhere in 127.0.0.0/8' },
  { scope: 'host', ip: '127.255.255.254', port: 15021, expect: 'readiness', why: 'top of 127.0.0.0/8' },
  { scope: 'host', ip: '::1', port: 15020, expect: 'stats', why: 'IPv6 loopback' },
  { scope: 'host', ip: '0:0:0:0:0:0:0:1', port: 15000, expect: 'admin', why: 'expanded ::1' },
  { scope: 'host', ip: '::ffff:127.0.0.1', port: 15000, expect: 'admin', why: 'IPv4-mapped, dotted' },
  { scope: 'host', ip: '::ffff:7f00:1', port: 15000, expect: 'admin', why: 'IPv4-mapped, hex' },
  { scope: 'host', ip: '0:0:0:0:0:FFFF:7F00:0001', port: 15021, expect: 'readiness', why: 'IPv4-mapped, expanded upper case' },
  { scope: 'host', ip: '::ffff:127.1.2.3', port: 15020, expect: 'stats', why: 'IPv4-mapped, elsewhere in the range' },
  // Unspecified: Linux connects it to the local host.
  { scope: 'host', ip: '0.0.0.0', port: 15000, expect: 'admin', why: 'IPv4 unspecified' },
  { scope: 'host', ip: '::', port: 15020, expect: 'stats', why: 'IPv6 unspecified' },
  { scope: 'host', ip: '0:0:0:0:0:0:0:0', port: 15021, expect: 'readiness', why: 'expanded ::' },
  { scope: 'host', ip: '::ffff:0.0.0.0', port: 15000, expect: 'admin', why: 'IPv4-mapped unspecified' },
  // Interface addresses reach wildcard binds only.
  { scope: 'host', ip: '192.0.2.2', port: 15020, expect: 'stats', why: 'interface address, stats on ::' },
  { scope: 'host', ip: '::ffff:192.0.2.2', port: 15021, expect: 'readiness', why: 'mapped interface address' },
  { scope: 'host', ip: 'fd00::2', port: 15020, expect: 'stats', why: 'IPv6 interface address' },
  { scope: 'host', ip: 'FD00:0:0:0:0:0:0:2', port: 15021, expect: 'readiness', why: 'expanded IPv6 interface address' },
  { scope: 'host', ip: 'fe80::1%eth0', port: 15020, expect: 'stats', why: 'link-local with a zone id' },
  { scope: 'host', ip: '192.0.2.2', port: 15001, expect: 'outbound', why: 'proxy port on an interface address' },
  { scope: 'host', ip: '192.0.2.2', port: 15080, expect: 'socks5', why: 'SOCKS5 on an interface address' },
  { scope: 'host', ip: '192.0.2.2', port: 15000, expect: undefined, why: 'admin is bound to loopback only' },
  // Elsewhere: not ours.
  { scope: 'host', ip: '10.1.2.3', port: 15000, expect: undefined, why: 'a remote address' },
  { scope: 'host', ip: '10.1.2.3', port: 15001, expect: undefined, why: 'a remote proxy port' },
  { scope: 'host', ip: '127.0.0.1', port: 8080, expect: undefined, why: 'not an own port' },
  { scope: 'host', ip: '::2', port: 15000, expect: undefined, why: 'not loopback' },
  { scope: 'host', ip: '::127.0.0.1', port: 15000, expect: undefined, why: 'IPv4-compatible (not mapped) is not loopback' },
  { scope: 'host', ip: 'localhost', port: 15000, expect: undefined, why: 'names are resolved before the check' },
  { scope: 'host', ip: '127.0.0.1', port: 0, expect: undefined, why: 'port 0 is no listener' },
  // 0.0.0.0 binds take IPv4 only.
  { scope: 'hostV4', ip: '192.0.2.2', port: 15020, expect: 'stats', why: 'IPv4 interface address' },
  { scope: 'hostV4', ip: '::ffff:192.0.2.2', port: 15020, expect: 'stats', why: 'mapped IPv4 interface address' },
  { scope: 'hostV4', ip: 'fd00::2', port: 15020, expect: undefined, why: 'an IPv6 address never reaches 0.0.0.0' },
  // Specific binds: the configured bind and admin bind addresses.
  { scope: 'hostPinned', ip: '10.1.1.1', port: 15000, expect: 'admin', why: 'the admin bind address' },
  { scope: 'hostPinned', ip: '10.1.1.1', port: 15020, expect: 'stats', why: 'the bind address' },
  { scope: 'hostPinned', ip: '::ffff:10.1.1.1', port: 15021, expect: 'readiness', why: 'the bind address, mapped' },
  { scope: 'hostPinned', ip: '10.1.1.1', port: 15008, expect: 'hbone', why: 'a proxy port on the bind address' },
  { scope: 'hostPinned', ip: '192.0.2.2', port: 15020, expect: undefined, why: 'another interface, specific bind' },
  { scope: 'hostPinned', ip: '127.0.0.1', port: 15000, expect: 'admin', why: 'loopback is refused whatever the bind' },
  { scope: 'hostNoSocks', ip: '127.0.0.1', port: 15080, expect: undefined, why: 'SOCKS5 off: 15080 is not ours' },
  { scope: 'hostNoSocks', ip: '127.0.0.1', port: 15001, expect: 'outbound', why: 'the other proxy ports stay' },
  // In-pod: only the proxy's own ports exist in the pod's namespace.
  { scope: 'pod', ip: '127.0.0.1', port: 15000, expect: undefined, why: "the pod's app may serve 15000" },
  { scope: 'pod', ip: '::1', port: 15020, expect: undefined, why: "the pod's app may serve 15020" },
  { scope: 'pod', ip: '10.244.0.5', port: 15021, expect: undefined, why: "the pod's app may serve 15021" },
  { scope: 'pod', ip: '127.0.0.1', port: 15001, expect: 'outbound', why: 'loopback to the pod proxy' },
  { scope: 'pod', ip: '::ffff:127.0.0.1', port: 15006, expect: 'inbound-plaintext', why: 'mapped loopback to the pod proxy' },
  { scope: 'pod', ip: '0.0.0.0', port: 15001, expect: 'outbound', why: 'unspecified to the pod proxy' },
  { scope: 'pod', ip: '10.244.0.5', port: 15008, expect: 'hbone', why: "the pod's own IP, wildcard bind" },
  { scope: 'pod', ip: '10.244.0.9', port: 15008, expect: undefined, why: "another pod's HBONE port" },
];

for (const c of cases) {
  test(`own listener: ${c.scope} ${c.ip} port ${c.port} → ${c.expect ?? 'not ours'} (${c.why})`, () => {
    assert.equal(SCOPES[c.scope].at({ ip: c.ip, port: c.port })?.name, c.expect);
  });
}

test('own listener: ports chosen by the OS are taken from the bound servers, not the config 0', () => {
  const config = loadConfig([], { AMBIT_PORT_ADMIN: '0', AMBIT_PORT_STATS: '0' });
  let bound = {};
  const own = new OwnListeners({ listeners: () => serverListeners(config, bound), localAddresses: () => [] });
  assert.equal(own.at({ ip: '127.0.0.1', port: 41234 }), undefined, 'not bound yet');
  bound = { admin: { port: 41234 }, stats: { port: 41235 } };
  assert.equal(own.at({ ip: '127.0.0.1', port: 41234 })?.name, 'admin');
  assert.equal(own.at({ ip: '::1', port: 41235 })?.name, 'stats');
  assert.equal(own.at({ ip: '127.0.0.1', port: 15021 })?.name, 'readiness', 'configured ports still count');
});

test('own listener: interface addresses are read only when the port is an own port', () => {
  let reads = 0;
  const own = new OwnListeners({ listeners: () => [{ name: 'stats', host: '::', port: 15020 }], localAddresses: () => (reads++, ['192.0.2.2']) });
  assert.equal(own.at({ ip: '192.0.2.2', port: 443 }), undefined);
  assert.equal(reads, 0);
  assert.equal(own.at({ ip: '192.0.2.2', port: 15020 })?.name, 'stats');
  assert.equal(reads, 1);
});

const binds: Array<[string, boolean]> = [
  ['127.0.0.1', false],
  ['127.0.0.53', false],
  ['::1', false],
  ['::ffff:127.0.0.1', false],
  ['0.0.0.0', true],
  ['::', true],
  ['10.0.0.1', true],
  ['fd00::2', true],
];

for (const [host, exposed] of binds) {
  test(`admin bind ${host}: ${exposed ? 'reachable from the network (warned)' : 'loopback only'}`, () => {
    assert.equal(isNetworkReachableBind(host), exposed);
  });
}

const replies: Array<{ code: ErrorCode; status?: number; reply: number }> = [
  { code: 'SELF_CALL', reply: SOCKS_REPLY.notAllowed },
  { code: 'UNKNOWN_SOURCE', reply: SOCKS_REPLY.notAllowed },
  { code: 'POLICY_DENIED', reply: SOCKS_REPLY.notAllowed },
  { code: 'NOT_REGISTERED', reply: SOCKS_REPLY.notAllowed },
  { code: 'DNS_LOOKUP', reply: SOCKS_REPLY.hostUnreachable },
  { code: 'HBONE_STATUS', status: 401, reply: SOCKS_REPLY.notAllowed },
  { code: 'HBONE_STATUS', status: 503, reply: SOCKS_REPLY.hostUnreachable },
  { code: 'NO_HEALTHY_UPSTREAM', reply: SOCKS_REPLY.hostUnreachable },
  { code: 'UPSTREAM_CONNECT', reply: SOCKS_REPLY.hostUnreachable },
];

for (const r of replies) {
  test(`SOCKS5 reply for ${r.code}${r.status ? ` ${r.status}` : ''}: 0x0${r.reply}`, () => {
    const err = new MeshError(r.code, 'x', r.status === undefined ? {} : { status: r.status });
    assert.equal(socksReplyFor(err), r.reply);
  });
}
