// Shared settings of the fuzz tier (fast-check): one seed per run, fixed by default so CI is
// reproducible, and every failure names the seed and path that replay it.
//
// FUZZ_SEED=<int> replays or varies a run; FUZZ_SEED=random draws one (printed on failure);
// FUZZ_PATH=<path> (from a failure message) replays one counterexample; FUZZ_RUNS_SCALE=<x>
// multiplies every property's case count (e.g. 10 for a long local session).

import fc from 'fast-check';

const DEFAULT_SEED = 0x5eed_2026;

function seedFromEnv(): number {
  const v = process.env.FUZZ_SEED;
  if (v === undefined || v === '') return DEFAULT_SEED;
  if (v === 'random') return (Math.random() * 0x7fffffff) | 0;
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw new Error(`FUZZ_SEED must be an integer or "random", got ${JSON.stringify(v)}`);
  return n;
}

export const FUZZ_SEED = seedFromEnv();
const SCALE = Number(process.env.FUZZ_RUNS_SCALE ?? '1') || 1;

/** Runs one property with the tier's seed; a failure is rethrown with the command that replays it. */
export async function fuzz<Ts>(name: string, property: fc.IAsyncProperty<Ts> | fc.IProperty<Ts>, numRuns: number): Promise<number> {
  const path = process.env.FUZZ_PATH;
  const runs = Math.max(1, Math.round(numRuns * SCALE));
  const details = await fc.check(property, { seed: FUZZ_SEED, numRuns: runs, ...(path ? { path } : {}), endOnFailure: false });
  if (details.failed) {
    const replay = `FUZZ_SEED=${details.seed} FUZZ_PATH=${JSON.stringify(details.counterexamplePath ?? '')}`;
    const reason = details.errorInstance instanceof Error ? details.errorInstance.stack ?? details.errorInstance.message : String(details.errorInstance);
    throw new Error(
      `fuzz "${name}" failed after ${details.numRuns} case(s); replay with: ${replay}\n` +
        `counterexample: ${fc.stringify(details.counterexample)}\n${reason}`,
    );
  }
  return details.numRuns;
}

/** Splits `bytes` into chunks at the given cut points (any numbers; taken modulo the length). */
export function splitAt(bytes: Uint8Array, cuts: readonly number[]): Buffer[] {
  const at = [...new Set(cuts.map((c) => (bytes.length === 0 ? 0 : c % (bytes.length + 1))))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const c of [...at, bytes.length]) {
    if (c > prev) out.push(Buffer.from(bytes.subarray(prev, c)));
    prev = Math.max(prev, c);
  }
  return out;
}

/** Rejects with a clear message if `p` has not settled within `ms` ("never hang"). */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: still pending after ${ms} ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}
