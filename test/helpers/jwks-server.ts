// A real JWKS HTTP server on loopback for waypoint JWT tests: serves a JWKS the test can replace
// (key rotation), an OpenID discovery document, counts requests, and can hang or fail on demand.

import * as http from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';

export interface JwksServer {
  readonly url: string;
  /** Requests per path. */
  readonly hits: Map<string, number>;
  /** The JWKS JSON served at /jwks. */
  jwks: string;
  /** 'ok' answers; 'error' 500s; 'hang' never answers. */
  mode: 'ok' | 'error' | 'hang';
  close(): Promise<void>;
}

export async function startJwksServer(jwks: string): Promise<JwksServer> {
  const hung: http.ServerResponse[] = [];
  const server = http.createServer((req, res) => {
    const path = req.url ?? '/';
    s.hits.set(path, (s.hits.get(path) ?? 0) + 1);
    if (s.mode === 'hang') {
      hung.push(res);
      return;
    }
    if (s.mode === 'error') {
      res.writeHead(500).end('boom');
      return;
    }
    if (path === '/jwks') res.writeHead(200, { 'content-type': 'application/json' }).end(s.jwks);
    else if (path === '/.well-known/openid-configuration') res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ issuer: s.url, jwks_uri: `${s.url}/jwks` }));
    else res.writeHead(404).end();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const s: JwksServer = {
    url: `http://127.0.0.1:${port}`,
    hits: new Map(),
    jwks,
    mode: 'ok',
    async close() {
      for (const r of hung) r.destroy();
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
  return s;
}

/** Polls `cond` every 20 ms until true or `ms` pass (then throws with `what`). */
export async function eventually(what: string, cond: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
