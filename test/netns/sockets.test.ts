// Root tier: the native socket addon against real network namespaces, veths and iptables rules:
// listeners and connections made inside a netns, SO_ORIGINAL_DST after REDIRECT, spoofed sources.
// Fails (never skips) without root. Every namespace has a per-run name and is deleted in t.after.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, readlinkSync } from 'node:fs';
import { once } from 'node:events';
import type { AddressInfo, Server, Socket } from 'node:net';
import { test, type TestContext } from 'node:test';
import { isMeshError } from '../../src/common/errors.js';
import {
  connectInNetns,
  createSocketFd,
  fdOf,
  listenInNetns,
  loadNativeSockets,
  originalDstOf,
  type NativeSockets,
} from '../../src/sockets/index.js';

const A_IP = '10.77.0.1';
const B_IP = '10.77.0.2';
/** Never configured anywhere: the spoofed client IP. */
const SPOOF_IP = '10.99.0.7';
/** Routed (via B) but not owned by anyone: the pre-redirect destination. */
const REDIRECTED_DST = '10.88.0.5';
const PACKET_MARK = 1337;

function requireRoot(): void {
  if (typeof process.getuid === 'function' && process.getuid() === 0) return;
  throw new Error('test/netns/sockets.test needs root (ip netns, veth, iptables); run the netns tier as root — it is never skipped');
}

function native(): NativeSockets {
  const load = loadNativeSockets();
  if (!load.ok) throw new Error(`native addon required by the netns tier: ${load.reason}`);
  return load.native;
}

