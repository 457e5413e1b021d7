// Opaque TCP service ports: the tunnel's bytes relayed to one endpoint of the port's default
// cluster (or a weighted TCP backend), with half-close passed through both ways.

import * as net from 'node:net';
import type { Duplex } from 'node:stream';
import { copyBidirectional } from '../hbone/index.js';

/** Live byte counts of a relay: client → upstream (`received`) and upstream → client (`sent`). */
export interface RelayCounters {
  received?(n: number): void;
  sent?(n: number): void;
}

/**
 * Relays the client's stream `a` and the upstream `b` until both directions ended or one side
 * failed; never throws. Resolves with the failure that ended it, if any.
 */
export function relay(a: Duplex, b: Duplex, counters: RelayCounters = {}): Promise<Error | undefined> {
  // A plain TCP socket against the CONNECT stream: the HBONE copy (flow control, RST mapping). Its
  // counters are named from the socket's side: upstream = socket → stream.
  if (b instanceof net.Socket && 'respond' in a) {
    return copyBidirectional(b, a as never, { upstream: (n) => counters.sent?.(n), downstream: (n) => counters.received?.(n) }).then((r) => r.error, (e: Error) => e);
  }
  if (a instanceof net.Socket && 'respond' in b) {
    return copyBidirectional(a, b as never, { upstream: (n) => counters.received?.(n), downstream: (n) => counters.sent?.(n) }).then((r) => r.error, (e: Error) => e);
  }
  return new Promise((resolve) => {
    let ended = 0;
    let done = false;
    let failure: Error | undefined;
    const finish = (): void => {
      if (done) return;
      done = true;
      resolve(failure);
    };
    const fail = (err?: Error): void => {
      failure ??= err ?? new Error('relay: a side closed before its end');
      a.destroy();
      b.destroy();
      finish();
    };
    a.on('data', (c: Buffer) => counters.received?.(c.length));
    b.on('data', (c: Buffer) => counters.sent?.(c.length));
    for (const [from, to] of [[a, b], [b, a]] as const) {
      from.on('error', fail);
      from.once('end', () => {
        to.end();
        if (++ended === 2) finish();
      });
      from.pipe(to, { end: false });
    }
    a.once('close', () => (done ? undefined : b.writableEnded ? finish() : fail()));
    b.once('close', () => (done ? undefined : a.writableEnded ? finish() : fail()));
  });
}
