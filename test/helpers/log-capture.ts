// A pino logger whose lines tests can read and wait for (no sleeps: a waiter resolves when the
// matching line is written).

import { pino } from 'pino';
import type { Logger } from '../../src/common/log.js';

export interface LogLine {
  readonly level: number;
  readonly msg: string;
  readonly [key: string]: unknown;
}

export interface LogCapture {
  readonly logger: Logger;
  readonly lines: LogLine[];
  /**
   * Resolves with the `nth` (1-based, counting lines already seen) line whose msg equals `msg`;
   * rejects after `timeoutMs` (default 15 s) so a line that never comes fails the test, not hangs it.
   */
  waitFor(msg: string, nth?: number, timeoutMs?: number): Promise<LogLine>;
}

export function captureLogs(level = 'debug'): LogCapture {
  const lines: LogLine[] = [];
  const waiters: Array<{ msg: string; nth: number; resolve: (l: LogLine) => void }> = [];
  const count = (msg: string): LogLine[] => lines.filter((l) => l.msg === msg);
  const stream = {
    write(s: string): void {
      const line = JSON.parse(s) as LogLine;
      lines.push(line);
      for (let i = waiters.length - 1; i >= 0; i--) {
        const w = waiters[i]!;
        const seen = count(w.msg);
        if (seen.length >= w.nth) {
          waiters.splice(i, 1);
          w.resolve(seen[w.nth - 1]!);
        }
      }
    },
  };
  const logger = pino({ level, base: undefined }, stream);
  return {
    logger,
    lines,
    waitFor(msg, nth = 1, timeoutMs = 15_000) {
      const seen = count(msg);
      if (seen.length >= nth) return Promise.resolve(seen[nth - 1]!);
      return new Promise((resolve, reject) => {
        const waiter = {
          msg,
          nth,
          resolve: (l: LogLine) => {
            clearTimeout(timer);
            resolve(l);
          },
        };
        const timer = setTimeout(() => {
          const i = waiters.indexOf(waiter);
          if (i >= 0) waiters.splice(i, 1);
          reject(new Error(`log line ${JSON.stringify(msg)} #${nth} not written within ${timeoutMs} ms (${lines.length} lines seen)`));
        }, timeoutMs);
        waiters.push(waiter);
      });
    },
  };
}
