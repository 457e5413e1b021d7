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
 * Creates the root logger. Pino children copy their level at creation; so that `/logging?level=`
 * reaches every component, a root level change is pushed to all children that are not a separate
 * log target (children bound with a `target`, like the access log, keep their own level).
 */
export function createLogger(options: LoggerOptions): Logger {
  const dest = options.destination ?? pino.destination({ dest: 1, sync: false, minLength: 4096 });
  const children = new Set<WeakRef<Logger>>();
  const root = pino(
    {
      level: options.level,
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      onChild: (child) => {
        if (!('target' in child.bindings())) children.add(new WeakRef(child));
      },
    },
    dest,
  );
  root.on('level-change', (level, _val, _prev, _prevVal, logger) => {
    if (logger !== root) return;
    for (const ref of children) {
      const child = ref.deref();
      if (child) child.level = level;
      else children.delete(ref);
    }
  });
  return root;
}

/** A logger that drops everything (unit tests that do not look at logs). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
