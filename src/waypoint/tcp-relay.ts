// Opaque TCP service ports: the tunnel's bytes relayed to one endpoint of the port's default
// cluster (or a weighted TCP backend), with half-close passed through both ways.

import * as net from 'node:net';
import type { Duplex } from 'node:stream';
import { copyBidirectional } from '../hbone/index.js';

/** Relays two byte streams until both directions ended or one side failed; never throws. */
export function relay(a: Duplex, b: Duplex): Promise<void> {
  // A plain TCP socket against the CONNECT stream: the HBONE copy (flow control, RST mapping).
  if (b instanceof net.Socket && 'respond' in a) return copyBidirectional(b, a as never).then(() => undefined, () => undefined);
  if (a instanceof net.Socket && 'respond' in b) return copyBidirectional(a, b as never).then(() => undefined, () => undefined);
  return new Promise((resolve) => {
    let ended = 0;
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      resolve();
    };
    const fail = (): void => {
      a.destroy();
      b.destroy();
      finish();
    };
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
