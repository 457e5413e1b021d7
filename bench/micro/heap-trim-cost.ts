// What one heap trim (native trimHeap: glibc malloc_trim(0) on the threadpool) costs with a
// fragmented C heap of a given size, and how long the event loop is held up meanwhile. Not a test.

import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { loadNativeSockets, trimHeap } from '../../src/sockets/index.js';

const USAGE = `node --expose-gc dist/bench/micro/heap-trim-cost.js [MiB] [--runs N]
  MiB     C heap to fragment before each trim (default 50): 64 KB Buffers (malloc'd by Node's
          ArrayBuffer allocator, below glibc's mmap threshold: main arena), 1 in 8 kept
  --runs  trims measured (default 5); the heap is re-fragmented before each
Prints per trim: malloc_trim's own time on the threadpool thread, the RSS before/after, mallinfo2's
arena and free bytes, and the event loop's longest stall during the trim (setImmediate spin).`;

const MiB = 1024 * 1024;
const CHUNK = 64 * 1024;

function gc(): void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g === undefined) throw new Error('run with --expose-gc');
  g();
  g();
}

/** Allocates `mib` MiB in 64 KB Buffers and keeps 1 in 8: free chunks with whole pages inside. */
function fragment(mib: number, kept: Buffer[]): void {
  const all: Buffer[] = [];
  for (let i = 0; i < (mib * MiB) / CHUNK; i++) {
    const b = Buffer.allocUnsafeSlow(CHUNK);
    b.fill(i & 0xff); // touch every page: resident, as a transfer's buffers are
    all.push(b);
  }
  for (let i = 0; i < all.length; i += 8) kept.push(all[i]!);
  all.length = 0;
  gc();
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { runs: { type: 'string' }, help: { type: 'boolean' } } });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const mib = Number(positionals[0] ?? 50);
  const runs = Number(values.runs ?? 5);
  const native = loadNativeSockets();
  if (!native.ok) throw new Error(native.reason);
  const kept: Buffer[] = [];
  const rows: string[] = [];
  for (let r = 0; r < runs; r++) {
    fragment(mib, kept);
    const rssBefore = process.memoryUsage.rss();
    // Spin the event loop while the trim runs on the threadpool: the longest gap between turns is
    // the stall a trim causes here (the main thread's mallocs wait for the main arena's lock).
    let spinning = true;
    let last = performance.now();
    let maxGapMs = 0;
    const spin = (): void => {
      const now = performance.now();
      maxGapMs = Math.max(maxGapMs, now - last);
      last = now;
      Buffer.allocUnsafeSlow(4096); // a malloc per turn, as the data path does
      if (spinning) setImmediate(spin);
    };
    const h = monitorEventLoopDelay({ resolution: 1 });
    h.enable();
    setImmediate(spin);
    const t0 = performance.now();
    const res = await trimHeap(native.native);
    const wallMs = performance.now() - t0;
    spinning = false;
    h.disable();
    const rssAfter = process.memoryUsage.rss();
    const mb = (n: number | undefined): string => (n === undefined ? '-' : (n / MiB).toFixed(1));
    rows.push(
      `trim ${r + 1}: malloc_trim ${res.durationMs.toFixed(2)} ms (promise ${wallMs.toFixed(2)} ms), released ${res.released}, ` +
        `RSS ${mb(rssBefore)} → ${mb(rssAfter)} MB, arena ${mb(res.arenaBytesBefore)} → ${mb(res.arenaBytesAfter)} MB, ` +
        `free ${mb(res.freeBytesBefore)} MB, longest loop gap ${maxGapMs.toFixed(2)} ms`,
    );
    kept.length = Math.floor(kept.length / 2); // keep the process from growing run over run
    gc();
  }
  console.log(`heap-trim-cost: ${mib} MiB fragmented (64 KB chunks, 1 in 8 kept), ${runs} runs`);
  for (const row of rows) console.log(row);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
