// Flag parsing shared by the bench CLIs (they run as child processes inside network namespaces):
// numbers and durations with units, and one error shape naming the flag and its value.

import { MeshError } from '../../src/common/errors.js';

/** A positive number flag; `fallback` when absent. */
export function numberFlag(name: string, value: string | undefined, fallback?: number): number {
  if (value === undefined) {
    if (fallback === undefined) throw new MeshError('CONFIG_INVALID', `--${name} is required`);
    return fallback;
  }
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new MeshError('CONFIG_INVALID', `--${name} ${value}: expected a positive number`);
  return n;
}

/** A duration flag in seconds: `5`, `5s`, `500ms`, `2m`. */
export function secondsFlag(name: string, value: string | undefined, fallback?: number): number {
  if (value === undefined) return numberFlag(name, undefined, fallback);
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(value.trim());
  if (m === null) throw new MeshError('CONFIG_INVALID', `--${name} ${value}: expected a duration like 5, 5s, 500ms or 2m`);
  const n = Number(m[1]);
  const s = m[2] === 'ms' ? n / 1000 : m[2] === 'm' ? n * 60 : n;
  if (!(s > 0)) throw new MeshError('CONFIG_INVALID', `--${name} ${value}: must be positive`);
  return s;
}

/** Runs a CLI main: prints MeshError messages without a stack and exits 2 on bad usage, 1 otherwise. */
export function runMain(main: () => Promise<void>): void {
  main().then(
    () => undefined,
    (e: unknown) => {
      const err = e as { code?: string; message?: string };
      process.stderr.write(`${err.message ?? String(e)}\n`);
      process.exitCode = err.code === 'CONFIG_INVALID' ? 2 : 1;
    },
  );
}
