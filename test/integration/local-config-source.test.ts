// Integration tests for LocalConfigSource against a real directory: initial load, hot reload,
// rejection of a bad edit (last good config kept), editor-style rename-replace, absent file.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isMeshError } from '../../src/common/errors.js';
import { silentLogger } from '../../src/common/log.js';
import { ProxyState } from '../../src/state/index.js';
import { LocalConfigSource } from '../../src/xds/index.js';
import { captureLogs } from '../helpers/log-capture.js';

const config = (ip: string): string => `workloads:\n- {uid: w, name: w, namespace: default, workloadIps: ["${ip}"], node: local}\n`;

async function tempDir(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ambit-local-config-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

test('file source: good → applied, bad → rejected and last good kept, rename-replace → applied', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'mesh.yaml');
  await writeFile(path, config('127.0.0.1'));
  const state = new ProxyState();
  const errors: unknown[] = [];
  const source = new LocalConfigSource({ path, state, logger: silentLogger(), onError: (e) => errors.push(e), debounceMs: 20 });
  t.after(() => source.close());
  await source.start();
  assert.equal(source.version, 1);
  assert.equal(state.workloadByUid('w')?.workloadIps[0], '127.0.0.1');

  // In-place edit.
  let applied = once(source, 'applied');
  await writeFile(path, config('127.0.0.2'));
  assert.deepEqual(await applied, [2]);
  assert.equal(state.workloadByUid('w')?.workloadIps[0], '127.0.0.2');

  // Invalid edit: rejected with file + path + reason, state untouched.
  const rejected = once(source, 'rejected');
  await writeFile(path, 'workloads:\n- {namespace: default, workloadIps: ["nope"]}\n');
  const [err] = (await rejected) as [Error];
  assert.ok(isMeshError(err, 'CONFIG_INVALID'));
  assert.match(err.message, /mesh\.yaml:2:\d+: workloads\[0\]\.workloadIps\[0\]: "nope" is not a valid/);
  assert.equal(source.rejectedCount, 1);
  assert.equal(source.lastError, err);
  assert.deepEqual(errors, [err]);
  assert.equal(source.version, 2);
  assert.equal(state.workloadByUid('w')?.workloadIps[0], '127.0.0.2');

  // Editor-style atomic replace: write a temp file, rename over the original.
  applied = once(source, 'applied');
  await writeFile(join(dir, '.mesh.yaml.tmp'), config('127.0.0.3'));
  await rename(join(dir, '.mesh.yaml.tmp'), path);
  assert.deepEqual(await applied, [3]);
  assert.equal(state.workloadByUid('w')?.workloadIps[0], '127.0.0.3');

  // Briefly absent, then recreated: no rejection, new content applied.
  applied = once(source, 'applied');
  await unlink(path);
  await writeFile(path, config('127.0.0.4'));
  assert.deepEqual(await applied, [4]);
  assert.equal(state.workloadByUid('w')?.workloadIps[0], '127.0.0.4');
  assert.equal(source.rejectedCount, 1);
});

test('a deleted file is said at info once, the last good config stays; recreating it is said and applied', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'mesh.yaml');
  await writeFile(path, config('127.0.0.1'));
  const state = new ProxyState();
  const logs = captureLogs('info');
  const source = new LocalConfigSource({ path, state, logger: logs.logger, debounceMs: 20 });
  t.after(() => source.close());
  await source.start();

  await unlink(path);
  const deleted = await logs.waitFor('local config file deleted; the last good config stays in force until it is recreated', 1, 5000);
  assert.equal(deleted.level, 30, 'info');
  assert.equal(deleted.source, path);
  assert.equal(deleted.version, 1);
  assert.equal(state.workloadByUid('w')?.workloadIps[0], '127.0.0.1');
  assert.equal(source.rejectedCount, 0, 'a deletion is not a rejection');
  // More events while it is gone (another file in the directory) do not repeat the line.
  await writeFile(join(dir, 'mesh.yaml.unrelated'), 'x');
  await writeFile(join(dir, 'mesh.yaml.unrelated'), 'y');
  await new Promise((r) => setTimeout(r, 100));

  // Recreated with the same text: said, nothing re-applied.
  await writeFile(path, config('127.0.0.1'));
  const unchanged = await logs.waitFor('local config file recreated, unchanged');
  assert.equal(unchanged.level, 30);
  assert.equal(source.version, 1);

  // Deleted again, then recreated with new content: said and applied.
  await unlink(path);
  await logs.waitFor('local config file deleted; the last good config stays in force until it is recreated', 2);
  const applied = once(source, 'applied');
  await writeFile(path, config('127.0.0.2'));
  assert.deepEqual(await applied, [2]);
  const recreated = await logs.waitFor('local config file recreated and applied');
  assert.equal(recreated.level, 30);
  assert.equal(recreated.version, 2);
  assert.equal(state.workloadByUid('w')?.workloadIps[0], '127.0.0.2');
  assert.equal(logs.lines.filter((l) => l.msg.startsWith('local config file deleted')).length, 2, 'once per deletion');
});

test('state listeners fire on reload', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'mesh.yaml');
  await writeFile(path, config('127.0.0.1'));
  const state = new ProxyState();
  const source = new LocalConfigSource({ path, state, logger: silentLogger(), debounceMs: 20 });
  t.after(() => source.close());
  await source.start();
  const changed = new Promise((resolve) => state.onChange(resolve));
  await writeFile(path, `${config('127.0.0.1')}policies:\n- {name: p, namespace: default, scope: Namespace, action: Deny}\n`);
  assert.deepEqual(await changed, { workloadsChanged: false, servicesChanged: false, policiesChanged: true });
});

test('start fails clearly on an invalid or missing file', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'bad.yaml');
  await writeFile(path, 'workloads:\n- {name: a, workloadIps: []}\n');
  const state = new ProxyState();
  await assert.rejects(new LocalConfigSource({ path, state, logger: silentLogger() }).start(), (err: unknown) => {
    assert.ok(isMeshError(err, 'CONFIG_INVALID'));
    assert.match(err.message, /bad\.yaml:2:\d+: workloads\[0\]\.namespace: missing required field/);
    return true;
  });
  await assert.rejects(
    new LocalConfigSource({ path: join(dir, 'missing.yaml'), state, logger: silentLogger() }).start(),
    (err: unknown) => isMeshError(err, 'CONFIG_IO') && err.message.includes('missing.yaml'),
  );
  assert.equal(state.snapshot().workloads.length, 0);
});

test('inline and embedded sources apply once', async () => {
  const state = new ProxyState();
  const inline = new LocalConfigSource({ inline: config('127.0.0.9'), state, logger: silentLogger() });
  await inline.start();
  assert.equal(state.workloadByIp('', '127.0.0.9')?.uid, 'w');
  await inline.close();
  const embedded = new LocalConfigSource({ state, logger: silentLogger() });
  await embedded.start();
  assert.equal(embedded.version, 1);
  assert.equal(state.serviceByVip('', '127.10.0.1')?.hostname, 'example.com');
  embedded.destroy();
  assert.throws(() => new LocalConfigSource({ path: '/x', inline: 'y', state, logger: silentLogger() }), (e: unknown) => isMeshError(e, 'CONFIG_INVALID'));
  await assert.rejects(new LocalConfigSource({ inline: 'bogus: 1', state, logger: silentLogger() }).start(), (e: unknown) =>
    isMeshError(e, 'CONFIG_INVALID') && e.message.includes('LOCAL_XDS'),
  );
});
