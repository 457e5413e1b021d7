// Idle connections held open (in-process and through the CLI under a raised RLIMIT_NOFILE) with a
// memory sample taken while they are held, and the /proc process sampler (CPU seconds, peak RSS).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import {
  startBenchHttpServer,
  holdIdleConnections,
  holdIdleConnectionsIn,
  runHere,
  runTool,
  withNofile,
  nofileLimit,
  readMemory,
  readCpuSeconds,
  ProcessSampler,
  clockTicksPerSecond,
} from '../../bench/lib/index.js';

test('idle connections in-process: all established end to end, held, then closed', async (t) => {
  const srv = await startBenchHttpServer();
  t.after(() => srv.destroy());
  const { held, sample } = await holdIdleConnections({ host: '127.0.0.1', port: srv.port, path: '/', count: 300 }, async (s) => {
    await srv.waitForConnections(300);
    return { open: s.open, serverOpen: srv.openConnections, rss: readMemory(process.pid).rssBytes };
  });
  assert.equal(held.open, 300);
  assert.equal(held.failed, 0);
  assert.equal(held.droppedWhileHeld, 0);
  assert.equal(sample.serverOpen, 300);
  assert.equal(srv.requests, 300); // one request each, then silence
  assert.ok(sample.rss > 0);
  await srv.waitForConnections(0);
});

test('idle connections through the CLI: 2000 held under withNofile, memory sampled while held', async (t) => {
  const srv = await startBenchHttpServer();
  t.after(() => srv.destroy());
  const { held, sample } = await holdIdleConnectionsIn(runHere, { host: '127.0.0.1', port: srv.port, path: '/', count: 2000 }, async (s) => {
    await srv.waitForConnections(2000);
    return { reported: s.open, serverOpen: srv.openConnections };
  });
  assert.equal(held.open, 2000);
  assert.equal(held.failed, 0);
  assert.equal(sample.serverOpen, 2000);
  assert.equal(held.droppedWhileHeld, 0);
  await srv.waitForConnections(0);
});

test('withNofile raises the soft limit of the wrapped command (never lowers it)', async () => {
  const { hard } = nofileLimit();
  const want = Math.min(hard, 30000);
  const out = await runTool(withNofile(want), ['sh', '-c', 'ulimit -n']);
  assert.ok(Number(out.stdout.trim()) >= want, out.stdout);
  const low = await runTool(withNofile(16), ['sh', '-c', 'ulimit -n']);
  assert.equal(Number(low.stdout.trim()), nofileLimit().soft);
});

test('process sampler: CPU seconds and peak RSS of a child that burns CPU and allocates', async (t) => {
  assert.equal(clockTicksPerSecond(), 100);
  // The child waits for "go", burns 400 ms of CPU time (not wall time: on a loaded machine a
  // wall-clock busy loop gets less CPU), holds 64 MB for a moment, frees it, says "done".
  const script = `
    process.stdin.once('data', () => {
      const c0 = process.cpuUsage(); const used = () => { const u = process.cpuUsage(c0); return (u.user + u.system) / 1000; };
      while (used() < 400) {}
      let big = Buffer.alloc(64 * 1024 * 1024, 1);
      setTimeout(() => { big = null; globalThis.gc?.(); console.log('done'); }, 300);
    });
    console.log('ready');`;
  const child = spawn(process.execPath, ['--expose-gc', '-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  t.after(() => child.kill('SIGKILL'));
  await once(child.stdout, 'data');
  const sampler = new ProcessSampler(child.pid!, 20);
  sampler.start();
  const cpuBefore = readCpuSeconds(child.pid!);
  child.stdin.write('go\n');
  await once(child.stdout, 'data');
  const usage = sampler.stop();
  t.diagnostic(JSON.stringify(usage));
  assert.ok(usage.cpuSeconds >= 0.3, `cpu ${usage.cpuSeconds}`);
  assert.ok(readCpuSeconds(child.pid!) - cpuBefore >= 0.3);
  assert.ok(usage.peakRssBytes - usage.rssStartBytes >= 60 * 1024 * 1024, `peak ${usage.peakRssBytes} start ${usage.rssStartBytes}`);
  // cores = CPU seconds over the sampled wall time (how busy the machine is changes the wall time,
  // not this relation); one single-threaded busy loop is at most one core.
  assert.ok(Math.abs(usage.cpuCores - usage.cpuSeconds / usage.wallSeconds) < 0.02 && usage.cpuCores > 0 && usage.cpuCores <= 1.1, String(usage.cpuCores));
  assert.equal(usage.peakExact, true); // we own the child: clear_refs is writable
});
