// Running a long-lived component as the process: load its config, start it, and own its signals
// (first SIGTERM/SIGINT drains, a second exits at once) and its last-resort error handlers.

import { isMeshError } from '../common/errors.js';
import type { Logger } from '../common/log.js';

/** What `ambit node` and `ambit control` have in common as processes. */
export interface Daemon {
  readonly logger: Logger;
  start(): Promise<void>;
  /** Graceful and bounded by `drainDeadlineMs`. */
  close(): Promise<void>;
  destroy(): void;
}

export interface DaemonSpec<C> {
  /** `ambit node`, `ambit control`: the prefix of every message. */
  readonly name: string;
  readonly helpText: string;
  readonly load: (argv: string[], env: NodeJS.ProcessEnv) => C;
  readonly drainDeadlineMs: (config: C) => number;
  /** Builds the component; `quit` lets it ask for a graceful stop (e.g. POST /quitquitquit). */
  readonly create: (config: C, quit: (why: string) => void) => Daemon;
}

/** Runs a daemon; resolves with an exit code to exit now, or -1 once it is running. */
export async function runDaemon<C>(spec: DaemonSpec<C>, argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(spec.helpText);
    return 0;
  }
  let config: C;
  try {
    config = spec.load(argv, process.env);
  } catch (err) {
    process.stderr.write(`${spec.name}: ${isMeshError(err) ? err.message : String(err)}\n`);
    return 2;
  }
  let quitting = false;
  const quit = async (why: string): Promise<void> => {
    if (quitting) return;
    quitting = true;
    daemon.logger.info({ why }, 'shutting down');
    // Last resort if teardown itself hangs: the drain promise is bounded, this only guards bugs.
    setTimeout(() => {
      daemon.logger.error({ why }, 'shutdown did not complete 2 s past the drain deadline; exiting');
      daemon.logger.flush();
      process.exit(1);
    }, spec.drainDeadlineMs(config) + 2000).unref();
    await daemon.close();
    process.exit(0);
  };
  const daemon = spec.create(config, (why) => void quit(why));
  // The first signal drains; a second one (an impatient operator, or kubelet after the grace
  // period) exits at once, as ztunnel does.
  const onSignal = (signal: NodeJS.Signals): void => {
    if (quitting) {
      daemon.logger.warn({ signal }, 'second signal: exiting without waiting for the drain');
      daemon.logger.flush();
      process.exit(signal === 'SIGINT' ? 130 : 143);
    }
    void quit(signal);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  // Bad input must never take the daemon down; an unexpected throw is logged and survived.
  process.on('uncaughtException', (err) => daemon.logger.error({ err }, 'uncaught exception (survived)'));
  process.on('unhandledRejection', (err) => daemon.logger.error({ err }, 'unhandled rejection (survived)'));
  try {
    await daemon.start();
  } catch (err) {
    process.stderr.write(`${spec.name}: failed to start: ${isMeshError(err) ? err.message : String(err)}\n`);
    daemon.destroy();
    return 1;
  }
  return -1; // keep running
}
