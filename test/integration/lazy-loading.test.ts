// Which packages a fresh process loads: the node agent's and the waypoint's composition roots load
// neither @grpc/grpc-js, protobufjs nor jose until they are used (xDS/istiod CA, ZDS, jwtRules).
// Each case runs in its own `node` so that nothing this test process loaded counts.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));

/**
 * Runs `body` (ESM) in a fresh node that reports every package it loads, ESM (a resolve hook sees
 * `jose`) and CommonJS (Module._cache); resolves with the package names and the script's stdout.
 */
async function loadedBy(body: string): Promise<{ packages: Set<string>; stdout: string }> {
  const hooks = `export async function resolve(s, c, next) { const r = await next(s, c); const m = /\\/node_modules\\/((?:@[^/]+\\/)?[^/]+)\\//.exec(r.url); if (m) process.stderr.write('PKG ' + m[1] + '\\n'); return r; }`;
  const script = `
import { register, createRequire } from 'node:module';
register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hooks)}));
const src = ${JSON.stringify(SRC)};
${body}
const cache = Object.keys(createRequire(import.meta.url)('node:module')._cache);
for (const k of cache) { const m = /\\/node_modules\\/((?:@[^/]+\\/)?[^/]+)\\//.exec(k); if (m) process.stderr.write('PKG ' + m[1] + '\\n'); }
`;
  const { stdout, stderr } = await new Promise<{ stdout: string; stderr: string }>((resolve, reject) => {
    execFile(process.execPath, ['--input-type=module', '-e', script], { timeout: 60_000 }, (err, stdout, stderr) =>
      err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve({ stdout, stderr }),
    );
  });
  const packages = new Set([...stderr.matchAll(/^PKG (\S+)$/gm)].map((m) => m[1]!));
  return { packages, stdout };
}

const LAZY = ['@grpc/grpc-js', 'protobufjs', 'jose'];

test('the node agent, the waypoint and its manifests mode load neither gRPC, protobuf nor jose at import', async () => {
  const { packages } = await loadedBy(`
await import(src + 'bin/node-agent.js');
await import(src + 'bin/waypoint.js');
await import(src + 'bin/waypoint-manifests.js');
`);
  // The check itself works: packages these roots do import are seen.
  assert.ok(packages.has('pino') && packages.has('yaml'), [...packages].join(' '));
  for (const p of LAZY) assert.ok(!packages.has(p), `${p} loaded at import: ${[...packages].join(' ')}`);
});

test('first use loads only what is used: the CA codec loads protobufjs, not gRPC', async () => {
  const { packages, stdout } = await loadedBy(`
const identity = await import(src + 'identity/index.js');
const bytes = identity.encodeCertificateResponse({ certChain: ['a', 'b'] });
console.log(JSON.stringify(identity.decodeCertificateResponse(bytes)));
const { loadedLazyPackages } = await import(src + 'common/lazy-packages.js');
console.log(loadedLazyPackages().join(','));
`);
  const [decoded, lazy] = stdout.trim().split('\n');
  assert.deepEqual(JSON.parse(decoded!), { certChain: ['a', 'b'] });
  assert.equal(lazy, 'protobufjs');
  assert.ok(packages.has('protobufjs'));
  assert.ok(!packages.has('@grpc/grpc-js'));
});

test('prepareWaypointConfig: nothing to wait for without jwtRules; with them, jose is loaded before the config goes in', async () => {
  const { packages, stdout } = await loadedBy(`
const { prepareWaypointConfig } = await import(src + 'waypoint/index.js');
const rule = { source: 'demo/ra', issuer: 'https://issuer.example', audiences: [], fromHeaders: [], fromParams: [], fromCookies: [], outputClaimToHeaders: [], forwardOriginalToken: false, spaceDelimitedClaims: [], fetchTimeoutMs: 5000, jwks: '{"keys":[]}' };
const out = [];
out.push(prepareWaypointConfig({ services: [], clusters: [] }) === undefined);
out.push(prepareWaypointConfig({ services: [], clusters: [], security: { authorization: [], jwtRules: [] } }) === undefined);
const p = prepareWaypointConfig({ services: [], clusters: [], security: { authorization: [], jwtRules: [rule] } });
out.push(p instanceof Promise);
await p;
out.push(prepareWaypointConfig({ services: [], clusters: [], security: { authorization: [], jwtRules: [rule] } }) === undefined);
console.log(JSON.stringify(out));
`);
  assert.deepEqual(JSON.parse(stdout.trim()), [true, true, true, true]);
  assert.ok(packages.has('jose'));
});
