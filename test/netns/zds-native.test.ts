// Root tier: the native pieces ZDS rests on, against real namespaces. Sockets made in a netns named
// by an open fd (as istio-cni hands it over), which the addon dups so the caller may close its fd at
// once; the netns identity of an fd (inode, and refusal of an fd that is no netns); and the Unix
// SOCK_SEQPACKET socket: whole datagrams, SCM_RIGHTS fds received, truncation flagged, EOF seen.

import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { createSocketFd, listenInNetns, loadNativeSockets, SeqpacketSocket, type NativeSockets, type SeqpacketDatagram } from '../../src/sockets/index.js';
import { requireRoot } from '../helpers/netns-topology.js';

function native(): NativeSockets {
  const load = loadNativeSockets();
  if (!load.ok) throw new Error(`native addon required by the netns tier: ${load.reason}`);
  return load.native;
}

function netns(t: TestContext): string {
  requireRoot('the ZDS native tests');
  const name = `ambit-zn${randomBytes(4).toString('hex')}`;
  execFileSync('ip', ['netns', 'add', name]);
  execFileSync('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
  t.after(() => execFileSync('ip', ['netns', 'del', name]));
  return `/var/run/netns/${name}`;
}

test('a socket made in a netns named by fd lives in that netns, even when the fd is closed right after the call', async (t) => {
  const n = native();
  const path = netns(t);
  const fd = openSync(path, 'r');
  const done = createSocketFd(n, { netnsFd: fd, family: 4 });
  closeSync(fd); // the addon holds its own dup for the work item
  const sock = await done;
  try {
    assert.equal(n.netnsInodeOfSocket(sock), n.socketNetnsInode(path));
    assert.notEqual(n.netnsInodeOfSocket(sock), n.socketNetnsInode('/proc/self/ns/net'));
  } finally {
    n.closeSocket(sock);
  }
});

test('listenInNetns with an fd target binds inside the pod netns; errors name the fd and the pod', async (t) => {
  const n = native();
  const path = netns(t);
  const fd = openSync(path, 'r');
  t.after(() => closeSync(fd));
  const server = await listenInNetns(n, { netns: { fd, name: 'pod-a' }, host: '127.0.0.1', port: 15001 });
  t.after(() => server.close());
  const ss = execFileSync('ip', ['netns', 'exec', path.split('/').pop()!, 'ss', '-Hltn'], { encoding: 'utf8' });
  assert.match(ss, /127\.0\.0\.1:15001\b/);
  await assert.rejects(listenInNetns(n, { netns: { fd, name: 'pod-a' }, host: '127.0.0.1', port: 15001 }), (err: Error) => {
    assert.match(err.message, new RegExp(`^cannot listen on 127\\.0\\.0\\.1:15001 in netns fd ${fd} \\(pod-a\\): bind: EADDRINUSE$`));
    return true;
  });
  // netns and netnsFd are exclusive.
  assert.throws(() => n.createSocket({ netns: path, netnsFd: fd, family: 4 }, () => undefined), /exclusive/);
});

test('netnsFdInode: the inode of the netns an fd names; an fd that is not a netns is refused (EINVAL)', (t) => {
  const n = native();
  const path = netns(t);
  const fd = openSync(path, 'r');
  const dup = openSync(`/proc/self/fd/${fd}`, 'r');
  try {
    assert.equal(n.netnsFdInode(fd), n.socketNetnsInode(path));
    assert.equal(n.netnsFdInode(dup), n.netnsFdInode(fd), 'two fds of one netns: one inode');
    assert.match(readlinkSync(`/proc/self/fd/${fd}`), /netns/);
  } finally {
    closeSync(fd);
    closeSync(dup);
  }
  const devnull = openSync('/dev/null', 'r');
  try {
    assert.throws(() => n.netnsFdInode(devnull), (err: NodeJS.ErrnoException) => err.code === 'EINVAL' && err.syscall === 'NS_GET_NSTYPE');
    const uts = openSync('/proc/self/ns/uts', 'r');
    assert.throws(() => n.netnsFdInode(uts), /not a network namespace/);
    closeSync(uts);
  } finally {
    closeSync(devnull);
  }
});

/** A Python SEQPACKET server: on connect it sends each datagram of `script`, then closes. */
async function pythonServer(t: TestContext, script: string): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'ambit-seq-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 's.sock');
  const code = `
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.bind(${JSON.stringify(path)}); s.listen(1); print("up", flush=True)
c, _ = s.accept()
hello = c.recv(1024); print("got", hello.hex(), flush=True)
${script}
c.close()
`;
  const child = spawn('python3', ['-c', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => child.kill('SIGKILL'));
  await new Promise<void>((resolve) => child.stdout!.on('data', (d: Buffer) => d.toString().includes('up') && resolve()));
  return path;
}

test('SEQPACKET: whole datagrams in order, SCM_RIGHTS fds received, truncation flagged, the peer close seen', async (t) => {
  const n = native();
  const ns = netns(t);
  const path = await pythonServer(
    t,
    `
fd = os.open(${JSON.stringify(ns)}, os.O_RDONLY)
c.send(b"first")
socket.send_fds(c, [b"with-fd"], [fd])
c.send(b"x" * 1500)
c.send(b"last")
`,
  );
  const sock = SeqpacketSocket.connect(n, path, 1024);
  const got: SeqpacketDatagram[] = [];
  const closed = new Promise<Error | undefined>((resolve) => {
    sock.start({
      message: (d) => {
        got.push(d);
        // A handler still busy holds the next datagram back (one at a time).
        return new Promise((r) => setTimeout(r, 20));
      },
      close: resolve,
    });
  });
  sock.send(Buffer.from('0801', 'hex'));
  assert.equal(await closed, undefined);
  assert.deepEqual(got.map((d) => [d.data.toString().slice(0, 7), d.data.length, d.fds.length, d.truncated]), [
    ['first', 5, 0, false],
    ['with-fd', 7, 1, false],
    ['xxxxxxx', 1024, 0, true],
    ['last', 4, 0, false],
  ]);
  const fd = got[1]!.fds[0]!;
  assert.equal(n.netnsFdInode(fd), n.socketNetnsInode(ns), 'the fd received is the netns sent');
  n.closeSocket(fd);
  assert.equal(sock.isClosed, true);
});

test('SEQPACKET connect errors name the path and errno', (t) => {
  const n = native();
  requireRoot('the ZDS native tests');
  const dir = mkdtempSync(join(tmpdir(), 'ambit-seq-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  assert.throws(() => n.seqpacketConnect(join(dir, 'none.sock')), (err: NodeJS.ErrnoException) => err.code === 'ENOENT' && err.syscall === 'connect' && err.message.includes(dir));
  assert.throws(() => n.seqpacketConnect(`/${'x'.repeat(200)}`), (err: NodeJS.ErrnoException) => err.code === 'ENAMETOOLONG');
});
