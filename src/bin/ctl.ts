// `ambit ctl`: the inspection command, wired to the process's stdout and stderr. Not a daemon: it
// reads one API, prints, and exits with runCtl's status.

import { runCtl } from '../ctl/index.js';

export async function runCtlCommand(argv: readonly string[]): Promise<number> {
  return runCtl(argv, { stdout: process.stdout, stderr: process.stderr });
}
