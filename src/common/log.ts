// The root logger (pino, JSON lines) and the Logger type every component receives. Created once in
// src/bin; components get a child logger passed in and never build their own.

import { pino, type Logger as PinoLogger, type DestinationStream } from 'pino';

export type Logger = PinoLogger;

export interface LoggerOptions {
  readonly level: string;
  /** Defaults to asynchronous stdout; tests pass a stream to capture lines. */
  readonly destination?: DestinationStream;
}

/**
 * Creates the root logger. Pino children created without a level follow the root's level as it
 * changes (prototype lookup), so `/logging?level=` reaches every component logger.
 */
export function createLogger(options: LoggerOptions): Logger {
  const dest = options.destination ?? pino.destination({ dest: 1, sync: false });
  return pino({ level: options.level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime }, dest);
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
