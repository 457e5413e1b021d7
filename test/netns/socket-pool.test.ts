// Root tier: the per-netns socket pool against real network namespaces: createSockets/bindSocket of
// the native addon, NetnsSocketPool refill/trim/close, and connectInNetns through a pool.
// Fails (never skips) without root. The topology (two pods on a bridge) is destroyed in after().

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, readdirSync } from 'node:fs';
import { once } from 'node:events';
import { Socket, type AddressInfo, type Server } from 'node:net';
import { after, before, test, type TestContext } from 'node:test';
import { isMeshError } from '../../src/common/errors.js';
import { NetnsSocketFactory } from '../../src/inpod/netns-socket-factory.js';
import {
  connectInNetns,
  fdOf,
  listenInNetns,
  loadNativeSockets,
  NetnsSocketPool,
  type CreateSocketsOptions,
  type NativeSocketError,
  type NativeSockets,
  type SocketPoolKey,
} from '../../src/sockets/index.js';
import { createTopology, requireRoot, type Topology, type TopologyPod } from '../helpers/netns-topology.js';
import { waitUntil } from '../helpers/two-node-mesh.js';

const PACKET_MARK = 1337;

let topo: Topology;
let podA: TopologyPod;
let podB: TopologyPod;
/** Not on any interface: the spoofed client IP. B routes it back via A; A delivers it locally. */
let spoofIp: string;
/** Not on any interface and not routed back: a source only a transparent socket can bind. */
let foreignIp: string;
let nat: NativeSockets;

before(async () => {
  requireRoot('test/netns/socket-pool.test');
  const load = loadNativeSockets();
  if (!load.ok) throw new Error(`native addon required by the netns tier: ${load.reason}`);
  nat = load.native;
  topo = await createTopology({ pods: [{ name: 'a' }, { name: 'b' }] });
  podA = topo.pods.get('a')!;
  podB = topo.pods.get('b')!;
  spoofIp = topo.vip(7);
  foreignIp = topo.vip(8);
  // Replies to the spoofed IP: B sends them to A, and A's policy rule makes them local so they reach
  // the transparent socket (the local table is untouched, so A still does not own the address).
  for (const [pod, cmd] of [
    ['b', ['ip', 'route', 'add', `${spoofIp}/32`, 'via', podA.ip]],
    ['a', ['ip', 'rule', 'add', 'to', spoofIp, 'lookup', '100', 'pref', '100']],
    ['a', ['ip', 'route', 'add', 'local', `${spoofIp}/32`, 'dev', 'lo', 'table', '100']],
  ] as const) {
    const r = await topo.exec(pod, cmd);
    assert.equal(r.code, 0, `${cmd.join(' ')}: ${r.stderr}`);
  }
});

after(async () => {
  await topo?.destroy();
});

/** Open fds of this process (the netns tier runs nothing else concurrently in it). */
function fdCount(): number {
  return readdirSync('/proc/self/fd').length;
}

function createSockets(native: NativeSockets, options: CreateSocketsOptions, count: number): Promise<number[]> {
  return new Promise((resolve, reject) => {
    native.createSockets(options, count, (err, fds) => (err ? reject(err) : resolve(fds!)));
  });
}

/** The addon with createSockets observed: call count, and a promise for the in-flight batches. */
function spied(native: NativeSockets): { native: NativeSockets; calls: () => number; idle: () => Promise<void> } {
  let calls = 0;
  let pending: Array<Promise<void>> = [];
  const wrapped: NativeSockets = {
    ...native,
    createSockets(options, count, callback) {
      calls++;
      let done!: () => void;
      pending.push(new Promise<void>((r) => (done = r)));
      native.createSockets(options, count, (err, fds) => {
        try {
          callback(err, fds);
        } finally {
          done();
        }
      });
    },
  };
  return {
    native: wrapped,
    calls: () => calls,
    idle: async () => {
      while (pending.length > 0) {
        const now = pending;
        pending = [];
        await Promise.all(now);
      }
    },
  };
}

async function serverInB(t: TestContext): Promise<{ server: Server; port: number }> {
  const server = await listenInNetns(nat, { netns: podB.netnsPath, host: podB.ip, port: 0 });
  t.after(() => server.close());
  return { server, port: (server.address() as AddressInfo).port };
}

async function accepted(server: Server): Promise<Socket> {
  const [socket] = (await once(server, 'connection')) as [Socket];
  socket.resume();
  return socket;
}

