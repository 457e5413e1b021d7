// trimHeap: the native addon's malloc_trim(0) as a promise, with the fallback when the addon is
// absent (nothing to call: released false). The addon runs it on the libuv threadpool.

import type { NativeHeapTrim, NativeSockets } from './native-loader.js';

export interface HeapTrimResult extends NativeHeapTrim {
  /** false without the native addon (or off glibc, where `released` is always false too). */
  readonly supported: boolean;
}

/** Runs malloc_trim(0) off the event loop; never rejects for a missing addon (released false). */
export function trimHeap(native: Pick<NativeSockets, 'trimHeap'> | undefined): Promise<HeapTrimResult> {
  if (native === undefined) return Promise.resolve({ released: false, glibc: false, durationMs: 0, supported: false });
  return new Promise((resolve, reject) => {
    native.trimHeap((err, result) => {
      if (err !== null || result === undefined) reject(err ?? new Error('trimHeap: no result'));
      else resolve({ ...result, supported: result.glibc });
    });
  });
}
