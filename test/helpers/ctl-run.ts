// Runs `ambit ctl` in-process with its output captured, as a person would run it in a shell: the
// exit status, stdout and stderr.

import { runCtl } from '../../src/ctl/index.js';

export interface CtlResult {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

export async function ctl(args: readonly string[], now?: () => number): Promise<CtlResult> {
  let out = '';
  let err = '';
  const code = await runCtl(args, { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) }, now });
  return { code, out, err };
}

/** The data rows of a table (header dropped), each split on runs of two or more spaces. */
export function tableRows(text: string): string[][] {
  return text
    .split('\n')
    .filter((l) => l !== '')
    .slice(1)
    .map((l) => l.split(/ {2,}/));
}
