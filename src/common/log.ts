// The root logger (pino: JSON lines, or ztunnel-style text with LOG_FORMAT=plain) and the Logger
// type every component receives. Created once in src/bin; components get a child logger passed in.

import { pino, type Logger as PinoLogger, type DestinationStream } from 'pino';
import { plainDestination } from './plain-log.js';

export type Logger = PinoLogger;

export interface LoggerOptions {
  readonly level: string;
  /** LOG_FORMAT: `json` (default) lines as pino writes them, or `plain` ztunnel-style text lines. */
  readonly format?: 'json' | 'plain';
  /** Defaults to asynchronous stdout; tests pass a stream to capture lines. */
  readonly destination?: DestinationStream;
}

/**
 * Creates the root logger. Pino children created without a level follow the root's level as it
 * changes (prototype lookup), so `/logging?level=` reaches every component logger. Levels are
 * checked before any formatting, so plain format costs nothing for records below the level.
 */
export function createLogger(options: LoggerOptions): Logger {
  const out = options.destination ?? stdoutDestination();
  const dest = options.format === 'plain' ? plainDestination(out) : out;
  return pino({ level: options.level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime }, dest);
}

/** The default destination: asynchronous stdout (what a DaemonSet's log collector reads). */
export function stdoutDestination(): DestinationStream {
  return pino.destination({ dest: 1, sync: false });
}

/**
 * A separate log target (e.g. `access`): a child with its own level, which root level changes do
 * not touch; `/logging?level=access=debug` sets it.
 */
export function targetLogger(root: Logger, target: string): Logger {
  const child = root.child({ target });
  // Assigning the level gives the child its own level (pino skips a `level` option equal to the
  // parent's, which would leave the child following the root).
  child.level = root.level;
  return child;
}

/** A logger that drops everything (unit tests that do not look at logs). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