const CREATE_CASES: Array<{ name: string; options: Omit<CreateSocketsOptions, 'netns'>; count: number }> = [
  { name: 'v4 marked transparent', options: { family: 4, mark: PACKET_MARK, transparent: true, freebind: true }, count: 8 },
  { name: 'v6 plain', options: { family: 6 }, count: 3 },
  { name: 'v4 single, mark only', options: { family: 4, mark: 7 }, count: 1 },
  { name: 'v6 transparent, maximum batch', options: { family: 6, transparent: true, freebind: true, mark: PACKET_MARK }, count: 256 },
  { name: 'v4 upstream: no-delay and keepalive 180 s', options: { family: 4, mark: PACKET_MARK, noDelay: true, keepAliveS: 180 }, count: 2 },
];

for (const c of CREATE_CASES) {
  test(`createSockets (${c.name}): ${c.count} fds in the target netns with the options set`, async () => {
    const fds = await createSockets(nat, { ...c.options, netns: podA.netnsPath }, c.count);
    try {
      assert.equal(fds.length, c.count);
      assert.equal(new Set(fds).size, c.count, 'distinct fds');
      const inA = nat.socketNetnsInode(podA.netnsPath);
      for (const fd of fds) {
        assert.equal(nat.netnsInodeOfSocket(fd), inA);
        assert.deepEqual(nat.getSocketOptions(fd), {
          mark: c.options.mark ?? 0,
          transparent: c.options.transparent ?? false,
          freebind: c.options.freebind ?? false,
          family: c.options.family,
          noDelay: c.options.noDelay ?? false,
          keepAliveS: c.options.keepAliveS ?? 0,
        });
      }
    } finally {
      for (const fd of fds) closeSync(fd);
    }
  });
}

test('createSockets errors: errno and step like createSocket, nothing leaked; bad arguments throw TypeError', async () => {
  const before = fdCount();
  const missing = `${podA.netnsPath}-missing`;
  await assert.rejects(createSockets(nat, { netns: missing, family: 4 }, 4), (err: NativeSocketError) => {
    assert.equal(err.code, 'ENOENT');
    assert.equal(err.syscall, 'open netns');
    assert.equal(err.message, `open netns ${missing} failed: ENOENT (No such file or directory)`);
    return true;
  });
  await assert.rejects(createSockets(nat, { netns: '/proc/self/status', family: 4 }, 4), (err: NativeSocketError) => {
    assert.equal(err.code, 'EINVAL');
    assert.equal(err.syscall, 'setns');
    return true;
  });
  assert.equal(fdCount(), before, 'no fd left behind');
  for (const count of [0, 257, 1.5, -1]) {
    assert.throws(() => nat.createSockets({ family: 4 }, count, () => undefined), TypeError, `count ${count}`);
  }
  assert.throws(() => nat.createSockets({ family: 5 as 4 }, 1, () => undefined), TypeError);
});

test('bindSocket: IPv4 on a family-6 socket is bound mapped; errors name errno and the bind step', async () => {
  const [v6, v4a, v4b] = [
    ...(await createSockets(nat, { netns: podA.netnsPath, family: 6 }, 1)),
    ...(await createSockets(nat, { netns: podA.netnsPath, family: 4 }, 2)),
  ];
  // Node adopts v6 (and closes it on destroy); address() reads getsockname of the bound socket.
  nat.bindSocket(v6!, { ip: podA.ip, port: 0 });
  const adopted = new Socket({ fd: v6!, manualStart: true } as ConstructorParameters<typeof Socket>[0]);
  try {
    const addr = adopted.address() as AddressInfo;
    assert.equal(addr.address, `::ffff:${podA.ip}`);
    assert.ok(addr.port > 0, 'ephemeral port');
  } finally {
    adopted.destroy();
  }
  try {
    const cases: Array<{ fd: number; ip: string; code: string; syscall: string }> = [
      { fd: v4a!, ip: foreignIp, code: 'EADDRNOTAVAIL', syscall: 'bind' }, // not transparent: must own the IP
      { fd: 123456, ip: podA.ip, code: 'EBADF', syscall: 'getsockname' },
    ];
    for (const c of cases) {
      assert.throws(
        () => nat.bindSocket(c.fd, { ip: c.ip }),
        (err: NativeSocketError) => err.code === c.code && err.syscall === c.syscall,
        `${c.ip} on fd ${c.fd}`,
      );
    }
    nat.bindSocket(v4b!, { ip: podA.ip, port: 0 });
    assert.throws(() => nat.bindSocket(v4b!, { ip: podA.ip }), (err: NativeSocketError) => {
      assert.equal(err.code, 'EINVAL', 'already bound');
      assert.match(err.message, new RegExp(`^bind ${podA.ip.replace(/\./g, '\\.')}:0 failed: EINVAL`));
      return true;
    });
    assert.throws(() => nat.bindSocket(v4b!, { ip: 'fd00::1' }), TypeError, 'IPv6 address on an IPv4 socket');
  } finally {
    closeSync(v4a!);
    closeSync(v4b!);
  }
});

