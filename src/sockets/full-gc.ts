// A full V8 garbage collection on demand, for the heap trimmer: Buffers promoted during a burst keep
// their malloc'd backing stores (tens of MB in the client agent after iperf3) until V8's next major
// GC, which an idle process may not run for a long time, and malloc_trim cannot give back memory
// that is still allocated. No flag at start: `gc` is obtained as jest's leak detector does it
// (v8.setFlagsFromString('--expose-gc'), then `gc` from a new context), which leaves the global
// scope of this context untouched.

import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let cached: (() => void) | null | undefined;

/** A function running a full GC, or undefined when V8 refuses (then trims run without one). */
export function fullGc(): (() => void) | undefined {
  if (cached === undefined) {
    try {
      setFlagsFromString('--expose-gc');
      const gc: unknown = runInNewContext('gc');
      cached = typeof gc === 'function' ? (gc as () => void) : null;
    } catch {
      cached = null;
    }
  }
  return cached ?? undefined;
}
