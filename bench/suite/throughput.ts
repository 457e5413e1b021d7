// TCP throughput through a path with iperf3: a one-off server in the server pod, the client in the
// client pod dialling the path's TCP entrance, in one of three modes (1 stream, -R, -P n).

import { MeshError } from '../../src/common/errors.js';
import { runIperfClient, startIperfServer, type IperfResult } from '../lib/index.js';
import type { PathTarget } from '../paths/index.js';
import { APP_IPERF_PORT } from '../paths/server-app.js';
import type { SettledRss } from './settled-rss.js';

export interface ThroughputMode {
  /** Stable key: `single`, `reverse`, `parallel4`. */
  readonly key: string;
  /** Chart and table label: `1 stream`, `-R`, `-P 4`. */
  readonly label: string;
  readonly reverse: boolean;
  readonly parallel: number;
}

export const THROUGHPUT_MODES: readonly ThroughputMode[] = [
  { key: 'single', label: '1 stream', reverse: false, parallel: 1 },
  { key: 'reverse', label: '-R', reverse: true, parallel: 1 },
  { key: 'parallel4', label: '-P 4', reverse: false, parallel: 4 },
];

export interface ThroughputRecord {
  readonly mode: string;
  readonly seconds: number;
  readonly iperf: IperfResult;
  /** What the receiver got, Gbit/s: the table's figure. */
  readonly gbitPerSecond: number;
  /** After the last mode only: each proxy's RSS when iperf3 ended and once settled (settled-rss.ts). */
  readonly settled?: SettledRss;
}

/** How long to wait for the one-off server to exit after its client finished (ms). */
const SERVER_EXIT_WAIT_MS = 10_000;

export async function measureThroughput(target: PathTarget, mode: ThroughputMode, seconds: number): Promise<ThroughputRecord> {
  // The step list skips HTTP-only paths visibly (steps.ts); reaching here without a port is a bug.
  const port = target.tcpPort;
  if (port === null) throw new MeshError('INTERNAL', 'iperf3 on an HTTP-only path (no TCP entrance)');
  // The server always listens on APP_IPERF_PORT in the server pod; the client dials the path's
  // entrance (the same port on the pod IP, or a tunnel's local port).
  const server = await startIperfServer(target.server, { port: APP_IPERF_PORT, oneOff: true });
  try {
    const iperf = await runIperfClient(target.client, {
      host: target.host,
      port,
      seconds,
      reverse: mode.reverse,
      parallel: mode.parallel,
    });
    await Promise.race([server.process.exited, new Promise((r) => setTimeout(r, SERVER_EXIT_WAIT_MS).unref())]);
    return { mode: mode.key, seconds, iperf, gbitPerSecond: iperf.receiverBitsPerSecond / 1e9 };
  } finally {
    await server.stop();
  }
}