function sh(argv: string[]): string {
  return execFileSync(argv[0]!, argv.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

interface Pair {
  readonly a: string; // netns names
  readonly b: string;
  readonly pathA: string;
  readonly pathB: string;
  inA(argv: string[]): string;
}

/** Two namespaces joined by a veth (A 10.77.0.1/24, B 10.77.0.2/24), each routing everything else to the other. */
function makePair(t: TestContext): Pair {
  requireRoot();
  const id = randomBytes(4).toString('hex');
  const a = `ambit-t${id}a`;
  const b = `ambit-t${id}b`;
  t.after(() => {
    for (const ns of [a, b]) {
      try {
        sh(['ip', 'netns', 'del', ns]);
      } catch {
        // not created, or already gone
      }
    }
  });
  sh(['ip', 'netns', 'add', a]);
  sh(['ip', 'netns', 'add', b]);
  // Both ends are created inside the namespaces: nothing is added to the root netns.
  sh(['ip', '-n', a, 'link', 'add', 'va', 'type', 'veth', 'peer', 'name', 'vb', 'netns', b]);
  for (const [ns, dev, ip, peer] of [
    [a, 'va', A_IP, B_IP],
    [b, 'vb', B_IP, A_IP],
  ] as const) {
    sh(['ip', '-n', ns, 'addr', 'add', `${ip}/24`, 'dev', dev]);
    sh(['ip', '-n', ns, 'link', 'set', dev, 'up']);
    sh(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
    sh(['ip', '-n', ns, 'route', 'add', 'default', 'via', peer]);
  }
  return {
    a,
    b,
    pathA: `/var/run/netns/${a}`,
    pathB: `/var/run/netns/${b}`,
    inA: (argv) => sh(['ip', 'netns', 'exec', a, ...argv]),
  };
}

/** Stops listening at test end (not waiting for connections: their own t.after hooks destroy them). */
function closeServer(t: TestContext, server: Server): void {
  t.after(() => {
    server.close();
  });
}

/** Resolves with the first accepted socket (listening servers start their sockets paused). */
async function accepted(server: Server): Promise<Socket> {
  const [socket] = (await once(server, 'connection')) as [Socket];
  socket.resume();
  return socket;
}

/** Sends `msg` on `from`, returns what `to` reads (exactly msg.length bytes). */
async function roundTrip(from: Socket, to: Socket, msg: string): Promise<string> {
  let got = '';
  const done = new Promise<void>((resolve) => {
    const onData = (d: Buffer): void => {
      got += d.toString();
      if (got.length >= msg.length) {
        to.off('data', onData);
        resolve();
      }
    };
    to.on('data', onData);
  });
  from.write(msg);
  await done;
  return got;
}

test('a listener created in netns A accepts a connection made from netns B over the veth', async (t) => {
  const nat = native();
  const pair = makePair(t);
  const server = await listenInNetns(nat, { netns: pair.pathA, host: '0.0.0.0', port: 0, backlog: 16 });
  closeServer(t, server);
  const port = (server.address() as AddressInfo).port;
  assert.equal(nat.netnsInodeOfSocket(serverFd(server)), nat.socketNetnsInode(pair.pathA));

  const acceptP = accepted(server);
  const client = await connectInNetns(nat, { netns: pair.pathB, target: { ip: A_IP, port }, timeoutMs: 5000 });
  t.after(() => client.destroy());
  const conn = await acceptP;
  t.after(() => conn.destroy());

  assert.equal(conn.remoteAddress, B_IP, 'the server sees netns B’s veth address');
  assert.equal(client.remoteAddress, A_IP);
  assert.equal(nat.netnsInodeOfSocket(fdOf(client)!), nat.socketNetnsInode(pair.pathB));
  assert.equal(await roundTrip(client, conn, 'ping'), 'ping');
  assert.equal(await roundTrip(conn, client, 'pong'), 'pong');
  // Half-close is carried (allowHalfOpen on both sides).
  client.end();
  await once(conn, 'end');
  assert.equal(await roundTrip(conn, client, 'after-fin'), 'after-fin');
});

function serverFd(server: Server): number {
  const fd = (server as unknown as { _handle?: { fd?: number } })._handle?.fd;
  assert.ok(typeof fd === 'number' && fd >= 0, 'listening server has an fd');
  return fd;
}

test('originalDst returns the pre-REDIRECT destination; the real one for a tracked direct connection', async (t) => {
  const nat = native();
  const pair = makePair(t);
  pair.inA(['iptables', '-w', '-t', 'nat', '-A', 'OUTPUT', '-p', 'tcp', '--dport', '8000', '-j', 'REDIRECT', '--to-ports', '15001']);
  const server = await listenInNetns(nat, { netns: pair.pathA, host: '0.0.0.0', port: 15001 });
  closeServer(t, server);

  const acceptP = accepted(server);
  const client = await connectInNetns(nat, { netns: pair.pathA, target: { ip: REDIRECTED_DST, port: 8000 }, timeoutMs: 5000 });
  t.after(() => client.destroy());
  const conn = await acceptP;
  t.after(() => conn.destroy());
  assert.equal(conn.localPort, 15001);
  assert.deepEqual(originalDstOf(nat, conn), { ip: REDIRECTED_DST, port: 8000 });
  assert.equal(await roundTrip(client, conn, 'via-redirect'), 'via-redirect');

  // Not redirected, but tracked (the nat table turned conntrack on in A): the original tuple is
  // the real destination, i.e. the local address.
  const direct = accepted(server);
  const client2 = await connectInNetns(nat, { netns: pair.pathA, target: { ip: '127.0.0.1', port: 15001 }, timeoutMs: 5000 });
  t.after(() => client2.destroy());
  const conn2 = await direct;
  t.after(() => conn2.destroy());
  assert.deepEqual(originalDstOf(nat, conn2), { ip: '127.0.0.1', port: 15001 });
});

test('originalDst is undefined (never a throw) where no conntrack entry exists', async (t) => {
  const nat = native();
  const pair = makePair(t);
  // Netns B has no iptables rules, so conntrack does not track its connections.
  const server = await listenInNetns(nat, { netns: pair.pathB, host: B_IP, port: 0 });
  closeServer(t, server);
  const port = (server.address() as AddressInfo).port;
  const acceptP = accepted(server);
  const client = await connectInNetns(nat, { netns: pair.pathA, target: { ip: B_IP, port }, timeoutMs: 5000 });
  t.after(() => client.destroy());
  const conn = await acceptP;
  t.after(() => conn.destroy());
  assert.equal(originalDstOf(nat, conn), undefined);
  assert.equal(nat.originalDst(fdOf(conn)!), undefined);
  // A closed socket has no fd: undefined as well.
  conn.destroy();
  assert.equal(originalDstOf(nat, conn), undefined);
});

test('a dual-stack [::] listener reads the IPv4 original destination, normalised', async (t) => {
  const nat = native();
  const pair = makePair(t);
  pair.inA(['iptables', '-w', '-t', 'nat', '-A', 'OUTPUT', '-p', 'tcp', '--dport', '8000', '-j', 'REDIRECT', '--to-ports', '15001']);
  const server = await listenInNetns(nat, { netns: pair.pathA, host: '::', port: 15001 });
  closeServer(t, server);
  const acceptP = accepted(server);
  const client = await connectInNetns(nat, { netns: pair.pathA, target: { ip: REDIRECTED_DST, port: 8000 }, timeoutMs: 5000 });
  t.after(() => client.destroy());
  const conn = await acceptP;
  t.after(() => conn.destroy());
  assert.match(conn.remoteAddress ?? '', /^::ffff:/, 'accepted on the IPv6 socket as a mapped address');
  assert.deepEqual(originalDstOf(nat, conn), { ip: REDIRECTED_DST, port: 8000 });
  // The raw native answer is the IPv4 form too (SOL_IP answers for mapped connections).
  assert.deepEqual(nat.originalDst(fdOf(conn)!), { ip: REDIRECTED_DST, port: 8000 });
});

test('IPv6: originalDst reads IP6T_SO_ORIGINAL_DST after an ip6tables REDIRECT', async (t) => {
  const nat = native();
  const pair = makePair(t);
  pair.inA(['ip', '-6', 'addr', 'add', 'fd00:77::1/64', 'dev', 'va', 'nodad']);
  pair.inA(['ip', '-6', 'route', 'add', 'default', 'via', 'fd00:77::2', 'dev', 'va']);
  pair.inA(['ip6tables', '-w', '-t', 'nat', '-A', 'OUTPUT', '-p', 'tcp', '--dport', '8000', '-j', 'REDIRECT', '--to-ports', '15001']);
  const server = await listenInNetns(nat, { netns: pair.pathA, host: '::', port: 15001 });
  closeServer(t, server);
  const acceptP = accepted(server);
  const client = await connectInNetns(nat, { netns: pair.pathA, target: { ip: 'FD00:88::5', port: 8000 }, timeoutMs: 5000 });
  t.after(() => client.destroy());
  const conn = await acceptP;
  t.after(() => conn.destroy());
  assert.equal(conn.localPort, 15001);
  assert.equal(conn.remoteAddress, 'fd00:77::1', 'an IPv6 connection, not a mapped IPv4 one');
  assert.deepEqual(originalDstOf(nat, conn), { ip: 'fd00:88::5', port: 8000 });
  assert.equal(await roundTrip(client, conn, 'v6'), 'v6');
});

test('spoofed source: transparent+freebind connect in netns A reaches a server in A that sees the spoofed IP', async (t) => {
  const nat = native();
  const pair = makePair(t);
  // istio-cni in-pod rules for original-source: packets of the agent (mark 1337) tag their
  // connection 0x111 when looped through lo; the app's replies get 0x111 back and are routed to the
  // local table, so they reach the transparent socket instead of leaving by the default route.
  pair.inA(['ip', 'rule', 'add', 'fwmark', '0x111/0xfff', 'pref', '32764', 'lookup', '100']);
  pair.inA(['ip', 'route', 'add', 'local', '0.0.0.0/0', 'dev', 'lo', 'table', '100']);
  pair.inA(['iptables', '-w', '-t', 'mangle', '-A', 'PREROUTING', '-m', 'mark', '--mark', '0x539/0xfff', '-j', 'CONNMARK', '--set-xmark', '0x111/0xfff']);
  pair.inA(['iptables', '-w', '-t', 'mangle', '-A', 'OUTPUT', '-m', 'connmark', '--mark', '0x111/0xfff', '-j', 'CONNMARK', '--restore-mark', '--nfmask', '0xffffffff', '--ctmask', '0xffffffff']);

  const server = await listenInNetns(nat, { netns: pair.pathA, host: A_IP, port: 0 });
  closeServer(t, server);
  const port = (server.address() as AddressInfo).port;
  const acceptP = accepted(server);
  const client = await connectInNetns(nat, {
    netns: pair.pathA,
    target: { ip: A_IP, port },
    source: { ip: SPOOF_IP },
    mark: PACKET_MARK,
    timeoutMs: 5000,
  });
  t.after(() => client.destroy());
  const conn = await acceptP;
  t.after(() => conn.destroy());

  assert.equal(conn.remoteAddress, SPOOF_IP, 'the server sees the spoofed client IP');
  assert.equal(client.localAddress, SPOOF_IP);
  // Unpooled upstream sockets get no-delay and keepalive 180 s when they are made, as pooled ones.
  assert.deepEqual(nat.getSocketOptions(fdOf(client)!), { mark: PACKET_MARK, transparent: true, freebind: true, family: 4, noDelay: true, keepAliveS: 180 });
  assert.equal(await roundTrip(client, conn, 'spoofed'), 'spoofed');
  assert.equal(await roundTrip(conn, client, 'reply'), 'reply');
  assert.doesNotMatch(pair.inA(['ip', '-4', 'addr']), new RegExp(SPOOF_IP.replace(/\./g, '\\.')), 'A does not own the spoofed IP');
});

test('SO_MARK is applied to outbound packets (iptables mark counter in the client netns)', async (t) => {
  const nat = native();
  const pair = makePair(t);
  pair.inA(['iptables', '-w', '-t', 'mangle', '-A', 'OUTPUT', '-p', 'tcp', '-m', 'mark', '--mark', String(PACKET_MARK)]);
  const server = await listenInNetns(nat, { netns: pair.pathB, host: B_IP, port: 0 });
  closeServer(t, server);
  const port = (server.address() as AddressInfo).port;
  const counted = (): number => {
    const out = pair.inA(['iptables', '-w', '-t', 'mangle', '-L', 'OUTPUT', '-n', '-v', '-x']);
    const line = out.split('\n').find((l) => l.includes('mark match 0x539'));
    assert.ok(line, `counter rule present:\n${out}`);
    return Number(line.trim().split(/\s+/)[0]);
  };

  const unmarked = accepted(server);
  const plain = await connectInNetns(nat, { netns: pair.pathA, target: { ip: B_IP, port }, timeoutMs: 5000 });
  t.after(() => plain.destroy());
  t.after(async () => (await unmarked).destroy());
  await unmarked;
  assert.equal(counted(), 0, 'an unmarked connection is not counted');

  const acceptP = accepted(server);
  const marked = await connectInNetns(nat, { netns: pair.pathA, target: { ip: B_IP, port }, mark: PACKET_MARK, timeoutMs: 5000 });
  t.after(() => marked.destroy());
  const conn = await acceptP;
  t.after(() => conn.destroy());
  assert.equal(await roundTrip(marked, conn, 'marked'), 'marked');
  assert.ok(counted() >= 2, 'SYN and the following packets carry mark 1337');
  assert.equal(nat.getSocketOptions(fdOf(marked)!).mark, PACKET_MARK);
  nat.setSocketOptions(fdOf(marked)!, { mark: 7 });
  assert.equal(nat.getSocketOptions(fdOf(marked)!).mark, 7, 'setSocketOptions changes the mark of a live socket');
});

test('threadpool threads return to the agent netns; the main thread never leaves it', async (t) => {
  const nat = native();
  const pair = makePair(t);
  const root = nat.socketNetnsInode('/proc/self/ns/net');
  const inA = nat.socketNetnsInode(pair.pathA);
  assert.notEqual(root, inA);
  const mainThreadNs = readlinkSync('/proc/thread-self/ns/net');
  // More jobs than libuv threadpool threads (4 by default), so every thread enters netns A.
  const n = 16;
  const inNs = await Promise.all(Array.from({ length: n }, () => createSocketFd(nat, { netns: pair.pathA, family: 4 })));
  const plain = await Promise.all(Array.from({ length: n }, () => createSocketFd(nat, { family: 6 })));
  try {
    for (const fd of inNs) assert.equal(nat.netnsInodeOfSocket(fd), inA);
    for (const fd of plain) assert.equal(nat.netnsInodeOfSocket(fd), root, 'a socket made without netns is in the agent netns');
    assert.equal(readlinkSync('/proc/thread-self/ns/net'), mainThreadNs);
  } finally {
    for (const fd of [...inNs, ...plain]) closeSync(fd);
  }
});

test('closeSocket closes an fd the addon made, inside a worker thread without Node warnings; twice is EBADF', async (t) => {
  const nat = native();
  const fd = await createSocketFd(nat, { family: 4 });
  assert.ok(readlinkSync(`/proc/self/fd/${fd}`).startsWith('socket:'));
  nat.closeSocket(fd);
  assert.throws(() => readlinkSync(`/proc/self/fd/${fd}`), { code: 'ENOENT' });
  assert.throws(() => nat.closeSocket(fd), { code: 'EBADF' });
  // In a worker thread fs.closeSync warns for fds fs did not open; closeSocket must not.
  const { Worker } = await import('node:worker_threads');
  const loader = new URL('../../src/sockets/native-loader.js', import.meta.url).href;
  const code = `
    const { loadNativeSockets } = await import(${JSON.stringify(loader)});
    const { createSocketFd } = await import(${JSON.stringify(new URL('../../src/sockets/netns-socket.js', import.meta.url).href)});
    const load = loadNativeSockets();
    const fds = await Promise.all([1, 2, 3].map(() => createSocketFd(load.native, { family: 4 })));
    for (const fd of fds) load.native.closeSocket(fd);
    (await import('node:worker_threads')).parentPort.postMessage(fds.length);
  `;
  const w = new Worker(code, { eval: true, stderr: true });
  let stderr = '';
  w.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const closed = await new Promise((resolve, reject) => {
    w.once('message', resolve);
    w.once('error', reject);
  });
  await new Promise((r) => w.once('exit', r));
  t.diagnostic(stderr);
  assert.equal(closed, 3);
  assert.doesNotMatch(stderr, /closed but not opened/);
});

test('errors carry the errno name and the failing step', async (t) => {
  const nat = native();
  const pair = makePair(t);
  await assert.rejects(createSocketFd(nat, { netns: `/var/run/netns/${pair.a}-missing`, family: 4 }), (err: NodeJS.ErrnoException) => {
    assert.equal(err.code, 'ENOENT');
    assert.equal(err.syscall, 'open netns');
    assert.match(err.message, /^open netns \/var\/run\/netns\/.*-missing failed: ENOENT \(No such file or directory\)$/);
    return true;
  });
  await assert.rejects(createSocketFd(nat, { netns: '/proc/self/status', family: 4 }), (err: NodeJS.ErrnoException) => {
    assert.equal(err.code, 'EINVAL', 'setns on a file that is not a netns');
    assert.equal(err.syscall, 'setns');
    return true;
  });
  const server = await listenInNetns(nat, { netns: pair.pathA, host: A_IP, port: 0 });
  closeServer(t, server);
  const port = (server.address() as AddressInfo).port;
  await assert.rejects(listenInNetns(nat, { netns: pair.pathA, host: A_IP, port }), (err: unknown) => {
    assert.ok(isMeshError(err, 'SOCKET_SETUP'));
    assert.equal((err.cause as NodeJS.ErrnoException).code, 'EADDRINUSE');
    assert.match(err.message, /^cannot listen on 10\.77\.0\.1:\d+ in netns \/var\/run\/netns\/ambit-t\w+: bind: EADDRINUSE$/);
    assert.match((err.cause as Error).message, /^bind 10\.77\.0\.1:\d+ in netns \/var\/run\/netns\/ambit-t\w+ failed: EADDRINUSE/);
    return true;
  });
  // Without transparent, a non-local source cannot be bound.
  await assert.rejects(
    connectInNetns(nat, { netns: pair.pathA, target: { ip: B_IP, port: 9 }, source: { ip: SPOOF_IP }, transparent: false, timeoutMs: 5000 }),
    (err: unknown) => isMeshError(err, 'UPSTREAM_CONNECT') && /from 10\.99\.0\.7 in netns .*: bind: EADDRNOTAVAIL$/.test(err.message),
  );
  // Nothing listens on B:9: refused, named.
  await assert.rejects(connectInNetns(nat, { netns: pair.pathA, target: { ip: B_IP, port: 9 }, timeoutMs: 5000 }), (err: unknown) => {
    assert.ok(isMeshError(err, 'UPSTREAM_CONNECT'));
    assert.match(err.message, /connect to 10\.77\.0\.2:9 in netns .*: ECONNREFUSED/);
    return true;
  });
  assert.throws(() => nat.originalDst(123456), (err: NodeJS.ErrnoException) => err.code === 'EBADF');
  assert.throws(() => nat.createSocket({ family: 5 as 4 }, () => undefined), TypeError);
});

test('connectInNetns times out toward a black hole with UPSTREAM_CONNECT', async (t) => {
  const nat = native();
  const pair = makePair(t);
  pair.inA(['iptables', '-w', '-A', 'OUTPUT', '-d', B_IP, '-p', 'tcp', '--dport', '9', '-j', 'DROP']);
  const started = Date.now();
  await assert.rejects(connectInNetns(nat, { netns: pair.pathA, target: { ip: B_IP, port: 9 }, timeoutMs: 300 }), (err: unknown) => {
    assert.ok(isMeshError(err, 'UPSTREAM_CONNECT'));
    assert.match(err.message, /timed out after 300ms/);
    return true;
  });
  assert.ok(Date.now() - started >= 290);
});
