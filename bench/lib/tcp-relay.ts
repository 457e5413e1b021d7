// The Node floor reference: the smallest TCP relay Node can run (accept, connect, pipe both ways,
// no TLS, no HTTP/2, no policy), so the bench shows what any Node proxy pays before doing mesh work.

import * as net from 'node:net';
import { fileURLToPath } from 'node:url';
import { MeshError } from '../../src/common/errors.js';
import { spawnTool, type RunIn, type ToolProcess } from './run-in.js';

export const TCP_RELAY_CLI = fileURLToPath(new URL('./tcp-relay-cli.js', import.meta.url));

export interface RelayRoute {
  readonly listenHost: string;
  readonly listenPort: number;
  readonly toHost: string;
  readonly toPort: number;
}

/**
 * One listener per route. Each accepted socket gets one upstream connection; bytes are piped with
 * Node's stream pipe (its default backpressure), half-close is passed on (allowHalfOpen), and an
 * error on either side destroys both: the plainest correct relay, as a Node user would write it.
 */
export class TcpRelay {
  private readonly servers: net.Server[] = [];

  constructor(private readonly routes: readonly RelayRoute[]) {}

  async start(): Promise<void> {
    for (const r of this.routes) {
      const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (down) => {
        const up = net.connect({ host: r.toHost, port: r.toPort, allowHalfOpen: true, noDelay: true });
        down.pipe(up);
        up.pipe(down);
        down.on('error', () => up.destroy());
        up.on('error', () => down.destroy());
        down.on('close', () => up.destroy());
        up.on('close', () => down.destroy());
      });
      this.servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ host: r.listenHost, port: r.listenPort, backlog: 4096 }, () => {
          server.off('error', reject);
          resolve();
        });
      });
    }
  }

  close(): void {
    for (const s of this.servers) s.close();
  }
}

/** `listenHost:listenPort=toHost:toPort` (IPv4 or a bracketed IPv6 literal on either side). */
export function parseRoute(text: string): RelayRoute {
  const m = /^\[?([^\]=]+?)\]?:(\d+)=\[?([^\]=]+?)\]?:(\d+)$/.exec(text);
  if (!m) throw new MeshError('CONFIG_INVALID', `route "${text}": expected listenHost:port=toHost:port`);
  return { listenHost: m[1]!, listenPort: Number(m[2]), toHost: m[3]!, toPort: Number(m[4]) };
}

export function formatRoute(r: RelayRoute): string {
  const hp = (h: string, p: number): string => (h.includes(':') ? `[${h}]:${p}` : `${h}:${p}`);
  return `${hp(r.listenHost, r.listenPort)}=${hp(r.toHost, r.toPort)}`;
}

/** Starts a relay process (with the agent's Node flags) where `runIn` says; resolves once it listens. */
export async function startTcpRelayIn(runIn: RunIn, routes: readonly RelayRoute[], nodeFlags: readonly string[]): Promise<ToolProcess> {
  const proc = spawnTool(runIn, [process.execPath, ...nodeFlags, TCP_RELAY_CLI, ...routes.flatMap((r) => ['--route', formatRoute(r)])]);
  try {
    await proc.waitFor(/^listening\b/m);
  } catch (e) {
    await proc.stop();
    throw e;
  }
  return proc;
}
