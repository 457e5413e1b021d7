// New connections per second through a path: concurrent loops in the client pod, each opening a
// connection, sending one HTTP request with `Connection: close`, reading the 1 KB answer, closing.

import { runConnRateIn, type ConnRateResult } from '../lib/index.js';
import type { PathTarget } from '../paths/index.js';

export interface ConnRateSettings {
  readonly durationS: number;
  /** Connections in flight at once. */
  readonly concurrency: number;
}

export async function measureConnRate(target: PathTarget, s: ConnRateSettings): Promise<ConnRateResult> {
  return runConnRateIn(target.client, {
    host: target.host,
    port: target.httpPort,
    path: '/conn',
    concurrency: s.concurrency,
    durationS: s.durationS,
  });
}