test('pool: first take is undefined, one refill in flight per key, later takes come from stock', async () => {
  const spy = spied(nat);
  const pool = new NetnsSocketPool(spy.native, { netns: podA.netnsPath, batch: 8, lowWater: 3 });
  try {
    const key: SocketPoolKey = { family: 4, transparent: true, mark: PACKET_MARK };
    assert.equal(pool.take(key), undefined, 'lazy: nothing before the first use');
    assert.equal(pool.take(key), undefined);
    assert.equal(spy.calls(), 1, 'at most one refill in flight per key');
    await spy.idle();
    assert.equal(pool.stock(key), 8);
    assert.equal(pool.stock({ family: 6, transparent: true, mark: PACKET_MARK }), 0, 'keys are separate');
    const inA = nat.socketNetnsInode(podA.netnsPath);
    const taken: number[] = [];
    try {
      for (let i = 0; i < 6; i++) {
        const fd = pool.take(key);
        assert.ok(fd !== undefined, `take ${i} from stock`);
        taken.push(fd);
        assert.equal(nat.netnsInodeOfSocket(fd), inA);
        // Pooled sockets are upstream sockets: no-delay and keepalive are set when they are made.
        assert.deepEqual(nat.getSocketOptions(fd), { mark: PACKET_MARK, transparent: true, freebind: true, family: 4, noDelay: true, keepAliveS: 180 });
      }
      // 8 - 6 = 2 < lowWater 3: the 6th take started a refill.
      assert.equal(spy.calls(), 2);
      await spy.idle();
      assert.equal(pool.stock(key), 10);
      assert.equal(pool.lastError(key), undefined);
    } finally {
      for (const fd of taken) closeSync(fd);
    }
  } finally {
    pool.close();
  }
});

test('pool close(): every pooled fd is closed, a refill delivered afterwards too; take then gives undefined', async () => {
  const baseline = fdCount();
  const spy = spied(nat);
  const pool = new NetnsSocketPool(spy.native, { netns: podA.netnsPath, batch: 16 });
  const keys: SocketPoolKey[] = [
    { family: 4, transparent: false, mark: PACKET_MARK },
    { family: 6, transparent: true, mark: PACKET_MARK },
  ];
  for (const k of keys) pool.take(k);
  await spy.idle();
  assert.equal(pool.size, 32);
  assert.equal(fdCount(), baseline + 32);
  pool.close();
  assert.equal(fdCount(), baseline, 'pooled fds closed');
  assert.equal(pool.take(keys[0]!), undefined);

  const late = new NetnsSocketPool(spy.native, { netns: podA.netnsPath, batch: 16 });
  late.take(keys[0]!); // refill in flight ...
  late.close(); // ... when the pool closes
  await spy.idle();
  assert.equal(fdCount(), baseline, 'the late batch was closed on delivery');
  assert.equal(late.size, 0);
});

test('pool: an idle key has its stock closed; a failed refill is remembered and backs off', async () => {
  const baseline = fdCount();
  const spy = spied(nat);
  const pool = new NetnsSocketPool(spy.native, { netns: podA.netnsPath, batch: 4, idleMs: 100 });
  const key: SocketPoolKey = { family: 4, transparent: false };
  pool.take(key);
  await spy.idle();
  assert.equal(pool.stock(key), 4);
  await waitUntil(() => pool.stock(key) === 0, 2000);
  assert.equal(fdCount(), baseline, 'idle stock closed');
  pool.close();

  const broken = new NetnsSocketPool(spy.native, { netns: `${podA.netnsPath}-missing`, errorBackoffMs: 60_000 });
  const calls = spy.calls();
  assert.equal(broken.take(key), undefined);
  await spy.idle();
  assert.equal((broken.lastError(key) as NativeSocketError).code, 'ENOENT');
  assert.equal(broken.take(key), undefined);
  assert.equal(spy.calls(), calls + 1, 'no refill during the back-off');
  broken.close();
});

const CONNECT_CASES: Array<{ name: string; source?: () => string; transparent?: boolean; sees?: () => string; bindError?: string }> = [
  { name: 'no source', sees: () => podA.ip },
  { name: 'spoofed source (bindSocket, transparent)', source: () => spoofIp, sees: () => spoofIp },
  { name: 'foreign source without transparent', source: () => foreignIp, transparent: false, bindError: 'EADDRNOTAVAIL' },
];

