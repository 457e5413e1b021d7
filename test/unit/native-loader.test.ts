// Loading the native socket addon: a missing, broken or stale binary yields { ok: false } with a
// one-line reason saying what is wrong and how to fix it, never a throw (the agent runs on without it).

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { defaultAddonPath, loadNativeSockets } from '../../src/sockets/index.js';

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'ambit-native-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('a wrong binary path gives a clear reason naming the path and the fix', (t) => {
  const path = join(tempDir(t), 'build', 'Release', 'ambit_sockets.node');
  const load = loadNativeSockets({ addonPath: path });
  assert.equal(load.ok, false);
  assert.ok(!load.ok);
  assert.equal(load.reason, `native addon not built: ${path} missing (run npm rebuild; it needs python3, make and a C compiler)`);
});

test('a file that is not a loadable addon is reported with the loader error', (t) => {
  const path = join(tempDir(t), 'ambit_sockets.node');
  writeFileSync(path, 'not an ELF shared object');
  const load = loadNativeSockets({ addonPath: path });
  assert.ok(!load.ok);
  assert.match(load.reason, new RegExp(`^native addon ${path.replace(/[.]/g, '\\.')} failed to load: .+ \\(run npm rebuild\\)$`));
  assert.doesNotMatch(load.reason, /\n/, 'one line');
});

test('a module missing functions (stale build) is refused and the missing ones are named', (t) => {
  const path = join(tempDir(t), 'stale.cjs');
  writeFileSync(path, 'module.exports = { originalDst() {}, createSocket() {}, setSocketOptions: 1 };');
  const load = loadNativeSockets({ addonPath: path });
  assert.ok(!load.ok);
  assert.equal(
    load.reason,
    `native addon ${path} lacks createSockets, bindSocket, setSocketOptions, getSocketOptions, socketNetnsInode, netnsInodeOfSocket, closeSocket, netnsFdInode, seqpacketConnect, seqpacketSend, seqpacketRecv, pollReadable, trimHeap (stale build? run npm rebuild)`,
  );
});

test('the default path is build/Release under the package root and loads when built', () => {
  const path = defaultAddonPath();
  assert.ok(path.endsWith(join('build', 'Release', 'ambit_sockets.node')));
  assert.ok(existsSync(join(dirname(dirname(dirname(path))), 'package.json')), 'three levels up is the package root');
  const load = loadNativeSockets();
  if (existsSync(path)) {
    assert.ok(load.ok, load.ok ? '' : load.reason);
    assert.equal(typeof load.native.createSocket, 'function');
  } else {
    assert.ok(!load.ok);
    assert.match(load.reason, /^native addon not built: /);
  }
});
