// The ZDS pod set and its fds (real fds, closed through the native addon): each fd received is closed
// exactly once — at once when it duplicates the netns held or its pod left before the registry saw
// it, else only when the registry releases the pod; and which workloads the host proxy leaves out.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, fstatSync, openSync } from 'node:fs';
import { ZdsPodSource } from '../../src/inpod/index.js';
import { loadNativeSockets } from '../../src/sockets/index.js';
import type { Workload } from '../../src/state/index.js';

const load = loadNativeSockets();
if (!load.ok) throw new Error(`the ZDS pod source closes fds through the native addon: ${load.reason}`);
const native = load.native;
const INFO = { name: 'p1', namespace: 'ns', serviceAccount: 'sa' };

function isOpen(fd: number): boolean {
  try {
    fstatSync(fd);
    return true;
  } catch {
    return false;
  }
}

/** An fd standing for a received netns fd (the source only stores and closes it). */
const newFd = (): number => openSync('/dev/null', 'r');

test('a duplicate add (same inode) closes the new fd and changes nothing', () => {
  const src = new ZdsPodSource(native, 'node1');
  let changes = 0;
  src.onChange(() => changes++);
  const a = newFd();
  const b = newFd();
  assert.equal(src.upsert('u1', INFO, a, 100), 'added');
  assert.equal(src.upsert('u1', INFO, b, 100), 'same');
  assert.equal(isOpen(b), false);
  assert.equal(isOpen(a), true);
  assert.equal(changes, 1);
  assert.deepEqual(src.current().map((p) => [p.uid, p.netns, p.netnsFd, p.rules]), [['u1', 'netns inode 100', a, 'cni']]);
  src.release(src.current()[0]!);
  assert.equal(isOpen(a), false);
});

test('a replaced netns: the old fd stays open until the registry releases the old entry', () => {
  const src = new ZdsPodSource(native, 'node1');
  const a = newFd();
  const b = newFd();
  src.upsert('u1', INFO, a, 100);
  const old = src.current()[0]!; // the registry has seen it
  assert.equal(src.upsert('u1', INFO, b, 200), 'replaced');
  assert.equal(isOpen(a), true, 'the old proxy may still be using it');
  src.release(old);
  assert.equal(isOpen(a), false);
  assert.equal(src.current()[0]!.netnsFd, b, 'releasing the old entry leaves the new one');
  src.release(src.current()[0]!);
  assert.equal(isOpen(b), false);
});

test('a pod that leaves before the registry saw it has its fd closed at once; one it saw waits for release', () => {
  const src = new ZdsPodSource(native, 'node1');
  const unseen = newFd();
  src.upsert('u1', INFO, unseen, 1);
  src.delete('u1');
  assert.equal(isOpen(unseen), false);
  const seen = newFd();
  src.upsert('u2', INFO, seen, 2);
  const entry = src.current()[0]!;
  assert.deepEqual(src.retainOnly(new Set()), ['u2']);
  assert.equal(isOpen(seen), true);
  src.release(entry);
  assert.equal(isOpen(seen), false);
});

test('close() closes the fds of pods the registry never saw, and only those', () => {
  const src = new ZdsPodSource(native, 'node1');
  const seen = newFd();
  src.upsert('u1', INFO, seen, 1);
  src.current();
  const unseen = newFd();
  src.upsert('u2', INFO, unseen, 2);
  src.close();
  assert.equal(isOpen(unseen), false);
  assert.equal(isOpen(seen), true);
  closeSync(seen);
});

test('covers: the host proxy leaves out exactly the local workloads istio-cni named', () => {
  const src = new ZdsPodSource(native, 'node1');
  src.upsert('u1', INFO, newFd(), 1);
  const w = (over: Partial<Workload>): Workload => ({ name: 'p1', namespace: 'ns', serviceAccount: 'sa', node: 'node1', ...over }) as Workload;
  assert.equal(src.covers(w({})), true);
  assert.equal(src.covers(w({ node: 'node2' })), false, 'another node');
  assert.equal(src.covers(w({ serviceAccount: 'other' })), false);
  assert.equal(src.covers(w({ name: 'p2' })), false);
  src.release(src.current()[0]!);
});