for (const c of CONNECT_CASES) {
  test(`connectInNetns with a pool: ${c.name}`, async (t) => {
    const spy = spied(nat);
    // lowWater 1: the take below does not start a refill (the fd count stays exact).
    const pool = new NetnsSocketPool(spy.native, { netns: podA.netnsPath, batch: 4, lowWater: 1 });
    t.after(() => pool.close());
    const source = c.source?.();
    const transparent = c.transparent ?? source !== undefined;
    const key: SocketPoolKey = { family: 4, transparent, mark: PACKET_MARK };
    pool.take(key); // prime (returns undefined, starts the refill)
    await spy.idle();
    assert.equal(pool.stock(key), 4);
    const { server, port } = await serverInB(t);
    const before = fdCount();
    const connecting = connectInNetns(nat, {
      netns: podA.netnsPath,
      target: { ip: podB.ip, port },
      source: source !== undefined ? { ip: source } : undefined,
      transparent: c.transparent,
      mark: PACKET_MARK,
      timeoutMs: 5000,
      pool,
    });
    assert.equal(pool.stock(key), 3, 'a pooled socket was taken synchronously');
    if (c.bindError) {
      await assert.rejects(connecting, (err: unknown) => {
        assert.ok(isMeshError(err, 'UPSTREAM_CONNECT'));
        assert.match(err.message, new RegExp(`: bind: ${c.bindError}$`));
        return true;
      });
      assert.equal(fdCount(), before - 1, 'the pooled fd was closed on the bind failure');
      return;
    }
    const acceptP = accepted(server);
    const client = await connecting;
    t.after(() => client.destroy());
    const conn = await acceptP;
    t.after(() => conn.destroy());
    assert.equal(conn.remoteAddress, c.sees!(), 'the server in B sees the expected source');
    assert.equal(nat.netnsInodeOfSocket(fdOf(client)!), nat.socketNetnsInode(podA.netnsPath));
    assert.deepEqual(nat.getSocketOptions(fdOf(client)!), { mark: PACKET_MARK, transparent, freebind: transparent, family: 4, noDelay: true, keepAliveS: 180 });
    client.write('ping');
    const [data] = (await once(conn, 'data')) as [Buffer];
    assert.equal(data.toString(), 'ping');
  });
}

test('a pool of another netns is ignored by connectInNetns (never a socket of the wrong pod)', async (t) => {
  const pool = new NetnsSocketPool(nat, { netns: podB.netnsPath, batch: 2 });
  t.after(() => pool.close());
  const key: SocketPoolKey = { family: 4, transparent: false, mark: PACKET_MARK };
  pool.take(key);
  await waitUntil(() => pool.stock(key) === 2, 5000);
  const { server, port } = await serverInB(t);
  const acceptP = accepted(server);
  const client = await connectInNetns(nat, { netns: podA.netnsPath, target: { ip: podB.ip, port }, mark: PACKET_MARK, timeoutMs: 5000, pool });
  t.after(() => client.destroy());
  t.after(async () => (await acceptP).destroy());
  assert.equal(pool.stock(key), 2, 'untouched');
  assert.equal(nat.netnsInodeOfSocket(fdOf(client)!), nat.socketNetnsInode(podA.netnsPath));
});

test('INVARIANT: pooled sockets pin their netns after it is deleted, until the pool (factory) is closed', async (t) => {
  const name = `ambit-${topo.id}-pin`;
  const path = `/var/run/netns/${name}`;
  t.after(() => {
    try {
      execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
    } catch {
      // deleted by the test
    }
  });
  execFileSync('ip', ['netns', 'add', name]);
  const inode = nat.socketNetnsInode(path);
  const baseline = fdCount();
  const factory = new NetnsSocketFactory({ native: nat, netns: path, mark: PACKET_MARK, timeoutMs: 1000, pool: { batch: 4 } });
  // The first connect falls back to createSocket (refused: nothing listens) and primes the pool.
  await assert.rejects(factory.connect({ ip: '127.0.0.1', port: 9 }), (err: unknown) => isMeshError(err, 'UPSTREAM_CONNECT'));
  await waitUntil(() => factory.pooledSockets === 4, 5000);
  execFileSync('ip', ['netns', 'del', name]);
  // The netns file is gone, yet the kernel keeps the namespace: a pooled socket still lives in it.
  const fds = readdirSync('/proc/self/fd').map(Number);
  const pinned = fds.filter((fd) => {
    try {
      return nat.netnsInodeOfSocket(fd) === inode;
    } catch {
      return false;
    }
  });
  assert.equal(pinned.length, 4, 'the 4 pooled sockets still reference the deleted netns');
  factory.close();
  assert.equal(factory.pooledSockets, 0);
  assert.equal(fdCount(), baseline, 'closing the factory released every reference');
});
